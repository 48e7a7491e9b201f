"""New-style groups and dense attributes (spec IV.A.2.c link info, IV.A.2.g link,
IV.A.2.v attribute info): link and attribute messages kept in the object header (compact) or in
a fractal heap indexed by a v2 B-tree of names (dense)."""

from __future__ import annotations

from kcompat.artifacts.h5meta.base import Reader, Unsupported, uint
from kcompat.artifacts.h5meta.btree2 import records
from kcompat.artifacts.h5meta.fheap import fractal_heap


def link(r: Reader, body: bytes) -> tuple[str, int]:
    """(name, object header address) of a hard link message; other links are left to h5py."""
    if uint(body, 0, 1) != 1:
        raise Unsupported(f"link message version {body[0]}")
    flags, pos = uint(body, 1, 1), 2
    kind = 0
    if flags & 0x08:
        kind, pos = uint(body, pos, 1), pos + 1
    if flags & 0x04:
        pos += 8  # creation order
    if flags & 0x10:
        if uint(body, pos, 1) not in (0, 1):
            raise Unsupported("link name character set")
        pos += 1
    width = 1 << (flags & 0x03)
    n, pos = uint(body, pos, width), pos + width
    raw = body[pos : pos + n]
    if len(raw) != n or not n:
        raise Unsupported("link name runs past its message")
    if kind != 0:
        raise Unsupported("soft link" if kind == 1 else "external or user-defined link")
    try:
        name = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Unsupported("link name is not UTF-8") from exc
    return name, uint(body, pos + n, r.so)


def dense_addresses(r: Reader, body: bytes, what: str) -> tuple[int, int] | None:
    """The fractal heap and name index of a link info or attribute info message, if dense."""
    if uint(body, 0, 1) != 0:
        raise Unsupported(f"{what} info message version {body[0]}")
    flags = uint(body, 1, 1)
    pos = 2 + ((8 if what == "link" else 2) if flags & 0x01 else 0)
    heap, names = uint(body, pos, r.so), uint(body, pos + r.so, r.so)
    if r.undefined(heap):
        return None
    if r.undefined(names):
        raise Unsupported(f"dense {what} storage without a name index")
    return heap, names


def dense_links(r: Reader, body: bytes) -> list[tuple[str, int]]:
    where = dense_addresses(r, body, "link")
    if where is None:
        return []
    heap = fractal_heap(r, where[0])
    return [link(r, heap.get(rec[4:11])) for rec in records(r, where[1], 5)]


def dense_attributes(r: Reader, body: bytes) -> list[bytes]:
    """The attribute messages of an object's dense attribute storage."""
    where = dense_addresses(r, body, "attribute")
    if where is None:
        return []
    heap, out = fractal_heap(r, where[0]), []
    for rec in records(r, where[1], 8):
        if rec[8] & 0x02:
            raise Unsupported("a shared attribute in dense storage")
        out.append(heap.get(rec[:8]))
    return out
