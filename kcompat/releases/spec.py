"""Target specs: ``keras==3.9.2``, ``tensorflow==2.15.1,keras==3.0.5``, ``keras>=3.6,<3.10``, ``latest``.

A spec resolves to recorded releases. A range matches every release whose versions satisfy it; a
pin (or a combination) that no recorded release satisfies gets the nearest one, with a warning
that names both. A release name (``keras3.3``) or a former profile name (``keras3.3-tf2.16``)
works too. Anything else is a :class:`SpecError` (a usage error).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kcompat.releases import store

DISTS = {"tensorflow": "tensorflow", "tf": "tensorflow", "tensorflow-cpu": "tensorflow", "keras": "keras",
         "tf_keras": "tf_keras", "tf-keras": "tf_keras"}
CLAUSE = re.compile(r"^\s*([A-Za-z_-]*)\s*(==|!=|>=|<=|~=|>|<)\s*([0-9]+(?:\.[0-9]+)*(?:\.\*)?)\s*$")


class SpecError(ValueError):
    """A target spec that does not parse, or that no recorded release can stand for."""


@dataclass(frozen=True)
class Clause:
    dist: str
    op: str
    version: tuple[int, ...]
    wildcard: bool = False

    def __str__(self) -> str:
        return f"{self.dist}{self.op}{'.'.join(map(str, self.version))}{'.*' if self.wildcard else ''}"


@dataclass(frozen=True)
class Target:
    spec: str
    releases: list[str]
    warning: str | None = None


def version_tuple(text: str | None) -> tuple[int, ...] | None:
    if not text:
        return None
    parts = []
    for piece in text.split("."):
        digits = re.match(r"\d+", piece)
        if not digits:
            break
        parts.append(int(digits.group()))
    return tuple(parts) or None


def parse(spec: str) -> list[Clause]:
    clauses: list[Clause] = []
    for raw in spec.split(","):
        match = CLAUSE.match(raw)
        dist = match.group(1).lower() if match else ""
        if match and not dist and clauses:  # keras>=3.6,<3.10: the bound continues the previous name
            dist = clauses[-1].dist
        if not match or dist not in DISTS:
            raise SpecError(f"cannot parse target {spec!r}: expected DIST==VERSION (DIST one of tensorflow, keras, "
                            f"tf_keras), a range such as keras>=3.6,<3.10, a release name, or latest")
        version = match.group(3)
        wildcard = version.endswith(".*")
        clauses.append(Clause(DISTS[dist], match.group(2),
                              version_tuple(version[:-2] if wildcard else version) or (0,), wildcard))
    return clauses


def satisfies(have: tuple[int, ...] | None, clause: Clause) -> bool:
    if have is None:
        return False
    want = clause.version
    head = have[: len(want)] + (0,) * (len(want) - len(have[: len(want)]))
    if clause.wildcard or clause.op == "==" and len(want) < 3:
        cmp = (head > want) - (head < want)  # ==3.9 and ==3.9.* both mean "in the 3.9 line"
    else:
        full = have + (0,) * max(0, len(want) - len(have))
        cmp = (full > want) - (full < want)
    if clause.op == "~=":
        return cmp >= 0 and have[: len(want) - 1] == want[: len(want) - 1]
    return {"==": cmp == 0, "!=": cmp != 0, ">=": cmp >= 0, "<=": cmp <= 0, ">": cmp > 0, "<": cmp < 0}[clause.op]


def _distance(have: tuple[int, ...] | None, want: tuple[int, ...]) -> int:
    if have is None:
        return 10**9
    a, b = (have + (0, 0, 0))[:3], (want + (0, 0, 0))[:3]
    return abs(a[0] - b[0]) * 10**6 + abs(a[1] - b[1]) * 10**3 + min(abs(a[2] - b[2]), 999)


def _primary(release: dict) -> set[str]:
    """The distributions a release stands for: what a user names to mean it."""
    name = release["name"]
    if name.startswith("tf_keras"):
        return {"tf_keras"}
    if name.startswith("keras"):
        return {"keras"}
    if name.startswith("tf2."):
        return {"tensorflow", "keras"}
    return set()


def _rank(release: dict, dists: set[str]) -> tuple:
    """Sort key: releases named by the spec's distributions first, then the newest."""
    versions = release["versions"]
    newest = tuple(version_tuple(versions.get(d)) or (0,) for d in ("keras", "tensorflow", "tf_keras"))
    return (not dists <= _primary(release), len(release["name"]) > 12, tuple(-x for v in newest for x in v))


def describe(release: dict) -> str:
    versions = release["versions"]
    shown = ", ".join(f"{d} {versions[d]}" for d in ("tensorflow", "keras", "tf_keras") if versions.get(d))
    return f"{release['name']} ({shown})"


BACKEND = re.compile(r"^\s*backend\s*=\s*([A-Za-z]+)\s*$")


def resolve(spec: str) -> Target:
    """The recorded releases a spec stands for (the newest match first for a range).

    A ``backend=jax`` (or ``torch``) clause runs Keras on that backend in each of them
    (``keras==3.15.1,backend=jax`` -> ``keras3.15+jax``).
    """
    parts = [(part, BACKEND.match(part)) for part in spec.split(",")]
    clauses = [part for part, backend in parts if not backend]
    backends = [backend.group(1).lower() for _, backend in parts if backend]
    if not backends:
        return _resolve(spec)
    if len(backends) > 1 or backends[0] not in store.BACKENDS or not clauses:
        raise SpecError(f"cannot parse target {spec!r}: backend= takes one of {', '.join(store.BACKENDS)}, after a "
                        "release spec (keras==3.15.1,backend=jax)")
    target = _resolve(",".join(clauses))
    if backends[0] == "tensorflow":
        return Target(spec, target.releases, target.warning)
    return Target(spec, [f"{name}+{backends[0]}" for name in target.releases], target.warning)


def _resolve(spec: str) -> Target:
    text = spec.strip()
    index = store.index()
    releases = index["releases"]
    names = {r["name"]: r for r in releases}
    if text == "latest":
        return Target(spec, [index["base"]])
    if text in names:
        return Target(spec, [text])
    if text in index.get("aliases", {}) and index["aliases"][text] in names:
        return Target(spec, [index["aliases"][text]])
    clauses = parse(text)
    dists = {c.dist for c in clauses}
    matching = [r for r in releases if all(satisfies(version_tuple(r["versions"].get(c.dist)), c) for c in clauses)]
    if matching:
        named = [r for r in matching if dists <= _primary(r)]
        matching = named or matching  # keras>=3.13 means the Keras releases, not tf_keras's or tftext's
        matching.sort(key=lambda r: _rank(r, dists))
        if all(c.op == "==" for c in clauses):
            matching = matching[:1]  # a pin names one environment: the release that stands for it
        return Target(spec, [r["name"] for r in matching])
    if any(c.op not in ("==", "~=") for c in clauses):
        raise SpecError(f"no recorded release matches {text!r}; see `kcompat targets`")
    nearest = min(releases, key=lambda r: (sum(_distance(version_tuple(r["versions"].get(c.dist)), c.version)
                                               for c in clauses), _rank(r, dists)))
    return Target(spec, [nearest["name"]], f"{text} is not recorded; using the nearest release, {describe(nearest)}")
