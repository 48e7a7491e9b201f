"""Decompress one raw Snappy block: what a tensor-bundle table holds in a block whose type byte is 1.

TF's table format (after LevelDB) lets a writer Snappy-compress a block when that saves space; older
TF and TF Serving exports did, and TF reads them. The format (github.com/google/snappy,
format_description.txt): a varint of the uncompressed length, then elements, each a literal run or
a copy of earlier output. Pure Python, bounded by the declared length.
"""

from __future__ import annotations


class SnappyError(ValueError):
    """Not a valid Snappy block."""


def uncompressed_length(data: bytes) -> tuple[int, int]:
    result = shift = pos = 0
    while pos < len(data) and shift <= 28:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
    raise SnappyError("bad length preamble")


def decompress(data: bytes, limit: int) -> bytes:
    size, pos = uncompressed_length(data)
    if size > limit:
        raise SnappyError(f"block declares {size} bytes, over the {limit}-byte limit")
    out = bytearray()
    while pos < len(data):
        tag = data[pos]
        pos += 1
        kind = tag & 3
        if kind == 0:  # literal
            length = tag >> 2
            if length >= 60:
                extra = length - 59
                length = int.from_bytes(data[pos:pos + extra], "little")
                pos += extra
            length += 1
            if pos + length > len(data):
                raise SnappyError("literal runs past the block")
            out += data[pos:pos + length]
            pos += length
        else:
            if kind == 1:
                length, offset = 4 + ((tag >> 2) & 7), ((tag >> 5) << 8) | (data[pos] if pos < len(data) else 0)
                pos += 1
            else:
                width = 2 if kind == 2 else 4
                length, offset = (tag >> 2) + 1, int.from_bytes(data[pos:pos + width], "little")
                pos += width
            if pos > len(data) or offset == 0 or offset > len(out):
                raise SnappyError("copy reaches before the start of the output")
            start = len(out) - offset
            for i in range(length):  # byte by byte: a copy may overlap the bytes it produces
                out.append(out[start + i])
        if len(out) > size:
            raise SnappyError("block inflates past its declared length")
    if len(out) != size:
        raise SnappyError(f"block inflates to {len(out)} bytes, not the declared {size}")
    return bytes(out)
