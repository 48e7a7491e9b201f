"""HDF5 metadata (groups, attributes, dataset shapes and dtypes) in pure Python, for speed.

Importing h5py, and numpy under it, costs ~130-170 ms: most of a fresh ``kcompat check`` of an
``.h5`` or ``.keras``. This reader covers what real writers produce: superblocks v0-v3 (with or
without a user block), object headers v1 and v2 (checksums verified), every message flag a
read-only open can meet, shared messages that point to committed datatypes, symbol-table groups
and new-style groups (compact link messages, or dense: fractal heap and v2 B-tree name index),
compact and dense attributes, string, numeric and bool types. What it still refuses (soft and
external links, shared message tables, filtered fractal heaps, other types, anything that does
not add up) raises :class:`Unsupported` with the reason, and the caller reads the file with
h5py instead: a file is never misread, only read more slowly. It reads only metadata blocks,
never dataset data.

Layouts follow the HDF5 File Format Specification, version 3.0 (II.A superblock, III.A B-trees
v1 and v2, III.B symbol table, III.D local heap, III.E global heap, III.G fractal heap, IV.A.1
object headers, IV.A.2 messages).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any, BinaryIO

from kcompat.artifacts.h5meta.base import (MAX_DEPTH, MAX_OBJECTS, SIGNATURE, PastEOA, Reader, Truncated,
                                           Unsupported, uint)
from kcompat.artifacts.h5meta.btree import symbol_links
from kcompat.artifacts.h5meta.checksum import verify
from kcompat.artifacts.h5meta.datatypes import Attrs, attribute, dataset_dtype, shape
from kcompat.artifacts.h5meta.headers import cached, messages
from kcompat.artifacts.h5meta.links import dense_attributes, dense_links, link

__all__ = ["Dataset", "Group", "PastEOA", "Truncated", "Unsupported", "is_dataset", "is_group", "member_offset", "open_hdf5"]


def open_hdf5(f: BinaryIO, base: int = 0, size: int | None = None) -> Group:
    """The root group of the HDF5 file that starts at ``base`` in ``f`` (``size`` bytes long)."""
    if size is None:
        size = f.seek(0, 2) - base
    skip = user_block(f, base, size)
    r = Reader(f, base + skip, size - skip)
    head = r.read(0, min(size - skip, 256))
    version = uint(head, 8, 1)
    if version in (2, 3):
        return open_new(r, head, size, skip)
    if version not in (0, 1):
        raise Unsupported(f"superblock version {version}")
    if head[9:12] != b"\0\0\0" or head[12] != 0 or uint(head, 20, 4):  # field versions, status flags
        raise Unsupported("unexpected superblock field versions or status flags")
    r.so, r.sl = uint(head, 13, 1), uint(head, 14, 1)
    if r.so not in (2, 4, 8) or r.sl not in (2, 4, 8) or (uint(head, 16, 2), uint(head, 18, 2)) != (4, 16):
        raise Unsupported("unusual offset or length size, or group B-tree K")
    pos = 24 if version == 0 else 28
    base_addr, extension, eof, driver = (uint(head, pos + i * r.so, r.so) for i in range(4))
    if base_addr != skip or not r.undefined(extension) or not r.undefined(driver):
        raise Unsupported("a base address other than the user block's end, a superblock extension or a driver block")
    check_eof(r, eof, size, skip)
    entry = head[pos + 4 * r.so : pos + 6 * r.so + 24]  # the root group's symbol table entry
    return Group(r, uint(entry, r.so, r.so), cached(r, entry))


def open_new(r: Reader, head: bytes, size: int, skip: int) -> Group:
    """Superblock version 2 or 3 (``libver='latest'`` and the like): no symbol table entry."""
    r.so, r.sl = uint(head, 9, 1), uint(head, 10, 1)
    if r.so not in (2, 4, 8) or r.sl not in (2, 4, 8):
        raise Unsupported("unusual offset or length size")
    block = verify(head[: 12 + 4 * r.so + 4], "superblock")
    if block[11]:
        raise Unsupported("superblock flags: the file was open for writing (or SWMR) and not closed")
    base_addr, extension, eof, root = (uint(block, 12 + i * r.so, r.so) for i in range(4))
    if base_addr != skip or not r.undefined(extension):
        raise Unsupported("a base address, or a superblock extension (shared message tables, file space info)")
    check_eof(r, eof, size, skip)
    return Group(r, root)


def user_block(f: BinaryIO, base: int, size: int) -> int:
    """Where the superblock starts: offset 0, or past a user block of 512, 1024, 2048... bytes."""
    at = 0
    while at + 8 <= size:
        f.seek(base + at)
        if f.read(8) == SIGNATURE:
            return at
        at = 512 if at == 0 else at * 2
    raise Unsupported("no HDF5 signature at offset 0, 512, 1024... (not HDF5)")


def check_eof(r: Reader, eof: int, size: int, skip: int) -> None:
    """``eof`` is the superblock's end-of-file address, ``size`` the file's, ``skip`` the user block."""
    if size < eof:
        raise Truncated(f"truncated file: eof = {size - skip}, sblock->base_addr = {skip}, stored_eof = {eof}")
    r.eoa = eof - skip  # addresses count from the superblock


def add_attribute(r: Reader, raw: dict, body: bytes) -> None:
    name, dt, ds, data = attribute(r, body)
    if name in raw:
        raise Unsupported("duplicate attribute names")
    raw[name] = (dt, ds, data)


def object_attrs(r: Reader, msgs: list[tuple[int, bytes]]) -> Attrs:
    raw: dict = {}
    for mtype, body in msgs:
        if mtype == 0x0C:
            add_attribute(r, raw, body)
        elif mtype == 0x15:
            for stored in dense_attributes(r, body):
                add_attribute(r, raw, stored)
    return Attrs(r, raw)


class Dataset:
    def __init__(self, shape: tuple[int, ...], dtype: str, r: Reader | None = None, addr: int = 0) -> None:
        self.shape, self.dtype, self.r, self.addr = shape, dtype, r, addr

    @property
    def attrs(self) -> Attrs:  # read on demand: the inventory needs none
        return object_attrs(self.r, messages(self.r, self.addr))


class Datatype:
    dtype = "committed"


class Group:
    def __init__(self, r: Reader, addr: int, expect: tuple[int, int] | None = None) -> None:
        self.r, self.addr = r, addr
        msgs = messages(r, addr)
        links = []
        for mtype, body in msgs:
            if mtype == 0x06:
                links.append(link(r, body))
            elif mtype == 0x02:
                links += dense_links(r, body)
        self.attrs = object_attrs(r, msgs)
        self.cache: dict[int, tuple[int, int] | None] = {}
        table = next((body for mtype, body in msgs if mtype == 0x11), None)
        if table is not None:
            if links or any(mtype == 0x02 for mtype, _ in msgs):
                raise Unsupported("a group with both a symbol table and links")
            where = (uint(table, 0, r.so), uint(table, r.so, r.so))
            if expect is not None and expect != where:
                raise Unsupported("a group's cached B-tree and heap differ from its header")
            triples = symbol_links(r, *where)
            links = [(name, addr) for name, addr, _ in triples]
            self.cache = {addr: hint for _, addr, hint in triples}
        elif not any(mtype == 0x02 for mtype, _ in msgs):
            raise Unsupported("not a group")
        # h5py visits (visititems) by name in byte order, whatever the storage order
        self.links = dict(sorted(links, key=lambda item: item[0].encode()))
        if len(self.links) != len(links):
            raise Unsupported("duplicate link names")

    def child(self, addr: int) -> Group | Dataset:
        msgs = messages(self.r, addr)
        types = {mtype for mtype, _ in msgs}
        if 0x11 in types or 0x02 in types:
            return Group(self.r, addr, self.cache.get(addr))
        if 0x08 in types:
            body = dict(reversed(msgs))  # the first message of a type is the one libhdf5 uses
            if 0x01 not in body or 0x03 not in body:
                raise Unsupported("dataset without dataspace or datatype")
            return Dataset(shape(self.r, body[0x01]), dataset_dtype(body[0x03]), self.r, addr)
        if 0x03 in types and types <= {0x03, 0x0C, 0x12, 0x15, 0x16}:
            return Datatype()  # a committed datatype: h5py visits it, the inventory skips it
        raise Unsupported("an object that is neither a group, a dataset nor a datatype")

    def get(self, name: str) -> Group | Dataset | None:
        node: Any = self
        for part in (p for p in name.split("/") if p):
            if not isinstance(node, Group) or part not in node.links:
                return None
            node = node.child(node.links[part])
        return node

    def __contains__(self, name: str) -> bool:
        if "/" not in name.strip("/"):  # as h5py: a link of this group, whether its object opens or not
            return name.strip("/") in self.links
        return self.get(name) is not None

    def __len__(self) -> int:  # as in h5py, an empty group is falsy
        return len(self.links)

    def keys(self) -> list[str]:
        return list(self.links)

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
