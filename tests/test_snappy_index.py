"""Snappy-compressed tensor-bundle index blocks: read without TensorFlow, as TensorFlow reads them.

TF's table format lets a writer Snappy-compress a block (block type byte 1); older TF and TF Serving
exports did. TF 2.21 writes uncompressed blocks, so the compressed index here is made from a real
TF-written one: every block re-encoded with the reference Snappy implementation (cramjam, bindings of
google/snappy) and the table re-linked. The slow test proves the rewrite is a valid bundle: real
TensorFlow reads it and restores the same tensors.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import cramjam
import pytest

from kcompat.artifacts import snappy
from kcompat.artifacts.tfindex import BundleIndexError, read_index
from tests.helpers import ROOT

SOURCE = ROOT / "fixtures" / "tf2.15" / "legacy_adam_decay_savedmodel" / "variables"
MAGIC = (0xDB4775248B80FB57).to_bytes(8, "little")


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def masked(crc: int) -> int:
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def entries(block: bytes) -> list[tuple[bytes, bytes]]:
    restarts = int.from_bytes(block[-4:], "little")
    end, pos, key, out = len(block) - 4 - 4 * restarts, 0, b"", []
    while pos < end:
        shared, pos = read_varint(block, pos)
        own, pos = read_varint(block, pos)
        size, pos = read_varint(block, pos)
        key = key[:shared] + block[pos:pos + own]
        out.append((key, block[pos + own:pos + own + size]))
        pos += own + size
    return out


def block_of(pairs: list[tuple[bytes, bytes]]) -> bytes:
    body = b"".join(varint(0) + varint(len(k)) + varint(len(v)) + k + v for k, v in pairs)
    return body + (0).to_bytes(4, "little") + (1).to_bytes(4, "little")  # one restart point, at 0


def snappy_table(index: bytes) -> bytes:
    """The same table with every block Snappy-compressed (type 1) and a masked CRC32C trailer."""
    footer = index[-48:]
    meta_off, p = read_varint(footer, 0)
    meta_size, p = read_varint(footer, p)
    index_off, p = read_varint(footer, p)
    index_size, _ = read_varint(footer, p)
    out = bytearray()

    def put(raw: bytes) -> bytes:
        compressed = bytes(cramjam.snappy.compress_raw(raw))
        handle = varint(len(out)) + varint(len(compressed))
        out.extend(compressed + b"\x01" + masked(crc32c(compressed + b"\x01")).to_bytes(4, "little"))
        return handle

    new_index = []
    for key, handle in entries(index[index_off:index_off + index_size]):
        off, p = read_varint(handle, 0)
        size, _ = read_varint(handle, p)
        new_index.append((key, put(block_of(entries(index[off:off + size])))))
    meta = put(index[meta_off:meta_off + meta_size])
    handles = meta + put(block_of(new_index))
    return bytes(out) + handles + b"\0" * (40 - len(handles)) + MAGIC


@pytest.fixture
def compressed(tmp_path: Path) -> Path:
    folder = tmp_path / "variables"
    shutil.copytree(SOURCE, folder)
    index = folder / "variables.index"
    index.write_bytes(snappy_table(index.read_bytes()))
    return folder


def test_decoder_matches_the_reference_implementation():
    rng = random.Random(7)
    samples = [b"", b"a", os.urandom(1000), b"ab" * 5000, bytes(rng.choice(b"kernel/bias:0") for _ in range(70_000))]
    for raw in samples:
        assert snappy.decompress(bytes(cramjam.snappy.compress_raw(raw)), 1 << 24) == raw


def test_decoder_refuses_what_does_not_add_up():
    good = bytes(cramjam.snappy.compress_raw(b"abcdabcdabcdabcd" * 10))
    with pytest.raises(snappy.SnappyError):
        snappy.decompress(good, 10)  # over the caller's limit
    with pytest.raises(snappy.SnappyError):
        snappy.decompress(b"\x05\x01\x10", 100)  # a copy before any output
    with pytest.raises(snappy.SnappyError):
        snappy.decompress(b"\x10\x0cabc", 100)  # a literal longer than the block


def test_compressed_index_reads_as_the_original(compressed: Path):
    assert (compressed / "variables.index").read_bytes()[:-48].count(b"\x01") > 0
    original = read_index(SOURCE / "variables.index")
    assert original.entries
    assert read_index(compressed / "variables.index") == original


def test_a_damaged_compressed_block_is_an_error_not_a_crash(compressed: Path):
    index = compressed / "variables.index"
    data = bytearray(index.read_bytes())
    data[0] ^= 0x7F  # the first block's length preamble
    index.write_bytes(bytes(data))
    with pytest.raises(BundleIndexError):
        read_index(index)


@pytest.mark.slow
def test_tensorflow_reads_the_compressed_index(compressed: Path):
    code = (
        "import sys, json, tensorflow as tf\n"
        "out = {}\n"
        "for prefix in sys.argv[1:]:\n"
        "    r = tf.train.load_checkpoint(prefix)\n"
        "    shapes = r.get_variable_to_shape_map()\n"
        "    value = lambda t: t.hex() if isinstance(t, bytes) else t.tobytes().hex()\n"
        "    out[prefix] = {k: [list(v), value(r.get_tensor(k))] for k, v in sorted(shapes.items())}\n"
        "print(json.dumps(list(out.values())))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(SOURCE / "variables"), str(compressed / "variables")],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    import json

    original, rewritten = json.loads(proc.stdout.strip().splitlines()[-1])
    assert original and rewritten == original
