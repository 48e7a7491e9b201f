"""A seekable, read-only file over one remote object: block-aligned range requests.

Blocks (``BLOCK`` bytes, or the span of one larger read) are fetched on first touch and kept in
the artifact's ``Meter``, which every file opened on the same artifact shares: detection, the zip
reader and the HDF5 reader each reopen the object and read the same few places (the head, the
central directory, the weights' metadata). ``prefetch`` fetches several ranges in concurrent
requests, one round trip instead of one per range.
"""

from __future__ import annotations

import io
from typing import Any

BLOCK = 64 * 1024


class RangedFile(io.RawIOBase):
    """A seekable, read-only view of one remote object: block-aligned range requests, cached per artifact."""

    def __init__(self, path: Any, size: int) -> None:
        self.owner, self.size, self.pos = path, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self.pos, 2: self.size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self.pos = base + offset
        return self.pos

    def read(self, n: int = -1) -> bytes:
        end = self.size if n is None or n < 0 else min(self.size, self.pos + n)
        if end <= self.pos:
            return b""
        exact = self.owner.meter.spans.get((self.owner.path, self.pos, end))
        data = exact if exact is not None else self.span(self.pos, end)
        self.pos = end
        return data

    def prefetch(self, ranges: list[tuple[int, int]], exact: bool = False) -> None:
        """Fetch several ranges at once, in concurrent requests: one round trip instead of one each.

        ``exact`` keeps just those bytes (probes of a few bytes far apart); else whole blocks.
        """
        meter, key = self.owner.meter, self.owner.path
        ranges = [(max(0, a), min(self.size, b)) for a, b in ranges if min(self.size, b) > max(0, a)]
        if exact:
            wanted = [(a, e) for a, e in dict.fromkeys(ranges) if (key, a, e) not in meter.spans
                      and not all((key, b) in meter.blocks for b in range(a // BLOCK, (e - 1) // BLOCK + 1))]
        else:
            blocks = sorted({b for a, e in ranges for b in range(a // BLOCK, (e - 1) // BLOCK + 1)
                             if (key, b) not in meter.blocks})
            wanted = [(b * BLOCK, min(self.size, (b + 1) * BLOCK)) for b in blocks]
        if not wanted:
            return
        parts = self.owner.call(self.owner.fs.cat_ranges, [key] * len(wanted), [a for a, _ in wanted],
                                [e for _, e in wanted], on_error="raise")
        for (start, end), data in zip(wanted, parts):
            meter.bytes += len(data)
            meter.requests += 1
            if exact:
                meter.spans[(key, start, end)] = data
            else:
                meter.keep((key, start // BLOCK), data)

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def span(self, start: int, end: int) -> bytes:
        meter, key = self.owner.meter, self.owner.path
        first, last = start // BLOCK, (end - 1) // BLOCK
        missing = [b for b in range(first, last + 1) if (key, b) not in meter.blocks]
        if missing:  # one request for the run of blocks this read needs, even if some are cached
            lo, hi = missing[0] * BLOCK, min(self.size, (missing[-1] + 1) * BLOCK)
            data = self.owner.call(self.owner.fs.cat_file, key, start=lo, end=hi)
            meter.bytes += len(data)
            meter.requests += 1
            for b in range(missing[0], missing[-1] + 1):
                meter.keep((key, b), data[(b - missing[0]) * BLOCK:(b - missing[0] + 1) * BLOCK])
        parts = []
        for b in range(first, last + 1):
            block = meter.blocks.get((key, b))
            if block is None:  # evicted while this read was assembled: fetch it alone
                block = self.owner.call(self.owner.fs.cat_file, key, start=b * BLOCK, end=min(self.size, (b + 1) * BLOCK))
                meter.bytes += len(block)
                meter.requests += 1
            parts.append(block)
        joined = b"".join(parts)
        return joined[start - first * BLOCK:end - first * BLOCK]
