"""The file and its primitives: bounded reads, little-endian fields, the reader's limits."""

from __future__ import annotations

from typing import BinaryIO

SIGNATURE = b"\x89HDF\r\n\x1a\n"
MAX_OBJECTS = 200_000
MAX_MESSAGES = 10_000  # per object header
MAX_HEAP_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 64


class Unsupported(Exception):
    """Not a layout this reader handles, or inconsistent: read the file with h5py instead."""


class Truncated(Unsupported):
    """The file is shorter than its superblock says: libhdf5 refuses to open it (``H5F__super_read``
    checks the size for every read-only open but a SWMR read of a SWMR-written file, a state this
    reader refuses anyway). The text is libhdf5's."""


class PastEOA(Unsupported):
    """A block lies beyond the end of the address space the superblock declares: libhdf5 opens the
    file, and refuses only the objects stored there ("actual len exceeds EOA")."""


class Reader:
    def __init__(self, f: BinaryIO, base: int, size: int) -> None:
        self.f, self.base, self.size = f, base, size
        self.so = self.sl = 8  # sizes of offsets and lengths, from the superblock
        self.eoa = size
        self.heaps: dict[int, bytes] = {}
        self.headers: dict[int, list] = {}  # object header address -> its messages
        self.fheaps: dict[int, object] = {}  # fractal heap address -> FractalHeap

    def read(self, addr: int, n: int) -> bytes:
        if addr < 0 or n < 0 or addr + n > self.size:
            raise Unsupported(f"block at {addr}+{n} lies past the end of the file")
        if addr + n > self.eoa:
            raise PastEOA(f"block at {addr}+{n} lies past the end of the address space ({self.eoa})")
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
