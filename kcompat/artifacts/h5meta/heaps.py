"""The global heap (variable-length strings) and local heaps (link names) (spec III.D, III.E)."""

from __future__ import annotations

from kcompat.artifacts.h5meta.base import MAX_HEAP_BYTES, Reader, Unsupported, uint


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
