"""Dataspaces, datatypes and attribute messages, and attribute values decoded as h5py gives them
(spec IV.A.2.b dataspace, IV.A.2.d datatype, IV.A.2.m attribute)."""

from __future__ import annotations

import math
import struct
from typing import Any

from kcompat.artifacts.h5meta.base import Reader, Unsupported, uint
from kcompat.artifacts.h5meta.headers import shared
from kcompat.artifacts.h5meta.heaps import global_heap


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
NUMBERS = {"int8": "b", "uint8": "B", "int16": "h", "uint16": "H", "int32": "i", "uint32": "I", "int64": "q",
           "uint64": "Q", "float64": "d"}  # attribute values decoded here, as struct formats


# h5py's bool: an enum of int8 with FALSE = 0 and TRUE = 1 (datatype version 1, names padded to 8)
BOOL = bytes.fromhex("1802000001000000" "1008000001000000" "00000800") + b"FALSE\0\0\0TRUE\0\0\0\0\x00\x01"


def dataset_dtype(body: bytes) -> str:
    """What h5py prints for a dataset's dtype (``str(ds.dtype)``)."""
    if body.startswith(BOOL):
        return "bool"
    kind, size, _ = dtype(body)
    if kind == "fixed-string":
        return f"|S{size}"
    return "object" if kind == "vlen-string" else kind


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
    if cls == 5 and not body[8:8 + (bits & 0xFF)].rstrip(b"\x00").startswith(b"NUMPY:"):
        # opaque: h5py reads it as numpy void of that size; numpy's own opaque tags (datetimes) it maps back
        return f"|V{size}", size, 0
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
    if version >= 2 and body[1] & ~0x03:
        raise Unsupported("attribute message flags")
    name = body[pos : pos + name_n]
    if not name.endswith(b"\0") or b"\0" in name[:-1]:
        raise Unsupported("attribute name length disagrees with its terminator")
    name = name[:-1]
    pos += pad(name_n)
    dt = body[pos : pos + type_n]
    pos += pad(type_n)
    ds = body[pos : pos + space_n]
    pos += pad(space_n)
    if version >= 2 and body[1] & 0x01:  # a committed datatype
        dt = shared(r, 0x03, dt)
    if version >= 2 and body[1] & 0x02:
        ds = shared(r, 0x01, ds)
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
        elif kind in NUMBERS:  # floats narrower than 64 bits print differently from numpy's: h5py's
            if size * count > len(data):
                raise Unsupported("attribute data is short")
            items = list(struct.unpack(f"<{count}{NUMBERS[kind]}", data[: size * count]))
        else:
            raise Unsupported(f"{kind} attribute values are left to h5py")
        if dims:
            return items, "ndarray"
        return items[0], {"fixed-string": "bytes_", "vlen-string": "str"}.get(kind, kind)

    def vlen(self, ref: bytes) -> str:
        length, collection, index = uint(ref, 0, 4), uint(ref, 4, self.r.so), uint(ref, 4 + self.r.so, 4)
        data = global_heap(self.r, collection).get(index)
        if data is None or len(data) < length:
            raise Unsupported("dangling global heap reference")
        try:
            return data[:length].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise Unsupported("string attribute is not UTF-8") from exc
