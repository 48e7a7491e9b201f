"""Read one recorded release from the shipped knowledge base into an ``Environment``.

The data is kcompat's own (written by tools/build_releases.py and validated by a test), so rows
become models with ``model_construct``: validating ~2,000 classes would cost more than the whole
30 ms budget of loading a release.
"""

from __future__ import annotations

import gzip
import json
from functools import lru_cache
from pathlib import Path

from kcompat.env.model import TRACKED_DISTRIBUTIONS, Device, Environment, KerasClass, LoaderFacts


DATA = Path(__file__).resolve().parent / "data"
# A Keras class is one row of these columns; these snapshot fields hold rows (kcompat/releases/pack.py).
COLUMNS = ("kind", "name", "module", "qualname", "registered_name", "obj_type", "params", "var_kwargs",
           "base_params", "api_names", "framework", "accepted", "slots")
ROW_FIELDS = ("keras_classes", "tf_keras_classes", "keras_ops", "custom_objects")
# These snapshot fields map an op to its attrs; a delta drops or sets entries of the base's mapping.
MAP_FIELDS = ("ops", "ops_required")


class ReleaseError(ValueError):
    """The knowledge base has no such release, or its data cannot be read."""


@lru_cache(maxsize=1)
def index() -> dict:
    try:
        return json.loads((DATA / "index.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReleaseError(f"the release knowledge base is missing or unreadable: {exc}") from exc


def names() -> list[str]:
    return [r["name"] for r in index()["releases"]]


def entry(name: str) -> dict:
    for release in index()["releases"]:
        if release["name"] == name:
            return release
    raise ReleaseError(f"no recorded release {name!r}; see `kcompat targets`")


def _read(file: str) -> dict:
    try:
        return json.loads(gzip.decompress((DATA / file).read_bytes()))
    except (OSError, ValueError, EOFError) as exc:
        raise ReleaseError(f"cannot read {file} of the release knowledge base: {exc}") from exc


@lru_cache(maxsize=1)
def _base() -> dict:
    return _read("base.json.gz")


@lru_cache(maxsize=64)
def record(name: str) -> dict:
    """The compact record of one release: the base itself, or the base with the release's delta applied."""
    entry(name)
    base = _base()
    if name == index()["base"]:
        return base
    diff = _read(f"{name}.delta.json.gz")
    rows = {}
    for field in ROW_FIELDS:
        kept = [base["rows"][field][i] for i in diff["rows"][field]["keep"]]
        rows[field] = sorted(kept + diff["rows"][field]["add"], key=lambda r: (r[0], r[1], r[2] or ""))
    maps = {}
    for field in MAP_FIELDS:
        dropped = set(diff[field]["drop"])
        maps[field] = {k: v for k, v in base[field].items() if k not in dropped} | diff[field]["set"]
    return {"fields": diff["fields"], "rows": rows, **maps}


def _fast(cls, values: dict):
    """What ``model_construct`` does, for a dict that already holds every field (~30x cheaper)."""
    obj = cls.__new__(cls)
    obj.__dict__.update(values)
    return obj


def _classes(rows: list[list]) -> list[KerasClass]:
    out = []
    for row in rows:
        values = dict(zip(COLUMNS, row))
        for key in ("params", "base_params", "api_names"):
            if values[key] is None:
                values[key] = []
        if values["accepted"] is None:
            values["accepted"] = {}
        if values["var_kwargs"] is None:
            values["var_kwargs"] = False
        if values["obj_type"] is None:
            values["obj_type"] = "class"
        out.append(_fast(KerasClass, values))
    return out


BACKENDS = ("tensorflow", "jax", "torch")


def split_key(key: str) -> tuple[str, str | None]:
    """``keras3.15+jax`` -> (``keras3.15``, ``jax``): a recorded release run with another Keras backend."""
    name, _, backend = key.partition("+")
    return name, backend or None


def position(key: str) -> int:
    """Where a release (with or without a backend) sits in the table order of ``kcompat targets``."""
    return names().index(split_key(key)[0])


def environment(key: str) -> Environment:
    """The ``Environment`` of a recorded release, as a live probe of it would give.

    ``NAME+BACKEND`` is that release with Keras running on BACKEND (KERAS_BACKEND), installed there.
    """
    name, backend = split_key(key)
    env = _environment(name)
    if backend is None:
        return env
    if backend not in BACKENDS:
        raise ReleaseError(f"no Keras backend {backend!r}; one of {', '.join(BACKENDS)}")
    available = sorted(set(env.available_backends or ["tensorflow"]) | {backend})
    return env.model_copy(update={"keras_backend": backend, "available_backends": available, "release": key})


def _environment(name: str) -> Environment:
    data = record(name)
    fields = dict(data["fields"])
    fields.update({f: _classes(data["rows"][f]) for f in ROW_FIELDS})
    fields.update({f: dict(data[f]) for f in MAP_FIELDS})
    fields["python_executable"] = f"recorded release {name}"
    fields["source"] = "release"
    fields["release"] = name
    fields["devices"] = [Device.model_construct(**d) for d in fields.get("devices") or []]
    fields["loaders"] = {k: LoaderFacts.model_construct(**v) for k, v in (fields.get("loaders") or {}).items()}
    versions = fields.get("versions") or {}
    fields["versions"] = {k: versions.get(k) for k in TRACKED_DISTRIBUTIONS} | versions  # the probe's order
    return Environment.model_construct(**fields)


def profile(name: str) -> Environment:
    """A former shipped profile (``keras3.15-tf2.21``) or a release name, as its recorded release."""
    release = index().get("aliases", {}).get(name, name)
    return environment(release)


def is_named(value: str) -> bool:
    """Whether ``value`` names a recorded release or a former shipped profile."""
    data = index()
    return value in data.get("aliases", {}) or value in names()
