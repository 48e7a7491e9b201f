"""Where artifacts live: local paths, object storage, HTTP and model registries.

Belongs here: turning a path or URL (``s3://``, ``gs://``, ``az://``, ``http(s)://``,
``models:/NAME/VERSION``) into a path object that the readers use as they use a ``pathlib.Path``
(``name``, ``suffix``, ``/``, ``open("rb")``, ``read_bytes()``, ``is_file()``, ``iterdir()``,
``stat()``...), with ranged, block-cached reads underneath; listing a folder or prefix; and
downloading a whole object into a private temporary folder only when the guarded load (or the
h5py fallback) needs a local file. Readers never know whether the bytes are local. Optional
backends (fsspec, s3fs, mlflow) are imported only in ``remote`` and ``registry``, and only when
such a path is given: this module imports nothing heavy.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePath
from typing import Any

from kcompat.sources.errors import RemoteError

__all__ = ["RemoteError", "as_path", "downloaded", "is_local", "is_remote", "scheme", "walk"]

OBJECT_SCHEMES = ("s3", "gs", "gcs", "az", "abfs", "abfss", "http", "https")
REGISTRY_SCHEMES = ("models", "runs")
_URL = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):/")


def scheme(text: str) -> str | None:
    """The URL scheme of ``text`` if kcompat reads it remotely (``s3``, ``https``, ``models``...)."""
    match = _URL.match(text)
    if match is None:
        return None
    name = match.group(1).lower()
    return name if name in OBJECT_SCHEMES + REGISTRY_SCHEMES else None


def is_remote(path: Any) -> bool:
    return not isinstance(path, PurePath) and (hasattr(path, "fs") or scheme(str(path)) is not None)


def is_local(path: Any) -> bool:
    return isinstance(path, PurePath)


def as_path(text: str | os.PathLike) -> Any:
    """A ``pathlib.Path`` for a local path, a ``RemotePath`` for a URL or registry URI."""
    if isinstance(text, PurePath) or hasattr(text, "fs"):
        return text
    found = scheme(str(text))
    if found is None:
        return Path(text)
    if found in REGISTRY_SCHEMES:
        from kcompat.sources.registry import resolve

        return resolve(str(text))
    from kcompat.sources.remote import remote_path

    return remote_path(str(text))


def configure(timeout: float | None = None) -> None:
    """The run's remote settings (``RunConfig.remote_timeout``), before any remote path is made."""
    from kcompat.sources import options

    if timeout:
        options.TIMEOUT_S = float(timeout)


def walk(root: Any) -> Iterator[tuple[Any, list[str], list[str]]]:
    """``os.walk`` for a local folder; the same top-down walk (prune ``dirnames`` in place) for a remote one."""
    if is_local(root):
        for dirpath, dirnames, filenames in os.walk(root):
            yield Path(dirpath), dirnames, filenames
        return
    yield from root.walk()


@contextmanager
def downloaded(path: Any) -> Iterator[Path]:
    """A whole local copy of a remote artifact in a private temporary folder, removed afterwards."""
    from kcompat.sources.remote import private_folder

    folder = private_folder()
    try:
        yield path.download(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
