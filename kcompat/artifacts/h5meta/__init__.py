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

import math
import struct
from collections.abc import Callable
from typing import Any, BinaryIO

SIGNATURE = b"\x89HDF\r\n\x1a\n"
MAX_OBJECTS = 200_000
MAX_MESSAGES = 10_000  # per object header
MAX_HEAP_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 64


class Unsupported(Exception):
    """Not a layout this reader handles, or inconsistent: read the file with h5py instead."""


class Reader:
    def __init__(self, f: BinaryIO, base: int, size: int) -> None:
        self.f, self.base, self.size = f, base, size
        self.so = self.sl = 8  # sizes of offsets and lengths, from the superblock
        self.eoa = size
        self.heaps: dict[int, bytes] = {}

    def read(self, addr: int, n: int) -> bytes:
        if addr < 0 or n < 0 or addr + n > min(self.eoa, self.size):
            raise Unsupported(f"block at {addr}+{n} lies past the end of the file")
        self.f.seek(self.base + addr)
        data = self.f.read(n)
        if len(data) != n:
            raise Unsupported("short read")
        return data

    def undefined(self, addr: int) -> bool:
        return addr == (1 << (8 * self.so)) - 1


def uint(data: bytes, pos: int, n: int) -> int:
    if pos + n > len(data):
        raise Unsupported("field runs past its block")
    return int.from_bytes(data[pos : pos + n], "little")


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


def shape(r: Reader, body: bytes) -> tuple[int, ...]:
    version, rank = uint(body, 0, 1), uint(body, 1, 1)
    if rank > 32:
        raise Unsupported("dataspace rank over 32")
    if version == 1:
        pos = 8
    elif version == 2:
        if uint(body, 3, 1) == 2:
            raise Unsupported("null dataspace")
        pos = 4
    else:
        raise Unsupported(f"dataspace version {version}")
    return tuple(uint(body, pos + i * r.sl, r.sl) for i in range(rank))


# IEEE layouts as (size, exponent bits, mantissa bits): anything else (bfloat16...) goes to h5py.
FLOATS = {(2, 5, 10): "float16", (4, 8, 23): "float32", (8, 11, 52): "float64"}


def dtype(body: bytes) -> tuple[str, int, int]:
    """(kind, size, flag) where kind is a numpy dtype name, 'fixed-string' or 'vlen-string'."""
    cls, bits, size = uint(body, 0, 1) & 0x0F, uint(body, 1, 3), uint(body, 4, 4)
    if not 1 <= body[0] >> 4 <= 3:
        raise Unsupported(f"datatype version {body[0] >> 4}")
    if cls == 0 and not bits & 0x01 and size in (1, 2, 4, 8):
        return ("int" if bits & 0x08 else "uint") + str(8 * size), size, 0
    if cls == 1 and not bits & 0x41:
        key = (size, uint(body, 13, 1), uint(body, 15, 1))
        if key in FLOATS:
            return FLOATS[key], size, 0
    if cls == 3:
        return "fixed-string", size, bits & 0x0F
    if cls == 9 and bits & 0x0F == 1 and size == 16 and len(body) >= 16:
        base_cls, base_size = body[8] & 0x0F, uint(body, 12, 4)  # the element type: 1-byte chars
        plain = base_cls == 3 or (len(body) >= 20 and uint(body, 16, 2) == 0 and uint(body, 18, 2) == 8)
        if base_cls in (0, 3) and base_size == 1 and plain:
            return "vlen-string", size, (bits >> 8) & 0x0F
    raise Unsupported(f"datatype class {cls}")


def attribute(r: Reader, body: bytes) -> tuple[str, bytes, bytes, bytes]:
    """(name, datatype, dataspace, data) of an attribute message."""
    version, name_n, type_n, space_n = uint(body, 0, 1), uint(body, 2, 2), uint(body, 4, 2), uint(body, 6, 2)
    if version == 1 and body[1]:
        raise Unsupported("attribute message reserved byte set")
    if version == 1:
        pad = lambda n: (n + 7) & ~7  # noqa: E731 - version 1 pads each field to 8 bytes
        pos = 8
    elif version in (2, 3):
        pad, pos = (lambda n: n), 8 + (version == 3)
    else:
        raise Unsupported(f"attribute message version {version}")
    name = body[pos : pos + name_n]
    if not name.endswith(b"\0") or b"\0" in name[:-1]:
        raise Unsupported("attribute name length disagrees with its terminator")
    name = name[:-1]
    pos += pad(name_n)
    dt = body[pos : pos + type_n]
    pos += pad(type_n)
    ds = body[pos : pos + space_n]
    pos += pad(space_n)
    try:
        text = name.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Unsupported("attribute name is not UTF-8") from exc
    return text, dt, ds, body[pos:]


class Attrs:
    """Attribute names, and values decoded on access as h5py would give them."""

    def __init__(self, r: Reader, raw: dict[str, tuple[bytes, bytes, bytes]]) -> None:
        self.r, self.raw = r, raw

    def __contains__(self, key: str) -> bool:
        return key in self.raw

    def __iter__(self):
        return iter(self.raw)

    def __getitem__(self, key: str) -> Any:
        return self.value(key)[0]

    def stored(self, key: str) -> str:
        """The Python type name h5py 3 returns for this attribute: str, bytes_ or ndarray."""
        return self.value(key)[1]

    def value(self, key: str) -> tuple[Any, str]:
        dt, ds, data = self.raw[key]
        kind, size, flag = dtype(dt)
        dims = shape(self.r, ds)
        count = math.prod(dims)
        if kind == "fixed-string":
            if size * count > len(data):
                raise Unsupported("attribute data is short")
            items: list = [data[i * size : (i + 1) * size].rstrip(b"\0") for i in range(count)]
        elif kind == "vlen-string":
            step = 4 + self.r.so + 4
            if step * count > len(data):
                raise Unsupported("attribute data is short")
            items = [self.vlen(data[i * step : (i + 1) * step]) for i in range(count)]
        else:
            raise Unsupported(f"{kind} attribute values are left to h5py")
        if dims:
            return items, "ndarray"
        return items[0], ("bytes_" if kind == "fixed-string" else "str")

    def vlen(self, ref: bytes) -> str:
        length, collection, index = uint(ref, 0, 4), uint(ref, 4, self.r.so), uint(ref, 4 + self.r.so, 4)
        data = global_heap(self.r, collection).get(index)
        if data is None or len(data) < length:
            raise Unsupported("dangling global heap reference")
        try:
            return data[:length].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise Unsupported("string attribute is not UTF-8") from exc


