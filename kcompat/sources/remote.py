"""A remote object or prefix, read through fsspec as the readers read a ``pathlib.Path``.

Reads are ranged and lazy: ``open("rb")`` returns a seekable file that fetches whole blocks
(``BLOCK`` bytes, or the span of one larger read) on first touch and keeps them in a cache that
every file opened on the same artifact shares, since detection, the zip reader and the HDF5
reader each reopen the object and read the same few places (the head, the central directory,
the weights' metadata). The ``Meter`` counts the bytes and requests that went over the wire.
"""

from __future__ import annotations

import fnmatch
import io
import os
import posixpath
import stat as statmod
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from kcompat.sources import options
from kcompat.sources.errors import RemoteError, chain, status, translate

BLOCK = 64 * 1024
CACHE_LIMIT = 64 * 1024 * 1024  # per artifact; metadata reads touch a few hundred kilobytes


class Meter:
    """What one artifact cost: bytes and requests over the wire, and the blocks already fetched."""

    def __init__(self) -> None:
        self.bytes = self.requests = 0
        self.downloaded = False
        self.blocks: dict[tuple[str, int], bytes] = {}
        self.infos: dict[str, dict] = {}
        self.spans: dict[tuple[str, int, int], bytes] = {}  # small exact reads, kept apart from the blocks
        self.cached = 0

    def keep(self, key: tuple[str, int], data: bytes) -> None:
        self.blocks[key] = data
        self.cached += len(data)
        while self.cached > CACHE_LIMIT and self.blocks:
            old = next(iter(self.blocks))
            self.cached -= len(self.blocks.pop(old))


def storage_options(protocol: str) -> dict[str, Any]:
    """Timeouts only, so that a dead endpoint is a finding in seconds, not minutes. Credentials and
    endpoints come from each backend's own chain (environment, config files), never from kcompat."""
    import fsspec.config

    if fsspec.config.conf.get(protocol):
        return {}
    seconds = options.TIMEOUT_S
    if protocol == "s3":
        return {"config_kwargs": {"connect_timeout": seconds, "read_timeout": seconds,
                                  "retries": {"max_attempts": 2, "mode": "standard"}}}
    if protocol in ("http", "https"):
        import aiohttp

        return {"client_kwargs": {"timeout": aiohttp.ClientTimeout(total=None, sock_connect=seconds, sock_read=seconds)}}
    return {}


def remote_path(url: str) -> RemotePath:
    try:
        import fsspec
        from fsspec.core import split_protocol
    except ImportError:
        raise RemoteError(url, "reading remote paths needs fsspec, which is not installed",
                          "pip install 'kcompat[s3]' (or [gcs], [azure], [http] for the backend of this URL)") from None
    protocol = split_protocol(url)[0] or "file"
    try:
        fs, path = fsspec.core.url_to_fs(url, **storage_options(protocol))
    except ImportError as exc:
        extra = {"s3": "s3", "gs": "gcs", "gcs": "gcs", "az": "azure", "abfs": "azure", "abfss": "azure"}.get(protocol, "http")
        raise RemoteError(url, f"the {protocol}:// backend is not installed ({exc})", f"pip install 'kcompat[{extra}]'") from None
    return RemotePath(fs, path.rstrip("/") if not path.endswith("://") else path, Meter())


