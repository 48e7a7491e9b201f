"""Read a TF tensor-bundle index (a checkpoint's or SavedModel's `.index`) without TensorFlow.

The file is a LevelDB-style table (tensorflow/core/lib/io/table_format.txt): data blocks of
prefix-compressed entries, an index block, and a 48-byte footer ending in a magic number.
Keys are tensor names; values are BundleEntryProto (dtype, shape, shard, offset, size).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kcompat.artifacts import snappy
from kcompat.artifacts.detect import TABLE_MAGIC
from kcompat.artifacts.protos import BundleEntryProto, BundleHeaderProto, dtype_name, shape_dims

FOOTER_SIZE = 48
BLOCK_TRAILER = 5  # compression type byte + crc32c
MAX_INDEX_BYTES = 256 * 1024 * 1024


class BundleIndexError(ValueError):
    """The index is not a readable tensor-bundle table."""


@dataclass
class Entry:
    key: str
    dtype: str
    shape: list[int | None] | None
    shard_id: int
    size: int


@dataclass
class BundleIndex:
    num_shards: int
    entries: list[Entry]


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise BundleIndexError("varint runs past the end of its block")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _block(data: bytes, offset: int, size: int) -> bytes:
    if offset + size + BLOCK_TRAILER > len(data):
        raise BundleIndexError(f"block at {offset} (+{size}) runs past the end of the file ({len(data)} bytes)")
    kind = data[offset + size]
    if kind == 0:
        return data[offset : offset + size]
    if kind == 1:  # Snappy, as older TF and TF Serving exports wrote; TF reads it
        try:
            return snappy.decompress(data[offset : offset + size], MAX_INDEX_BYTES)
        except snappy.SnappyError as exc:
            raise BundleIndexError(f"Snappy block at {offset} does not decompress: {exc}") from None
    raise BundleIndexError(f"block at {offset} has compression type {kind}, which TF's table format does not define")


def _entries(block: bytes):
    if len(block) < 4:
        raise BundleIndexError("block too short")
    restarts = int.from_bytes(block[-4:], "little")
    end = len(block) - 4 - 4 * restarts
    if end < 0:
        raise BundleIndexError("restart array larger than its block")
    pos, key = 0, b""
    while pos < end:
        shared, pos = _varint(block, pos)
        non_shared, pos = _varint(block, pos)
        value_len, pos = _varint(block, pos)
        if shared > len(key) or pos + non_shared + value_len > end:
            raise BundleIndexError("entry runs past its block")
        key = key[:shared] + block[pos : pos + non_shared]
        pos += non_shared
        yield key, block[pos : pos + value_len]
        pos += value_len


def read_index(path: Path) -> BundleIndex:
    size = path.stat().st_size
    if size < FOOTER_SIZE:
        raise BundleIndexError(f"{size} bytes is shorter than the 48-byte table footer")
    if size > MAX_INDEX_BYTES:
        raise BundleIndexError(f"index of {size} bytes exceeds the {MAX_INDEX_BYTES}-byte limit")
    data = path.read_bytes()
    footer = data[-FOOTER_SIZE:]
    if footer[-8:] != TABLE_MAGIC:
        raise BundleIndexError("table magic number missing from the footer (truncated or not an index)")
    pos = 0
    _meta_off, pos = _varint(footer, pos)
    _meta_size, pos = _varint(footer, pos)
    index_off, pos = _varint(footer, pos)
    index_size, pos = _varint(footer, pos)
    header = BundleHeaderProto()
    entries: list[Entry] = []
    for _, handle in _entries(_block(data, index_off, index_size)):
        off, p = _varint(handle, 0)
        length, _ = _varint(handle, p)
        for key, value in _entries(_block(data, off, length)):
            try:
                if key == b"":
                    header.ParseFromString(value)
                    continue
                msg = BundleEntryProto()
                msg.ParseFromString(value)
            except Exception as exc:  # protobuf raises DecodeError and friends
                raise BundleIndexError(f"entry {key[:80]!r} is not a BundleEntryProto: {exc}") from None
            entries.append(
                Entry(
                    key=key.decode("utf-8", "replace"),
                    dtype=dtype_name(msg.dtype),
                    shape=shape_dims(msg.shape),
                    shard_id=msg.shard_id,
                    size=msg.size,
                )
            )
    return BundleIndex(num_shards=header.num_shards or 1, entries=entries)
