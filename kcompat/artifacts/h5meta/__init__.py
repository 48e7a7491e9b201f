"""HDF5 metadata (groups, attributes, dataset shapes and dtypes) in pure Python, for speed.

Importing h5py, and numpy under it, costs ~130-170 ms: most of a fresh ``kcompat check`` of an
``.h5`` or ``.keras``. This reader covers what h5py writes with its default settings, which is
what Keras writes: superblock v0/v1, version-1 object headers, symbol-table groups, compact
attributes, string and plain numeric types. Anything else (newer superblocks and headers, dense
or new-style storage, shared messages, soft links, a user block, other types) or anything that
does not add up raises :class:`Unsupported`, and the caller reads the file with h5py instead: a
file is never misread, only read more slowly. It reads only metadata blocks, never dataset data.

Layouts follow the HDF5 File Format Specification, version 3.0 (sections II.A superblock,
III.A.1 B-tree v1, III.B group symbol table, III.D local heap, III.E global heap, IV.A.1.a
object header v1, IV.A.2 messages).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any, BinaryIO

from kcompat.artifacts.h5meta.base import MAX_DEPTH, MAX_OBJECTS, SIGNATURE, Reader, Unsupported, uint
from kcompat.artifacts.h5meta.btree import symbol_links
from kcompat.artifacts.h5meta.datatypes import Attrs, attribute, dtype, shape
from kcompat.artifacts.h5meta.headers import cached, messages

__all__ = ["Dataset", "Group", "Unsupported", "is_dataset", "is_group", "member_offset", "open_hdf5"]


def open_hdf5(f: BinaryIO, base: int = 0, size: int | None = None) -> Group:
    """The root group of the HDF5 file that starts at ``base`` in ``f`` (``size`` bytes long)."""
    if size is None:
        size = f.seek(0, 2) - base
    r = Reader(f, base, size)
    head = r.read(0, min(size, 256))
    if head[:8] != SIGNATURE:
        raise Unsupported("no HDF5 signature at offset 0 (a user block, or not HDF5)")
    version = uint(head, 8, 1)
    if version not in (0, 1):
        raise Unsupported(f"superblock version {version}")
    if head[9:12] != b"\0\0\0" or head[12] != 0 or uint(head, 20, 4):  # field versions, status flags
        raise Unsupported("unexpected superblock field versions or status flags")
    r.so, r.sl = uint(head, 13, 1), uint(head, 14, 1)
    if r.so not in (2, 4, 8) or r.sl not in (2, 4, 8) or (uint(head, 16, 2), uint(head, 18, 2)) != (4, 16):
        raise Unsupported("unusual offset or length size, or group B-tree K")
    pos = 24 if version == 0 else 28
    base_addr, extension, eof, driver = (uint(head, pos + i * r.so, r.so) for i in range(4))
    if base_addr != 0 or not r.undefined(extension) or not r.undefined(driver):
        raise Unsupported("a base address, superblock extension or driver block")
    if eof > size:
        raise Unsupported(f"truncated: the superblock says {eof} bytes, the file has {size}")
    r.eoa = eof
    entry = head[pos + 4 * r.so : pos + 6 * r.so + 24]  # the root group's symbol table entry
    return Group(r, uint(entry, r.so, r.so), cached(r, entry))


class Dataset:
    def __init__(self, shape: tuple[int, ...], dtype: str) -> None:
        self.shape, self.dtype = shape, dtype


class Group:
    def __init__(self, r: Reader, addr: int, expect: tuple[int, int] | None = None) -> None:
        self.r, self.addr = r, addr
        msgs = messages(r, addr)
        raw = {}
        for mtype, body in msgs:
            if mtype == 0x0C:
                name, dt, ds, data = attribute(r, body)
                raw[name] = (dt, ds, data)
            elif mtype in (0x02, 0x06, 0x15):  # link info, link, attribute info: newer layouts
                raise Unsupported(f"message type {mtype:#x}")
        self.attrs = Attrs(r, raw)
        table = next((body for mtype, body in msgs if mtype == 0x11), None)
        if table is None:
            raise Unsupported("not a group")
        where = (uint(table, 0, r.so), uint(table, r.so, r.so))
        if expect is not None and expect != where:
            raise Unsupported("a group's cached B-tree and heap differ from its header")
        triples = symbol_links(r, *where)
        self.links = {name: addr for name, addr, _ in triples}
        self.cache = {addr: hint for _, addr, hint in triples}
        if len(self.links) != len(triples):
            raise Unsupported("duplicate link names")

    def child(self, addr: int) -> Group | Dataset:
        msgs = messages(self.r, addr)
        types = {mtype for mtype, _ in msgs}
        if 0x11 in types or 0x02 in types:
            return Group(self.r, addr, self.cache.get(addr))
        if 0x08 in types:
            body = dict(msgs)
            if 0x01 not in body or 0x03 not in body:
                raise Unsupported("dataset without dataspace or datatype")
            kind = dtype(body[0x03])[0]
            if kind.endswith("string"):
                raise Unsupported("string dataset")
            return Dataset(shape(self.r, body[0x01]), kind)
        raise Unsupported("an object that is neither a group nor a dataset")

    def get(self, name: str) -> Group | Dataset | None:
        node: Any = self
        for part in (p for p in name.split("/") if p):
            if not isinstance(node, Group) or part not in node.links:
                return None
            node = node.child(node.links[part])
        return node

    def __contains__(self, name: str) -> bool:
        return self.get(name) is not None

    def __len__(self) -> int:  # as in h5py, an empty group is falsy
        return len(self.links)

    def __getitem__(self, name: str) -> Group | Dataset:
        node = self.get(name)
        if node is None:
            raise KeyError(name)
        return node

    def visititems(self, func: Callable[[str, Any], Any]) -> Any:
        """Like h5py: every object below this group once, depth first, names in byte order."""
        seen = {self.addr}
        stack = [("", iter(self.links.items()))]
        while stack:
            prefix, links = stack[-1]
            link = next(links, None)
            if link is None:
                stack.pop()
                continue
            name, addr = link
            if addr in seen:
                continue
            seen.add(addr)
            if len(seen) > MAX_OBJECTS or len(stack) > MAX_DEPTH:
                raise Unsupported("too many objects, or nested too deep")
            node = self.child(addr)
            result = func(prefix + name, node)
            if result is not None:
                return result
            if isinstance(node, Group):
                stack.append((f"{prefix}{name}/", iter(node.links.items())))
        return None


def is_group(obj: Any) -> bool:
    """A group of this reader or of h5py (duck-typed, so h5py need not be imported)."""
    return obj is not None and hasattr(obj, "visititems")


def is_dataset(obj: Any) -> bool:
    return hasattr(obj, "shape") and hasattr(obj, "dtype") and not hasattr(obj, "visititems")


def member_offset(f: BinaryIO, header_offset: int) -> int:
    """Where a stored zip member's bytes start, from its local file header."""
    f.seek(header_offset)
    head = f.read(30)
    if len(head) != 30 or head[:4] != b"PK\x03\x04":
        raise Unsupported("bad zip local header")
    name_n, extra_n = struct.unpack("<HH", head[26:30])
    return header_offset + 30 + name_n + extra_n