def global_heap(r: Reader, addr: int) -> dict[int, bytes]:
    cached = r.heaps.get(addr)
    if cached is None:
        head = r.read(addr, 8 + r.sl)
        if head[:5] != b"GCOL\x01":
            raise Unsupported("bad global heap signature or version")
        size = uint(head, 8, r.sl)
        if size > MAX_HEAP_BYTES:
            raise Unsupported("global heap collection over the size limit")
        block, pos, objects = r.read(addr, size), 8 + r.sl, {}
        while pos + 8 + r.sl <= len(block):
            index, n = uint(block, pos, 2), uint(block, pos + 8, r.sl)
            if index == 0:  # the free space, which runs to the end of the collection
                if pos + n != len(block):
                    raise Unsupported("global heap free space does not end the collection")
                break
            if pos + 8 + r.sl + n > len(block):
                raise Unsupported("global heap object runs past its collection")
            objects[index] = block[pos + 8 + r.sl : pos + 8 + r.sl + n]
            pos += 8 + r.sl + ((n + 7) & ~7)
        r.heaps[addr] = cached = objects
    return cached


def local_heap(r: Reader, addr: int) -> bytes:
    head = r.read(addr, 8 + 2 * r.sl + r.so)
    if head[:5] != b"HEAP\x00":
        raise Unsupported("bad local heap signature or version")
    size, free, data_addr = uint(head, 8, r.sl), uint(head, 8 + r.sl, r.sl), uint(head, 8 + 2 * r.sl, r.so)
    if size > MAX_HEAP_BYTES:
        raise Unsupported("local heap over the size limit")
    data = r.read(data_addr, size)
    for _ in range(size // 16 + 1):  # the free list: (next offset, size) blocks; 1 ends it
        if free == 1:
            return data
        if free + 2 * r.sl > size:
            break
        nxt, length = uint(data, free, r.sl), uint(data, free + r.sl, r.sl)
        if length < 2 * r.sl or free + length > size or (nxt != 1 and nxt <= free):
            break
        free = nxt
    raise Unsupported("bad local heap free list")


def heap_name(heap: bytes, offset: int) -> str:
    end = heap.find(b"\0", offset)
    if offset >= len(heap) or end < 0:
        raise Unsupported("link name outside its heap")
    try:
        return heap[offset:end].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Unsupported("link name is not UTF-8") from exc


def symbol_links(r: Reader, btree: int, heap_addr: int) -> list[tuple[str, int, tuple[int, int] | None]]:
    """(name, object header address, cached B-tree and heap) of each link of a symbol-table group.

    Besides walking the B-tree, this checks what libhdf5 relies on to look names up (each leaf
    key names the last link of its node, names ascend), so a file h5py could not read by name is
    not read here either.
    """
    heap, links = local_heap(r, heap_addr), []
    stack, nodes = [(btree, MAX_DEPTH)], 0
    entry = 2 * r.so + 24
    while stack:
        addr, depth = stack.pop()
        nodes += 1
        if depth <= 0 or nodes > MAX_OBJECTS:
            raise Unsupported("group B-tree too deep or too large")
        head = r.read(addr, 8 + 2 * r.so + 32 * r.so + 33 * r.sl)  # libhdf5 reads whole nodes (2K = 32)
        if head[:4] != b"TREE" or head[4] != 0 or uint(head, 6, 2) > 32:
            raise Unsupported("bad group B-tree node")
        level, used = head[5], uint(head, 6, 2)
        siblings = (uint(head, 8, r.so), uint(head, 8 + r.so, r.so))
        if nodes == 1 and not all(r.undefined(a) for a in siblings):
            raise Unsupported("the root of a group B-tree has siblings")
        body = r.read(addr + 8 + 2 * r.so, used * (r.sl + r.so) + r.sl)
        keys = [uint(body, i * (r.sl + r.so), r.sl) for i in range(used + 1)]
        children = [uint(body, r.sl + i * (r.sl + r.so), r.so) for i in range(used)]
        if level:
            stack.extend((c, depth - 1) for c in reversed(children))
            continue
        for i, child in enumerate(children):
            node = r.read(child, 8 + 8 * entry)  # whole node: 2 x leaf K (4) entries
            if node[:5] != b"SNOD\x01" or uint(node, 6, 2) > 8:
                raise Unsupported("bad symbol table node")
            count = uint(node, 6, 2)
            table = r.read(child + 8, count * entry)
            names = []
            for j in range(count):
                row = table[j * entry : (j + 1) * entry]
                names.append(heap_name(heap, uint(row, 0, r.so)))
                links.append((names[-1], uint(row, r.so, r.so), cached(r, row)))
            if (not names or names != sorted(names, key=str.encode) or heap_name(heap, keys[i + 1]) != names[-1]
                    or heap_name(heap, keys[i]) >= names[0]):
                raise Unsupported("group B-tree keys do not match its names")
    return links


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
