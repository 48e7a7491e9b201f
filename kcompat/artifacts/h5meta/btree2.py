"""Version-2 B-trees (spec III.A.2): every record of a tree, in key order.

Kcompat reads three record types: 1 (a fractal heap's huge objects, unfiltered), 5 (a new-style
group's link name index) and 8 (an object's attribute name index).
"""

from __future__ import annotations

from kcompat.artifacts.h5meta.base import MAX_DEPTH, MAX_OBJECTS, Reader, Unsupported, uint
from kcompat.artifacts.h5meta.checksum import verify

PREFIX = 10  # signature, version, type and checksum


def enc_size(n: int) -> int:
    """Bytes libhdf5 uses to store a count up to ``n`` (H5VM_limit_enc_size)."""
    return (max(n, 1).bit_length() - 1) // 8 + 1


def records(r: Reader, addr: int, kind: int) -> list[bytes]:
    head = verify(r.read(addr, 18 + r.so + r.sl + 4), "v2 B-tree header")
    if head[:4] != b"BTHD" or head[4] != 0 or head[5] != kind:
        raise Unsupported(f"bad v2 B-tree header (wanted type {kind})")
    node_size, rec_size, depth = uint(head, 6, 4), uint(head, 10, 2), uint(head, 12, 2)
    root, root_n = uint(head, 16, r.so), uint(head, 16 + r.so, 2)
    if r.undefined(root) or not root_n:
        return []
    if depth > MAX_DEPTH or not rec_size or node_size < PREFIX + rec_size:
        raise Unsupported("v2 B-tree too deep, or its node size is impossible")
    # the widths of the per-child counts in internal nodes, level by level (H5B2__hdr_init)
    leaf_max = (node_size - PREFIX) // rec_size
    nrec_size, cum, cum_size = enc_size(leaf_max), [leaf_max], [0]
    for level in range(1, depth + 1):
        pointer = r.so + nrec_size + (cum_size[level - 1] if level > 1 else 0)
        most = (node_size - PREFIX - pointer) // (rec_size + pointer)
        cum.append((most + 1) * cum[level - 1] + most)
        cum_size.append(enc_size(cum[level]))
    out: list[bytes] = []
    walk(r, root, root_n, depth, kind, node_size, rec_size, nrec_size, cum_size, out)
    return out


def walk(r: Reader, addr: int, n: int, level: int, kind: int, node_size: int, rec_size: int,
         nrec_size: int, cum_size: list[int], out: list[bytes]) -> None:
    if len(out) + n > MAX_OBJECTS:
        raise Unsupported("v2 B-tree holds too many records")
    signature = b"BTIN" if level else b"BTLF"
    pointer = r.so + nrec_size + (cum_size[level - 1] if level > 1 else 0)
    size = 6 + n * rec_size + ((n + 1) * pointer if level else 0)
    if size + 4 > node_size:
        raise Unsupported("v2 B-tree node overflows its size")
    node = verify(r.read(addr, size + 4), "v2 B-tree node")
    if node[:4] != signature or node[4] != 0 or node[5] != kind:
        raise Unsupported("bad v2 B-tree node")
    recs = [node[6 + i * rec_size : 6 + (i + 1) * rec_size] for i in range(n)]
    if not level:
        out.extend(recs)
        return
    base = 6 + n * rec_size
    for i in range(n + 1):
        at = base + i * pointer
        child, child_n = uint(node, at, r.so), uint(node, at + r.so, nrec_size)
        walk(r, child, child_n, level - 1, kind, node_size, rec_size, nrec_size, cum_size, out)
        if i < n:
            out.append(recs[i])
