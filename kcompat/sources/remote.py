"""A remote object or prefix, read through fsspec as the readers read a ``pathlib.Path``.

Reads are ranged and lazy: ``open("rb")`` returns a ``RangedFile`` (``kcompat.sources.ranged``)
whose blocks are cached per artifact in its ``Meter``, which also counts the bytes and requests
that went over the wire. Listings are cached too: the entries of a listed prefix answer
``is_file()``, ``stat()`` and the ETag without a request each.
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
import stat as statmod
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from kcompat.sources import options
from kcompat.sources.errors import RemoteError, chain, status, translate
from kcompat.sources.ranged import RangedFile

CACHE_LIMIT = 64 * 1024 * 1024  # per artifact; metadata reads touch a few hundred kilobytes


class Meter:
    """What one artifact cost: bytes and requests over the wire, and the blocks already fetched."""

    def __init__(self) -> None:
        self.bytes = self.requests = 0
        self.downloaded = False
        self.blocks: dict[tuple[str, int], bytes] = {}
        self.infos: dict[str, dict] = {}
        self.spans: dict[tuple[str, int, int], bytes] = {}  # small exact reads, kept apart from the blocks
        self.listed: set[str] = set()  # folders whose every entry is in infos
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
        meter.infos, meter.listed = dict(self.meter.infos), set(self.meter.listed)
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
            parent = self.meter.infos.get(posixpath.dirname(self.path))
            if parent and parent.get("type") == "directory" and posixpath.dirname(self.path) not in self.meter.listed:
                self.parent.iterdir()  # a folder met in a listing: one more listing answers for all its files
                self.meter.infos.setdefault(self.path, None)
                return self.meter.infos[self.path]
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
        self.meter.listed.add(self.path)
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


def private_folder() -> Path:
    """A folder only this user can read, for a whole-object download."""
    return Path(tempfile.mkdtemp(prefix="kcompat-remote-"))
