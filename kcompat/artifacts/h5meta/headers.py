"""Object headers (version 1, and version 2 "OHDR" with "OCHK" continuations) and their messages;
symbol table entries' cached group addresses (spec IV.A.1.a, IV.A.1.b, IV.A.2, III.B).

Message flags are handled as libhdf5 handles them on a read-only open: constant (bit 0), don't
share (2), shareable (6) and the write-access bits (3-5) change nothing for a reader; a shared
message (bit 1) is followed to the committed object it names; "fail if unknown" (bit 7) on a
message type libhdf5 does not know means libhdf5 refuses the object, so h5py decides.
"""

from __future__ import annotations

from kcompat.artifacts.h5meta.base import MAX_MESSAGES, Reader, Unsupported, uint
from kcompat.artifacts.h5meta.checksum import verify

KNOWN_TYPES = range(0x00, 0x19)  # libhdf5 1.8-1.14 message classes: NIL .. reference count
SHARED, FAIL_IF_UNKNOWN = 0x02, 0x80


def cached(r: Reader, entry: bytes) -> tuple[int, int] | None:
    """The B-tree and heap addresses a symbol table entry caches for a group (cache type 1)."""
    kind = uint(entry, 2 * r.so, 4)
    if kind == 2:
        raise Unsupported("soft link")
    if kind == 1:
        return uint(entry, 2 * r.so + 8, r.so), uint(entry, 3 * r.so + 8, r.so)
    if kind != 0:
        raise Unsupported(f"symbol table cache type {kind}")
    return None


def messages(r: Reader, addr: int) -> list[tuple[int, bytes]]:
    """(type, body) of every message in the object header at ``addr``, shared ones resolved."""
    found = r.headers.get(addr)
    if found is None:
        raw = raw_messages(r, addr)
        found = [(mtype, shared(r, mtype, body) if flags & SHARED else body) for mtype, flags, body in raw]
        r.headers[addr] = found
    return found


def raw_messages(r: Reader, addr: int) -> list[tuple[int, int, bytes]]:
    if r.read(addr, 4) == b"OHDR":
        raw = v2_messages(r, addr)
    else:
        raw = v1_messages(r, addr)
    for mtype, flags, _ in raw:
        if flags & FAIL_IF_UNKNOWN and mtype not in KNOWN_TYPES:
            raise Unsupported(f"message type {mtype:#x} that libhdf5 must understand to open the object")
    return raw


def shared(r: Reader, mtype: int, body: bytes) -> bytes:
    """The message a shared message stands for: the same-type message of a committed object."""
    version = uint(body, 0, 1)
    if version == 1:
        target = uint(body, 8, r.so)
    elif version == 2 or (version == 3 and uint(body, 1, 1) == 2):
        target = uint(body, 2, r.so)
    elif version == 3 and uint(body, 1, 1) == 1:
        raise Unsupported("a message in the shared object header message table")
    else:
        raise Unsupported(f"shared message version {version}")
    for other_type, flags, other in raw_messages(r, target):
        if other_type == mtype and not flags & SHARED:
            return other
    raise Unsupported(f"a shared message of type {mtype:#x} with no committed original")


def v1_messages(r: Reader, addr: int) -> list[tuple[int, int, bytes]]:
    head = r.read(addr, 16)
    if head[0] != 1 or head[1] != 0:
        raise Unsupported(f"object header version {head[0]}")
    count, size = uint(head, 2, 2), uint(head, 8, 4)
    blocks, out, seen = [(addr + 16, size)], [], 0
    while blocks:
        start, length = blocks.pop(0)
        block, pos = r.read(start, length), 0
        while pos < len(block):
            mtype, msize, mflags = uint(block, pos, 2), uint(block, pos + 2, 2), uint(block, pos + 4, 1)
            body = block[pos + 8 : pos + 8 + msize]
            if len(body) != msize or msize % 8:
                raise Unsupported("message runs past its block, or is not 8-byte aligned")
            if mtype == 0x10:  # continuation
                blocks.append((uint(body, 0, r.so), uint(body, r.so, r.sl)))
            elif mtype:
                out.append((mtype, mflags, body))
            pos += 8 + msize
            seen += 1
            if seen > min(count, MAX_MESSAGES):
                raise Unsupported("more messages than the header declares")
    if seen != count:
        raise Unsupported("fewer messages than the header declares")
    return out


def v2_messages(r: Reader, addr: int) -> list[tuple[int, int, bytes]]:
    head = r.read(addr, 6)
    version, flags = head[4], head[5]
    if version != 2 or flags & 0xC0:
        raise Unsupported(f"object header OHDR version {version} or flags {flags:#x}")
    pos = 6 + (16 if flags & 0x20 else 0) + (4 if flags & 0x10 else 0)
    width = 1 << (flags & 0x03)
    size = uint(r.read(addr + pos, width), 0, width)
    order = 2 if flags & 0x04 else 0  # each message's creation order
    block = verify(r.read(addr, pos + width + size + 4), "object header")
    blocks, out, seen = [(block, pos + width)], [], 0
    while blocks:
        block, pos = blocks.pop(0)
        while pos + 4 + order <= len(block):
            mtype, msize, mflags = block[pos], uint(block, pos + 1, 2), block[pos + 3]
            body = block[pos + 4 + order : pos + 4 + order + msize]
            if len(body) != msize:
                raise Unsupported("message runs past its block")
            if mtype == 0x10:
                start, length = uint(body, 0, r.so), uint(body, r.so, r.sl)
                chunk = verify(r.read(start, length), "object header continuation")
                if chunk[:4] != b"OCHK":
                    raise Unsupported("bad object header continuation signature")
                blocks.append((chunk, 4))
            elif mtype:
                out.append((mtype, mflags, body))
            pos += 4 + order + msize
            seen += 1
            if seen > MAX_MESSAGES:
                raise Unsupported("too many messages in one object header")
    return out
