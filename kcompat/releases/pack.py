"""Pack probe records into the shipped knowledge base: one compact base plus per-release deltas.

A record is one release's probe snapshot (what ``kcompat env --json`` shows for a live interpreter).
The compact form stores each Keras class as a row (a list in ``COLUMNS`` order) instead of a dict,
and a release other than the base as a delta against the base: the base rows it keeps (by index),
the rows it adds, the entries of each op mapping (``MAP_FIELDS``) it drops or sets, and its scalar
fields whole. Every file is gzipped.
Used by tools/build_releases.py at build time; ``store`` reads what this writes.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from kcompat.releases import store
from kcompat.releases.store import COLUMNS, DATA, MAP_FIELDS, ROW_FIELDS

FORMAT = 2  # 2: ops_required is delta-encoded like ops
BASE = "keras3.15"  # the reference stack: the release the others differ least from, on average
DROPPED = ("probe_seconds", "fingerprint", "source", "cache_path", "python_executable")


def to_row(entry: dict) -> list:
    return [entry.get(c) for c in COLUMNS]


def compact(snapshot: dict) -> dict:
    fields = {k: v for k, v in snapshot.items() if k not in ROW_FIELDS + MAP_FIELDS + DROPPED}
    rows = {f: [to_row(e) for e in snapshot.get(f) or []] for f in ROW_FIELDS}
    return {"fields": fields, "rows": rows, **{f: dict(snapshot.get(f) or {}) for f in MAP_FIELDS}}


def _key(row: list) -> str:
    return json.dumps(row, separators=(",", ":"))


def delta(base: dict, other: dict) -> dict:
    rows = {}
    for name in ROW_FIELDS:
        index = {_key(r): i for i, r in enumerate(base["rows"][name])}
        keep, add = [], []
        for row in other["rows"][name]:
            i = index.get(_key(row))
            (keep.append(i) if i is not None else add.append(row))
        rows[name] = {"keep": sorted(keep), "add": add}
    maps = {f: {"drop": sorted(set(base[f]) - set(other[f])),
                "set": {k: v for k, v in sorted(other[f].items()) if base[f].get(k) != v}} for f in MAP_FIELDS}
    return {"fields": other["fields"], "rows": rows, **maps}


def _version(text: str | None) -> tuple[int, ...]:
    return tuple(int(p) for p in (text or "0").split(".") if p.isdigit())


def _order(entry: dict) -> tuple:
    """Table order: TF with its bundled Keras 2, then Keras 3, then tf_keras, then the rest; by version."""
    name, v = entry["name"], entry["versions"]
    for rank, prefix, dist in ((0, "tf2.", "tensorflow"), (1, "keras", "keras"), (2, "tf_keras", "tf_keras")):
        if name.startswith(prefix):
            return rank, _version(v.get(dist)), name
    return 3, _version(v.get("tensorflow")), name


def _write(path: Path, data: dict) -> None:
    raw = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    path.write_bytes(gzip.compress(raw, 9, mtime=0))


def pack(records: Path, failed: dict[str, str], out: Path = DATA) -> list[Path]:
    """Write base.json.gz, one <release>.delta.json.gz per other release, and index.json."""
    from kcompat.releases.catalog import GROUPS, PROFILE_NAMES  # build time only

    built = {}
    for group, releases in GROUPS.items():
        for release in releases:
            path = records / f"{release.name}.json.gz"
            if path.exists() and release.name not in failed:
                with gzip.open(path, "rt", encoding="utf-8") as fh:
                    built[release.name] = (group, json.load(fh))
    if BASE not in built:
        raise SystemExit(f"the base release {BASE} has no record in {records}")
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.json.gz"):  # only once there is something to write in their place
        old.unlink()
    base = compact(built[BASE][1]["snapshot"])
    written = [out / "base.json.gz"]
    _write(written[0], base)
    entries = []
    for name, (group, record) in built.items():
        snap = record["snapshot"]
        if name != BASE:
            written.append(out / f"{name}.delta.json.gz")
            _write(written[-1], delta(base, compact(snap)))
        entries.append({"name": name, "group": group, "pins": record["pins"], "versions": snap["versions"],
                        "tf_use_legacy_keras": snap.get("tf_use_legacy_keras", False)})
    entries.sort(key=_order)
    pins = {r.name: r.pins for rs in GROUPS.values() for r in rs}
    aliases = {k: v for k, v in PROFILE_NAMES.items() if v in built}
    index = {"format": FORMAT, "base": BASE, "releases": entries, "aliases": aliases,
             "failed": [{"name": n, "pins": pins.get(n, []), "reason": r} for n, r in sorted(failed.items())]}
    (out / "index.json").write_text(json.dumps(index, indent=1) + "\n")
    written.append(out / "index.json")
    return written


def unpack(records: Path) -> list[str]:
    """Write a record for each shipped release that ``records`` lacks, from the shipped files.

    ``compact`` keeps every field it does not drop, so the record it gives back packs to the same
    bytes: a rebuild of some releases can keep the others without their original records.
    """
    records.mkdir(parents=True, exist_ok=True)
    written = []
    for entry in store.index()["releases"]:
        path = records / f"{entry['name']}.json.gz"
        if path.exists():
            continue
        packed = store.record(entry["name"])
        snapshot = dict(packed["fields"])
        snapshot.update({f: [dict(zip(COLUMNS, row)) for row in packed["rows"][f]] for f in ROW_FIELDS})
        snapshot.update({f: packed[f] for f in MAP_FIELDS})
        snapshot["versions"] = entry["versions"]  # the probe's order, which the sorted gzip lost
        record = {"release": entry["name"], "pins": entry["pins"], "group": entry["group"], "snapshot": snapshot}
        with gzip.open(path, "wt", encoding="utf-8") as fh:
            json.dump(record, fh)
        written.append(entry["name"])
    return written