class RemotePath:
    """The subset of ``pathlib.Path`` the readers use, over an fsspec filesystem."""

    def __init__(self, fs: Any, path: str, meter: Meter, alias: tuple[str, str] | None = None) -> None:
        self._fs, self.path, self.meter = fs, path, meter
        self.alias = alias  # (location, the URI it was named by): models:/NAME/1 stays that in the report

    @property
    def fs(self) -> Any:
        return live(self._fs)

    def at(self, path: str, meter: Meter | None = None) -> RemotePath:
        return RemotePath(self._fs, path, meter or self.meter, self.alias)

    # -- names, as PurePosixPath has them
    def __str__(self) -> str:
        if self.alias and (self.path == self.alias[0] or self.path.startswith(self.alias[0].rstrip("/") + "/")):
            return self.alias[1] + self.path[len(self.alias[0].rstrip("/")):] if self.path != self.alias[0] else self.alias[1]
        return self.fs.unstrip_protocol(self.path) if not self.path.startswith(("http://", "https://")) else self.path

    def __repr__(self) -> str:
        return f"RemotePath({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RemotePath) and str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))

    def __lt__(self, other: RemotePath) -> bool:
        return str(self) < str(other)

    def __truediv__(self, name: Any) -> RemotePath:
        return self.at(posixpath.join(self.path, str(name)))

    @property
    def name(self) -> str:
        return posixpath.basename(self.path)

    @property
    def suffix(self) -> str:
        return posixpath.splitext(self.name)[1]

    @property
    def stem(self) -> str:
        return posixpath.splitext(self.name)[0]

    @property
    def parent(self) -> RemotePath:
        return self.at(posixpath.dirname(self.path))

    def with_name(self, name: str) -> RemotePath:
        return self.parent / name

    def with_suffix(self, suffix: str) -> RemotePath:
        return self.with_name(self.stem + suffix)

    def is_absolute(self) -> bool:
        return True

    def fresh(self) -> RemotePath:
        """The same path with its own meter: each artifact of a listed prefix is counted alone."""
        meter = Meter()
        meter.infos = dict(self.meter.infos)
        return self.at(self.path, meter)

    # -- what is there
    def call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except FileNotFoundError as exc:  # fsspec's http backend also says this when it could not connect
            other = next((e for e in chain(exc) if not isinstance(e, FileNotFoundError)), None)
            if other is not None and status(other) not in (404, 410) and "NoSuch" not in type(other).__name__ + str(other):
                raise translate(str(self), other) from exc
            raise
        except Exception as exc:  # noqa: BLE001 - every backend raises its own; each becomes a RemoteError
            raise translate(str(self), exc) from exc

    def info(self) -> dict | None:
        """The object's listing entry (size, type, ETag...), or None if nothing is there."""
        if self.path not in self.meter.infos:
            try:
                self.meter.infos[self.path] = self.call(self.fs.info, self.path)
            except FileNotFoundError:
                self.meter.infos[self.path] = None
            self.meter.requests += 1
        return self.meter.infos[self.path]

    def exists(self) -> bool:
        return self.info() is not None

    def is_file(self) -> bool:
        info = self.info()
        return info is not None and info.get("type") == "file"

    def is_dir(self) -> bool:
        info = self.info()
        return info is not None and info.get("type") == "directory"

    def stat(self) -> SimpleNamespace:
        info = self.info()
        if info is None:
            raise FileNotFoundError(str(self))
        mode = statmod.S_IFDIR if info.get("type") == "directory" else statmod.S_IFREG
        return SimpleNamespace(st_size=int(info.get("size") or 0), st_mode=mode | 0o444, st_mtime=mtime(info))

    def iterdir(self) -> list[RemotePath]:
        entries = self.call(self.fs.ls, self.path, detail=True)
        self.meter.requests += 1
        children = []
        for entry in entries:
            name = entry["name"].rstrip("/")
            if name == self.path:
                continue
            child = self.at(name)
            self.meter.infos[name] = entry
            children.append(child)
        return sorted(children)

    def glob(self, pattern: str) -> list[RemotePath]:
        return [p for p in self.iterdir() if fnmatch.fnmatchcase(p.name, pattern)]

    def walk(self):
        dirs, files = [], []
        for child in self.iterdir():
            (dirs if child.is_dir() else files).append(child.name)
        yield self, dirs, files
        for name in list(dirs):
            if name in dirs:  # the caller prunes dirnames in place, as with os.walk
                yield from (self / name).walk()

    # -- bytes
    def open(self, mode: str = "rb") -> RangedFile:
        if mode != "rb":
            raise ValueError("remote paths are read-only: open them with 'rb'")
        info = self.info()
        if info is None:
            raise FileNotFoundError(str(self))
        if info.get("type") == "directory":
            raise IsADirectoryError(str(self))
        return RangedFile(self, int(info.get("size") or 0))

    def read_bytes(self) -> bytes:
        with self.open() as fh:
            return fh.read()

    def download(self, target: Path) -> Path:
        """The whole object (or every object under a prefix) in ``target``: only for a local reader."""
        self.meter.downloaded = True
        if self.is_dir():
            for entry in self.call(self.fs.find, self.path, detail=True).values():
                rel = posixpath.relpath(entry["name"], self.path)
                local = target / self.name / rel
                local.parent.mkdir(parents=True, exist_ok=True)
                self.call(self.fs.get_file, entry["name"], str(local))
                self.meter.bytes += int(entry.get("size") or 0)
                self.meter.requests += 1
            return target / self.name
        local = target / self.name
        self.call(self.fs.get_file, self.path, str(local))
        self.meter.bytes += local.stat().st_size
        self.meter.requests += 1
        return local

    def facts(self) -> dict[str, Any]:
        """For the report: where it is, its size, what reading it cost, and what changes when it does."""
        info = self.meter.infos.get(self.path) or {}
        size, etag, when = int(info.get("size") or 0), etag_of(info), mtime(info)
        if info.get("type") == "directory":
            files = self.call(self.fs.find, self.path, detail=True).values()
            size = sum(int(e.get("size") or 0) for e in files)
            etag = "|".join(sorted(f"{e['name']}:{etag_of(e) or e.get('size')}" for e in files)) or None
            when = max((mtime(e) or 0 for e in files), default=None)
        return {"url": str(self), "object_size": size, "bytes_fetched": self.meter.bytes,
                "requests": self.meter.requests, "etag": etag, "mtime": when, "downloaded": self.meter.downloaded}


FORKED: dict[tuple[int, int], Any] = {}


def live(fs: Any) -> Any:
    """``fs``, or in a forked process (--jobs) a fresh client with the same settings: an async
    filesystem made before a fork refuses to run in the child ("not fork-safe")."""
    pid = os.getpid()
    if getattr(fs, "_pid", pid) == pid:
        return fs
    if (pid, id(fs)) not in FORKED:
        FORKED[(pid, id(fs))] = type(fs)(**fs.storage_options, skip_instance_cache=True)
    return FORKED[(pid, id(fs))]


def etag_of(info: dict) -> str | None:
    value = info.get("ETag") or info.get("etag") or info.get("md5Hash") or info.get("etag_hex")
    return str(value).strip('"') if value else None


def mtime(info: dict) -> float | None:
    value = info.get("LastModified") or info.get("mtime") or info.get("last_modified") or info.get("updated")
    if value is None:
        return None
    if hasattr(value, "timestamp"):
        return float(value.timestamp())
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class RangedFile(io.RawIOBase):
    """A seekable, read-only view of one remote object: block-aligned range requests, cached per artifact."""

    def __init__(self, path: RemotePath, size: int) -> None:
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


def private_folder() -> Path:
    """A folder only this user can read, for a whole-object download."""
    return Path(tempfile.mkdtemp(prefix="kcompat-remote-"))
