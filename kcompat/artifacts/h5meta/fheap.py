"""Fractal heaps (spec III.G): where dense storage keeps link and attribute messages.

Managed objects are found through the doubling table of direct and indirect blocks, tiny ones
sit in their heap ID, huge ones are found through the heap's v2 B-tree (type 1). A heap with I/O
filters (compressed blocks) is left to h5py.
"""

from __future__ import annotations

import bisect

from kcompat.artifacts.h5meta.base import MAX_DEPTH, MAX_HEAP_BYTES, MAX_OBJECTS, Reader, Unsupported, uint
from kcompat.artifacts.h5meta.btree2 import enc_size, records
from kcompat.artifacts.h5meta.checksum import verify


class FractalHeap:
    def __init__(self, r: Reader, addr: int) -> None:
        so, sl = r.so, r.sl
        size = 22 + 12 * sl + 3 * so + 4
        head = r.read(addr, size)
        if head[:5] != b"FRHP\x00":
            raise Unsupported("bad fractal heap signature or version")
        self.r, self.addr = r, addr
        self.id_len, filters, self.flags = uint(head, 5, 2), uint(head, 7, 2), head[9]
        if filters:
            raise Unsupported("a fractal heap with I/O filters")
        verify(head, "fractal heap header")
        self.max_man = uint(head, 10, 4)
        self.huge_tree = uint(head, 14 + sl, so)
        pos = 14 + 10 * sl + 2 * so  # past the counters, at the doubling table
        self.width, self.start = uint(head, pos, 2), uint(head, pos + 2, sl)
        self.max_direct, self.max_bits = uint(head, pos + 2 + sl, sl), uint(head, pos + 2 + 2 * sl, 2)
        self.root, self.root_rows = uint(head, pos + 6 + 2 * sl, so), uint(head, pos + 6 + 2 * sl + so, 2)
        if not self.width or self.start < 1 or self.start & (self.start - 1) or self.max_bits > 64:
            raise Unsupported("fractal heap doubling table is impossible")
        self.off_size = (self.max_bits + 7) // 8
        self.len_size = min((self.max_direct.bit_length() + 6) // 8, enc_size(self.max_man))  # as libhdf5
        self.blocks: list[tuple[int, bytes]] | None = None  # (heap offset, block bytes), by offset
        self.huge: dict[int, tuple[int, int]] | None = None

    def block_size(self, row: int) -> int:
        return self.start * (1 << max(row - 1, 0))

    def load_blocks(self) -> list[tuple[int, bytes]]:
        if self.blocks is None:
            found: list[tuple[int, bytes]] = []
            if not self.r.undefined(self.root):
                if self.root_rows:
                    self.indirect(self.root, 0, self.root_rows, found, MAX_DEPTH)
                else:
                    found.append((0, self.direct(self.root, 0, self.start)))
            self.blocks = sorted(found)
        return self.blocks

    def direct(self, addr: int, offset: int, size: int) -> bytes:
        if size > MAX_HEAP_BYTES:
            raise Unsupported("fractal heap block over the size limit")
        block = self.r.read(addr, size)
        head = 5 + self.r.so + self.off_size
        if block[:5] != b"FHDB\x00" or uint(block, 5, self.r.so) != self.addr or uint(block, 5 + self.r.so, self.off_size) != offset:
            raise Unsupported("bad fractal heap direct block")
        if self.flags & 0x02:
            stored = uint(block, head, 4)
            verify(block[:head] + b"\0\0\0\0" + block[head + 4 :] + stored.to_bytes(4, "little"), "fractal heap direct block")
        return block

    def indirect(self, addr: int, offset: int, rows: int, found: list, depth: int) -> None:
        if depth <= 0 or len(found) > MAX_OBJECTS:
            raise Unsupported("fractal heap too deep or too large")
        max_direct_rows = (self.max_direct // self.start).bit_length() + 1
        direct_rows = min(rows, max_direct_rows)
        entries = rows * self.width
        head = 5 + self.r.so + self.off_size
        block = verify(self.r.read(addr, head + entries * self.r.so + 4), "fractal heap indirect block")
        if block[:5] != b"FHIB\x00" or uint(block, 5, self.r.so) != self.addr or uint(block, 5 + self.r.so, self.off_size) != offset:
            raise Unsupported("bad fractal heap indirect block")
        at = offset
        for row in range(rows):
            size = self.block_size(row)
            for col in range(self.width):
                child = uint(block, head + (row * self.width + col) * self.r.so, self.r.so)
                if not self.r.undefined(child):
                    if row < direct_rows:
                        found.append((at, self.direct(child, at, size)))
                    else:
                        child_rows = size.bit_length() - (self.start * self.width).bit_length() + 1
                        self.indirect(child, at, child_rows, found, depth - 1)
                at += size

    def get(self, heap_id: bytes) -> bytes:
        kind = (heap_id[0] >> 4) & 0x03
        if heap_id[0] >> 6:
            raise Unsupported("fractal heap ID version")
        if kind == 0:
            offset, length = uint(heap_id, 1, self.off_size), uint(heap_id, 1 + self.off_size, self.len_size)
            blocks = self.load_blocks()
            i = bisect.bisect_right(blocks, offset, key=lambda b: b[0]) - 1
            if i < 0 or offset + length > blocks[i][0] + len(blocks[i][1]):
                raise Unsupported("fractal heap object outside its blocks")
            start = offset - blocks[i][0]
            return blocks[i][1][start : start + length]
        if kind == 2:
            if self.id_len <= 18:
                n = (heap_id[0] & 0x0F) + 1
                return heap_id[1 : 1 + n]
            n = (((heap_id[0] & 0x0F) << 8) | heap_id[1]) + 1
            return heap_id[2 : 2 + n]
        if kind == 1:
            return self.get_huge(heap_id)
        raise Unsupported("fractal heap ID type")

    def get_huge(self, heap_id: bytes) -> bytes:
        so, sl = self.r.so, self.r.sl
        if self.id_len >= 1 + so + sl:  # the address and length are in the ID itself
            addr, length = uint(heap_id, 1, so), uint(heap_id, 1 + so, sl)
        else:
            if self.huge is None:
                self.huge = {}
                for rec in records(self.r, self.huge_tree, 1):
                    self.huge[uint(rec, so + sl, sl)] = (uint(rec, 0, so), uint(rec, so, sl))
            key = uint(heap_id, 1, min(sl, len(heap_id) - 1))
            if key not in self.huge:
                raise Unsupported("huge fractal heap object not in its B-tree")
            addr, length = self.huge[key]
        if length > MAX_HEAP_BYTES:
            raise Unsupported("huge fractal heap object over the size limit")
        return self.r.read(addr, length)


def fractal_heap(r: Reader, addr: int) -> FractalHeap:
    heap = r.fheaps.get(addr)
    if heap is None:
        r.fheaps[addr] = heap = FractalHeap(r, addr)
    return heap  # type: ignore[return-value]
