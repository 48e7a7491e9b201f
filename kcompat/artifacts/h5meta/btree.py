"""Symbol-table groups: the version-1 group B-tree and its symbol table nodes (spec III.A.1, III.B)."""

from __future__ import annotations

from kcompat.artifacts.h5meta.base import MAX_DEPTH, MAX_OBJECTS, Reader, Unsupported, uint
from kcompat.artifacts.h5meta.headers import cached
from kcompat.artifacts.h5meta.heaps import heap_name, local_heap


def symbol_links(r: Reader, btree: int, heap_addr: int) -> list[tuple[str, int, tuple[int, int] | None]]:
    """(name, object header address, cached B-tree and heap) of each link of a symbol-table group.

    Besides walking the B-tree, this checks what libhdf5 relies on to look names up (each leaf
    key names the last link of its node, names ascend), so a file h5py could not read by name is
    not read here either.
    """
    heap, links = local_heap(r, heap_addr), []
    stack, nodes = [(btree, MAX_DEPTH)], 0
    entry = 2 * r.so + 24
    while stack:
        addr, depth = stack.pop()
        nodes += 1
        if depth <= 0 or nodes > MAX_OBJECTS:
            raise Unsupported("group B-tree too deep or too large")
        head = r.read(addr, 8 + 2 * r.so + 32 * r.so + 33 * r.sl)  # libhdf5 reads whole nodes (2K = 32)
        if head[:4] != b"TREE" or head[4] != 0 or uint(head, 6, 2) > 32:
            raise Unsupported("bad group B-tree node")
        level, used = head[5], uint(head, 6, 2)
        siblings = (uint(head, 8, r.so), uint(head, 8 + r.so, r.so))
        if nodes == 1 and not all(r.undefined(a) for a in siblings):
            raise Unsupported("the root of a group B-tree has siblings")
        body = r.read(addr + 8 + 2 * r.so, used * (r.sl + r.so) + r.sl)
        keys = [uint(body, i * (r.sl + r.so), r.sl) for i in range(used + 1)]
        children = [uint(body, r.sl + i * (r.sl + r.so), r.so) for i in range(used)]
        if level:
            stack.extend((c, depth - 1) for c in reversed(children))
            continue
        for i, child in enumerate(children):
            node = r.read(child, 8 + 8 * entry)  # whole node: 2 x leaf K (4) entries
            if node[:5] != b"SNOD\x01" or uint(node, 6, 2) > 8:
                raise Unsupported("bad symbol table node")
            count = uint(node, 6, 2)
            table = r.read(child + 8, count * entry)
            names = []
            for j in range(count):
                row = table[j * entry : (j + 1) * entry]
                names.append(heap_name(heap, uint(row, 0, r.so)))
                links.append((names[-1], uint(row, r.so, r.so), cached(r, row)))
            if (not names or names != sorted(names, key=str.encode) or heap_name(heap, keys[i + 1]) != names[-1]
                    or heap_name(heap, keys[i]) >= names[0]):
                raise Unsupported("group B-tree keys do not match its names")
    return links
