"""Add each recorded release's required op attrs (``ops_required``) to the shipped knowledge base.

The probe records ``ops_required`` (per op, the attrs its definition declares without a default) since
PROBE_VERSION 4, so a full ``tools/build_releases.py`` rebuild needs nothing more. This adds them to the
releases recorded before that, without rebuilding every venv: give it one op-registry dump per TensorFlow
version, each made in a virtualenv of that version with ``pip install tensorflow==V`` (and
``tensorflow-text``, imported first, for ``tftext2.21``) from ``TF_GetAllOpList``, as

    {"tensorflow": "2.12.0", "ops": {"XlaCallModule": {"required": [...], "defaulted": [...]}, ...}}

and it writes the shipped records back out (``pack.unpack``), sets ``ops_required`` from the dump of
each release's TensorFlow (``RELEASE.json`` if there is one, else ``VERSION.json``), and packs again.

    python3 tools/add_ops_required.py DUMPS_DIR
"""

from __future__ import annotations

import gzip
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kcompat.releases import store  # noqa: E402
from kcompat.releases.pack import pack, unpack  # noqa: E402


def required(dump: Path) -> dict[str, list[str]]:
    data = json.loads(dump.read_text())
    return {op: facts["required"] for op, facts in sorted(data["ops"].items()) if facts["required"]}


def main(argv: list[str]) -> int:
    dumps = Path(argv[0])
    failed = {f["name"]: f["reason"] for f in store.index().get("failed", [])}
    with tempfile.TemporaryDirectory() as tmp:
        records = Path(tmp)
        unpack(records)
        for path in sorted(records.glob("*.json.gz")):
            with gzip.open(path, "rt", encoding="utf-8") as fh:
                record = json.load(fh)
            name, version = record["release"], record["snapshot"]["versions"].get("tensorflow")
            dump = next((d for d in (dumps / f"{name}.json", dumps / f"{version}.json") if d.exists()), None)
            if dump is None:
                print(f"{name}: no dump for TensorFlow {version}; left without ops_required")
                continue
            ops = record["snapshot"].get("ops") or {}
            record["snapshot"]["ops_required"] = {op: attrs for op, attrs in required(dump).items() if op in ops}
            missing = sorted(set(ops) - set(json.loads(dump.read_text())["ops"]))
            print(f"{name}: {dump.name}, {len(record['snapshot']['ops_required'])} ops with required attrs"
                  + (f"; {len(missing)} recorded ops not in the dump: {missing[:5]}" if missing else ""))
            with gzip.open(path, "wt", encoding="utf-8") as fh:
                json.dump(record, fh)
        pack(records, failed)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
