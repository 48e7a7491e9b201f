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


class Reader:
    def __init__(self, f: BinaryIO, base: int, size: int) -> None:
        self.f, self.base, self.size = f, base, size
        self.so = self.sl = 8  # sizes of offsets and lengths, from the superblock
        self.eoa = size
        self.heaps: dict[int, bytes] = {}
        self.headers: dict[int, list] = {}  # object header address -> its messages
        self.fheaps: dict[int, object] = {}  # fractal heap address -> FractalHeap

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
