"""Rebuild the release knowledge base (kcompat/releases/data/) from real virtualenvs.

Not run in CI. For each venv group below: make one virtualenv (``python3.11 -m venv``), and for each
release of the group install its pins with pip, run kcompat's environment probe there (the same
probe that reads a live interpreter) and keep the snapshot as a record. The venv is removed after
its group unless ``--keep``, so at most one venv exists at a time (a TF venv takes 1-2 GB).
Then ``kcompat/releases/pack.py``'s ``pack`` writes the compact base plus per-release deltas.

    python3 tools/build_releases.py                     # every release, then pack
    python3 tools/build_releases.py --group tf2.16      # one group (repeatable), then pack
    python3 tools/build_releases.py --pack-only         # re-pack the records already built
    python3 tools/build_releases.py --group tf2.16 --keep-shipped   # rebuild one group, keep the rest as shipped
    python3 tools/build_releases.py --find-links DIR    # also install from a local wheelhouse

Records (one gzipped probe snapshot per release) are kept in ``--records``
(default ~/.cache/kcompat-release-records) so a partial rebuild re-packs the rest unchanged.
A release whose install or probe fails is written to the index as failed, with pip's last line.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from kcompat.releases.catalog import GROUPS, Release  # noqa: E402
from kcompat.releases.pack import pack, unpack  # noqa: E402

PROBE_PATH = [ROOT / "kcompat" / "env" / "probe_script"]
CACHE = Path.home() / ".cache"


def run(cmd: list[str], env: dict[str, str] | None = None, timeout: float = 1800) -> subprocess.CompletedProcess:
    print("  $", " ".join(cmd), flush=True)
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)


def last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip() and not ln.startswith("WARNING: Location")]
    return lines[-1][:300] if lines else ""


def install(python: Path, release: Release, find_links: str | None) -> str | None:
    """Install the release's pins; None on success, else pip's last line."""
    if release.uninstall:
        run([str(python), "-m", "pip", "uninstall", "-y", *release.uninstall])
    cmd = [str(python), "-m", "pip", "install", "-q", *release.pins]
    if release.constraints:
        cmd += ["-c", str(ROOT / release.constraints)]
    if find_links:
        cmd += ["--find-links", find_links]
    done = run(cmd)
    return None if done.returncode == 0 else last_line(done.stderr or done.stdout) or f"pip exit {done.returncode}"


def probe(python: Path, release: Release, out: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("TF_USE_LEGACY_KERAS", "KERAS_BACKEND", "PYTHONPATH")}
    env.update({"CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "2", "KERAS_HOME": str(out.parent / "keras-home")})
    env.update(release.env)
    done = run([str(python), str(PROBE_PATH[0]), str(out), *release.probe_args], env=env, timeout=900)
    if done.returncode != 0 or not out.exists():
        raise RuntimeError(last_line(done.stderr) or f"probe exit {done.returncode}")
    return json.loads(out.read_text())


def build_group(name: str, releases: list[Release], args: argparse.Namespace) -> dict[str, str]:
    """Build one venv group; returns {release: failure reason} for the releases that failed."""
    venv = Path(args.venvs) / name
    failed: dict[str, str] = {}
    print(f"[{name}] venv {venv}", flush=True)
    if not venv.exists():
        done = run([args.python, "-m", "venv", str(venv)])
        if done.returncode != 0:
            return {r.name: f"venv: {last_line(done.stderr)}" for r in releases}
    python = venv / "bin" / "python"
    records = Path(args.records)
    records.mkdir(parents=True, exist_ok=True)
    try:
        for release in releases:
            started = time.monotonic()
            reason = install(python, release, args.find_links)
            if reason is None:
                try:
                    snapshot = probe(python, release, records / f"{release.name}.probe.json")
                except (RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:
                    reason = f"probe: {exc}"
            if reason is not None:
                print(f"  FAILED {release.name}: {reason}", flush=True)
                failed[release.name] = reason
                continue
            record = {"release": release.name, "pins": release.pins, "group": name, "snapshot": snapshot}
            with gzip.open(records / f"{release.name}.json.gz", "wt", encoding="utf-8") as fh:
                json.dump(record, fh)
            (records / f"{release.name}.probe.json").unlink(missing_ok=True)
            print(f"  recorded {release.name} in {time.monotonic() - started:.0f} s: {snapshot['versions']}", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(venv, ignore_errors=True)
    return failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--group", action="append", default=[], help="build only these venv groups")
    parser.add_argument("--release", action="append", default=[],
                        help="build only these releases (each installs its full pins into its group's venv)")
    parser.add_argument("--keep", action="store_true", help="keep each virtualenv after probing it")
    parser.add_argument("--pack-only", action="store_true", help="only re-pack the records already built")
    parser.add_argument("--python", default="python3.11", help="interpreter that makes the venvs")
    parser.add_argument("--venvs", default=str(CACHE / "kcompat-release-venvs"))
    parser.add_argument("--records", default=str(CACHE / "kcompat-release-records"))
    parser.add_argument("--find-links", default=None, help="a local wheelhouse for pip")
    parser.add_argument("--keep-shipped", action="store_true",
                        help="first write a record for each shipped release the records folder lacks, from "
                             "kcompat/releases/data, so rebuilding some releases keeps the others as shipped")
    parser.add_argument("--probe", default=None, help="probe folder to run (default: kcompat/env/probe_script)")
    args = parser.parse_args(argv)
    if args.probe:
        PROBE_PATH[0] = Path(args.probe)
    unknown = set(args.group) - set(GROUPS)
    if unknown:
        parser.error(f"unknown group(s) {sorted(unknown)}; known: {sorted(GROUPS)}")
    groups = {g: [r for r in rs if not args.release or r.name in args.release] for g, rs in GROUPS.items()
              if (not args.group or g in args.group)}
    groups = {g: rs for g, rs in groups.items() if rs}
    if args.keep_shipped:
        kept = unpack(Path(args.records))
        print(f"records from the shipped knowledge base: {', '.join(kept) or 'none needed'}")
    failures_file = Path(args.records) / "failed.json"
    failed = json.loads(failures_file.read_text()) if failures_file.exists() else {}
    if not args.pack_only:
        for name, releases in groups.items():
            for release in releases:
                failed.pop(release.name, None)
            failed.update(build_group(name, releases, args))
            failures_file.parent.mkdir(parents=True, exist_ok=True)
            failures_file.write_text(json.dumps(failed, indent=1, sort_keys=True) + "\n")
    written = pack(Path(args.records), failed)
    print(f"packed {len(written)} file(s) into kcompat/releases/data; failed: {sorted(failed) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
