"""Version-1 object headers and their messages; symbol table entries' cached group addresses
(spec IV.A.1.a, IV.A.2, III.B)."""

from __future__ import annotations

from kcompat.artifacts.h5meta.base import MAX_MESSAGES, Reader, Unsupported, uint


def cached(r: Reader, entry: bytes) -> tuple[int, int] | None:
    """The B-tree and heap addresses a symbol table entry caches for a group (cache type 1)."""
    kind = uint(entry, 2 * r.so, 4)
    if kind == 2:
        raise Unsupported("soft link")
    if kind == 1:
        return uint(entry, 2 * r.so + 8, r.so), uint(entry, 3 * r.so + 8, r.so)
    if kind != 0:
        raise Unsupported(f"symbol table cache type {kind}")
    return None


def messages(r: Reader, addr: int) -> list[tuple[int, bytes]]:
    """(type, body) of every message in the version-1 object header at ``addr``."""
    head = r.read(addr, 16)
    if head[0] != 1 or head[1] != 0:
        raise Unsupported(f"object header version {head[0]}")
    count, size = uint(head, 2, 2), uint(head, 8, 4)
    blocks, out, seen = [(addr + 16, size)], [], 0
    while blocks:
        start, length = blocks.pop(0)
        block, pos = r.read(start, length), 0
        while pos < len(block):
            mtype, msize, mflags = uint(block, pos, 2), uint(block, pos + 2, 2), uint(block, pos + 4, 1)
            body = block[pos + 8 : pos + 8 + msize]
            if len(body) != msize or msize % 8:
                raise Unsupported("message runs past its block, or is not 8-byte aligned")
            if mflags > 1 or block[pos + 5 : pos + 8] != b"\0\0\0":  # 1: constant; others unused by h5py
                raise Unsupported("message flags this reader does not handle")
            if mtype == 0x10:  # continuation
                blocks.append((uint(body, 0, r.so), uint(body, r.so, r.sl)))
            elif mtype:
                out.append((mtype, body))
            pos += 8 + msize
            seen += 1
            if seen > min(count, MAX_MESSAGES):
                raise Unsupported("more messages than the header declares")
    if seen != count:
        raise Unsupported("fewer messages than the header declares")
    return out
