"""Jenkins' lookup3 hash, which HDF5 uses to checksum its version-2 metadata (spec I.B).

Every block with a checksum is verified, so a damaged newer-format file goes to h5py (which
verifies them too) instead of being misread.
"""

from __future__ import annotations

from kcompat.artifacts.h5meta.base import Unsupported, uint

M = 0xFFFFFFFF


def rot(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & M


def lookup3(data: bytes, init: int = 0) -> int:
    n = len(data)
    a = b = c = (0xDEADBEEF + n + init) & M
    if not n:
        return c
    words = data + b"\0" * (-n % 12)
    last = len(words) - 12
    for pos in range(0, last, 12):
        a = (a + int.from_bytes(words[pos : pos + 4], "little")) & M
        b = (b + int.from_bytes(words[pos + 4 : pos + 8], "little")) & M
        c = (c + int.from_bytes(words[pos + 8 : pos + 12], "little")) & M
        a = ((a - c) & M) ^ rot(c, 4); c = (c + b) & M
        b = ((b - a) & M) ^ rot(a, 6); a = (a + c) & M
        c = ((c - b) & M) ^ rot(b, 8); b = (b + a) & M
        a = ((a - c) & M) ^ rot(c, 16); c = (c + b) & M
        b = ((b - a) & M) ^ rot(a, 19); a = (a + c) & M
        c = ((c - b) & M) ^ rot(b, 4); b = (b + a) & M
    a = (a + int.from_bytes(words[last : last + 4], "little")) & M
    b = (b + int.from_bytes(words[last + 4 : last + 8], "little")) & M
    c = (c + int.from_bytes(words[last + 8 : last + 12], "little")) & M
    c ^= b; c = (c - rot(b, 14)) & M
    a ^= c; a = (a - rot(c, 11)) & M
    b ^= a; b = (b - rot(a, 25)) & M
    c ^= b; c = (c - rot(b, 16)) & M
    a ^= c; a = (a - rot(c, 4)) & M
    b ^= a; b = (b - rot(a, 14)) & M
    c ^= b; c = (c - rot(b, 24)) & M
    return c


def verify(block: bytes, what: str) -> bytes:
    """``block`` without its trailing checksum, once the checksum matches."""
    if len(block) < 4 or lookup3(block[:-4]) != uint(block, len(block) - 4, 4):
        raise Unsupported(f"{what} checksum does not match")
    return block[:-4]
