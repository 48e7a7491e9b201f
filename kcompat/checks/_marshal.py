"""Infer which Python wrote a marshalled code object, from its layout alone.

A Lambda layer stores ``base64(marshal.dumps(code))``. We never ``marshal.loads`` it: this is a
small structural reader that walks the marshal stream, building no code objects and running
nothing, and tries each CPython code-object layout in turn. The layout that parses the whole
stream with the right field types narrows the writer to a range of versions; within 3.11+ the
opcode numbers narrow it further.
"""

from __future__ import annotations

import base64
import binascii
import struct

# Code-object fields after the type byte, per CPython family. 'I' is a raw int32; the rest
# are marshalled objects of the named coarse type ('b' bytes, 't' tuple, 's' str, 'x' any).
LAYOUTS: dict[str, tuple[str, ...]] = {
    "2.7": ("I", "I", "I", "I", "b", "t", "t", "t", "t", "t", "s", "s", "I", "b"),
    "3.0-3.7": ("I", "I", "I", "I", "I", "b", "t", "t", "t", "t", "t", "s", "s", "I", "b"),
    "3.8-3.10": ("I", "I", "I", "I", "I", "I", "b", "t", "t", "t", "t", "t", "s", "s", "I", "b"),
    "3.11+": ("I", "I", "I", "I", "I", "b", "t", "t", "t", "b", "s", "s", "s", "I", "b", "b"),
}
FAMILY_VERSIONS = {
    "2.7": ["2.7"], "3.0-3.7": ["3.6", "3.7"], "3.8-3.10": ["3.8", "3.9", "3.10"],
    "3.11+": ["3.11", "3.12", "3.13", "3.14"],
}
# Opcode numbers defined by each 3.11+ interpreter (from dis.opmap of CPython 3.11.7, 3.12.1,
# 3.13.0) and the number of RESUME, which every 3.11+ code object executes first.
RESUME = {"3.11": 151, "3.12": 151, "3.13": 149}


def _ranges(spec: str) -> frozenset[int]:
    out: set[int] = set()
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        out.update(range(int(lo), int(hi or lo) + 1))
    return frozenset(out)


OPCODES = {
    "3.11": _ranges("0-2,9-12,15,25,30-33,35-37,49-54,60-61,68-71,74-75,82-112,114-120,122-126,128-140,142,"
                    "144-149,151-152,155-157,160,162-166,171-176"),
    "3.12": _ranges("0-5,9,11-12,15,17,25-27,30-33,35-37,49-55,60-61,68-69,71,74-75,83,85,87,89-110,114-147,"
                    "149-152,155-157,162-165,171-176,237-254"),
    "3.13": _ranges("0-2,4-118,149,236-254"),
}


class _Bad(Exception):
    pass


class _Reader:
    def __init__(self, data: bytes, layout: str):
        self.data, self.pos, self.layout, self.refs = data, 0, layout, []
        self.code_blobs: list[bytes] = []

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise _Bad("truncated")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def i32(self) -> int:
        return struct.unpack("<i", self.take(4))[0]

    def obj(self, depth: int = 0) -> str:
        if depth > 64:
            raise _Bad("too deep")
        code = self.take(1)[0]
        flag, kind = code & 0x80, chr(code & 0x7F)
        slot = None
        if flag:
            slot = len(self.refs)
            self.refs.append("x")
        coarse = self._body(kind, depth)
        if slot is not None:
            self.refs[slot] = coarse
        return coarse

    def _body(self, kind: str, depth: int) -> str:
        if kind in "NTF.S0":
            return "n"
        if kind == "i":
            self.take(4)
            return "i"
        if kind == "I":
            self.take(8)
            return "i"
        if kind == "l":
            n = self.i32()
            self.take(2 * abs(n))
            return "i"
        if kind == "g":
            self.take(8)
            return "f"
        if kind == "y":
            self.take(16)
            return "f"
        if kind in "fx":
            for _ in range(1 if kind == "f" else 2):
                self.take(self.take(1)[0])
            return "f"
        if kind == "s":
            blob = self.take(self._len())
            self.last_bytes = blob
            return "b"
        if kind in "tuaA":
            self.take(self._len())
            return "b" if kind == "t" and self.layout == "2.7" else "s"
        if kind in "zZ":
            self.take(self.take(1)[0])
            return "s"
        if kind == "R":  # Python 2 interned-string back-reference
            self.i32()
            return "s"
        if kind == "r":
            index = self.i32()
            if not 0 <= index < len(self.refs):
                raise _Bad("bad ref")
            return self.refs[index]
        if kind in "([<>":
            n = self._len()
            for _ in range(n):
                self.obj(depth + 1)
            return "t" if kind == "(" else "o"
        if kind == ")":
            for _ in range(self.take(1)[0]):
                self.obj(depth + 1)
            return "t"
        if kind == "{":
            while self.data[self.pos:self.pos + 1] not in (b"0", b""):
                self.obj(depth + 1)
                self.obj(depth + 1)
            self.take(1)
            return "o"
        if kind == ":":  # slice (marshal version 5)
            for _ in range(3):
                self.obj(depth + 1)
            return "o"
        if kind == "c":
            self.code(depth)
            return "c"
        raise _Bad(f"unknown type code {kind!r}")

    def _len(self) -> int:
        n = self.i32()
        if n < 0 or n > len(self.data):
            raise _Bad("bad length")
        return n

    def code(self, depth: int) -> None:
        for index, field in enumerate(LAYOUTS[self.layout]):
            if field == "I":
                self.take(4)
                continue
            got = self.obj(depth + 1)
            if field == "b" and index == LAYOUTS[self.layout].index("b"):
                if got != "b":
                    raise _Bad("bytecode is not bytes")
                self.code_blobs.append(self.last_bytes)
            elif field == "b" and got not in ("b", "s"):
                raise _Bad("expected bytes")
            elif field == "t" and got != "t":
                raise _Bad("expected tuple")
            elif field == "s" and got not in ("s", "b"):
                raise _Bad("expected str")


def decode(payload: str) -> bytes | None:
    try:
        return base64.b64decode("".join(str(payload).split()), validate=False)
    except (binascii.Error, ValueError):
        return None


def writer_versions(data: bytes) -> list[str] | None:
    """Python versions ('3.11', ...) whose marshal layout and opcodes fit these bytes; None if none do."""
    if not data or chr(data[0] & 0x7F) != "c":
        return None
    for family, versions in FAMILY_VERSIONS.items():
        reader = _Reader(data, family)
        try:
            reader.obj()
        except (_Bad, IndexError, struct.error):
            continue
        if reader.pos != len(data):
            continue
        if family != "3.11+":
            return list(versions)
        seen = {blob[i] for blob in reader.code_blobs for i in range(0, len(blob) - 1, 2)}
        fits = [v for v, ops in OPCODES.items()
                if seen <= ops and any(blob and RESUME[v] in blob[0::2] for blob in reader.code_blobs)]
        return fits or ["3.14"]
    return None


def describe(versions: list[str]) -> str:
    return versions[0] if len(versions) == 1 else f"{versions[0]}–{versions[-1]}"
