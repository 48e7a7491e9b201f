"""Speed on files from the wild: a batch of real-world artifacts, one old file, and --jobs.

Prints, measured side by side in this one run:
1. one `kcompat check` of a whole folder (default fixtures/wild), static, with a warm environment
   cache: artifacts/s, and the ratio to one fresh `keras.saving.load_model` of a small .keras
   (target: <= 0.4, i.e. >= 50 artifacts/s on 60+ artifacts);
2. the share of the folder's HDF5 files (and .keras weights) read without h5py (target >= 95%),
   with each file that fell back and why;
3. a fresh single-file check of the oldest Keras 2 HDF5 model in the folder that keras or tf_keras
   loads, next to a fresh load_model of the same file (target: >= 10x faster);
4. `--jobs 2` against `--jobs 1` on 200 fixture artifacts (target <= 0.65), timed in interleaved
   pairs; what a perfect split would give, from the time of a one-artifact check; and whether the two
   reports are byte-identical apart from timings.

Run with the interpreter that has TensorFlow: `.venv/bin/python benchmarks/bench_wild.py [FOLDER]`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from timing import ENV, wall  # noqa: E402 - benchmarks/ is on sys.path when a script runs

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SMALL = ROOT / "fixtures" / "keras3.15-tf2.21" / "seq_compiled.keras"
TIMINGS = {"duration_s", "started_at", "load_wall_s", "wall_s"}


def check(*args: str) -> list[str]:
    return [sys.executable, "-m", "kcompat", "check", *args, "-q", "--python", sys.executable]


def load(path: Path, module: str = "keras") -> list[str]:
    call = {"keras": "keras.saving.load_model", "tf_keras": "tf_keras.models.load_model"}[module]
    return [sys.executable, "-c", f"import {module}; {call}({str(path)!r}, compile=False)"]


def loads(path: Path) -> str | None:
    for module in ("keras", "tf_keras"):
        if subprocess.run(load(path, module), capture_output=True, env=ENV).returncode == 0:
            return module
    return None


def report(args: list[str], out: Path) -> dict:
    subprocess.run(check(*args, "--json", str(out)), capture_output=True, env=ENV)
    return json.loads(out.read_text())


def without_timings(value):
    if isinstance(value, dict):
        return {k: without_timings(v) for k, v in value.items() if k not in TIMINGS}
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    return value


def hdf5_share(data: dict) -> None:
    hdf5 = [a["artifact"] for a in data["artifacts"]
            if a["artifact"]["format"].startswith("hdf5") or a["artifact"].get("weights") and a["artifact"]["format"].startswith("keras")]
    refused = [a for a in hdf5 if any(p["kind"] == "hdf5-corrupt" for p in a["problems"])]
    slow = [a for a in hdf5 if "hdf5_reader" in a["notes"] and a not in refused]
    readable = len(hdf5) - len(refused)
    print(f"  HDF5 read without h5py: {readable - len(slow)} of {readable} ({100 * (readable - len(slow)) / max(readable, 1):.1f}%, target >= 95%)"
          f"; {len(refused)} that h5py cannot read either")
    for a in slow:
        print(f"    fell back: {a['path']}: {a['notes']['hdf5_reader']}")


# A fixed pure-Python workload (~0.2 s): timed alone and as two processes at once, it says whether this
# shared machine had two free cores while the pairs ran (1.0: it did; 2.0: the two shared one core).
SPIN = [sys.executable, "-c", "d = {}\nfor i in range(1_500_000): d[i % 1000] = i * i % 7"]


def two_at_once(runs: int) -> float:
    """Median over ``runs`` of (wall of two SPIN processes started together) / (wall of one alone)."""
    ratios = []
    for _ in range(runs):
        alone = wall(SPIN, 1)
        start = time.perf_counter()
        procs = [subprocess.Popen(SPIN) for _ in range(2)]
        for proc in procs:
            proc.wait()
        ratios.append((time.perf_counter() - start) / alone)
    return statistics.median(ratios)


def jobs_ratio(pairs: int, runs: int, tmp: Path) -> None:
    from kcompat.artifacts import discover

    found = [p for p in discover(ROOT / "fixtures") if "wild" not in Path(p).parts]
    paths = [str(p) for p in found[:200]]
    print(f"\n--jobs 2 against --jobs 1 on {len(paths)} fixture artifacts ({pairs} interleaved pairs, warm environment cache):")
    # One --jobs 1 run, then one --jobs 2 run, and again: this machine's speed drifts over minutes, so a
    # block of one kind then a block of the other compares two machines; each pair compares like with like.
    t1s, t2s = [], []
    before = two_at_once(runs)
    for _ in range(pairs):
        t1s.append(wall(check(*paths, "--no-report", "--jobs", "1"), 1))
        t2s.append(wall(check(*paths, "--no-report", "--jobs", "2"), 1))
    after = two_at_once(runs)
    ratio = statistics.median(b / a for a, b in zip(t1s, t2s))
    t1, t2 = statistics.median(t1s), statistics.median(t2s)
    print(f"  --jobs 1 {t1:7.2f} s   --jobs 2 {t2:7.2f} s   ratio {ratio:.3f} (median of the pairs' ratios; "
          f"target <= 0.65; {os.cpu_count()} cores)")
    # What no number of processes shortens: starting up (interpreter, imports, environment, rule catalog)
    # and the report, measured as a check of one artifact. Split perfectly, the rest halves.
    t_one = wall(check(paths[0], "--no-report", "--jobs", "1"), runs)
    print(f"  a check of one artifact: {t_one:.2f} s, so a perfect split of the rest would give "
          f"{(t_one + (t1 - t_one) / 2) / t1:.3f}")
    print(f"  two reference processes at once took {before:.2f}x one alone before the pairs, {after:.2f}x after "
          f"(1.00: two free cores)")
    one, two = (without_timings(report([*paths, "--jobs", str(j)], tmp / f"jobs{j}.json")) for j in (1, 2))
    print(f"  reports identical apart from timings: {one == two}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default=str(ROOT / "fixtures" / "wild"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pairs", type=int, default=15, help="--jobs 1 / --jobs 2 pairs to time (default 15)")
    parser.add_argument("--no-jobs", action="store_true", help="skip the --jobs comparison")
    args = parser.parse_args(argv)
    folder = Path(args.folder)
    with tempfile.TemporaryDirectory(prefix="kcompat-bench-") as tmp_name:
        tmp = Path(tmp_name)
        data = report([str(folder)], tmp / "wild.json")  # also fills the environment cache
        n = len(data["artifacts"])
        t_batch = wall(check(str(folder), "--no-report"), args.runs)
        t_load = wall(load(SMALL), args.runs)
        print(f"batch: one static `kcompat check` of {folder} (median of {args.runs}, fresh process, warm environment cache)")
        print(f"  {n} artifacts in {t_batch:.2f} s: {n / t_batch:.1f} artifacts/s (target >= 50)")
        print(f"  one fresh load_model of {SMALL.name}: {t_load:.2f} s; batch / load = {t_batch / t_load:.2f} (target <= 0.4)")
        hdf5_share(data)
        old = [a["artifact"] for a in data["artifacts"]  # Keras 2.0-2.2 files: written under h5py 2
               if a["artifact"]["format"] == "hdf5-model" and (a["artifact"].get("keras_version") or "").startswith("2.")]
        old.sort(key=lambda a: [int(x) if x.isdigit() else 0 for x in (a.get("keras_version") or "9").split(".")[:3]])
        for artifact in old:
            module = loads(Path(artifact["path"]))
            if module is None:
                continue
            path = Path(artifact["path"])
            t_one = wall([sys.executable, "-m", "kcompat", "check", str(path), "--no-report", "-q", "--no-env"], args.runs)
            t_old = wall(load(path, module), args.runs)
            print(f"\nsingle old file (Keras {artifact.get('keras_version')}): {path.relative_to(folder) if path.is_relative_to(folder) else path}")
            print(f"  fresh check {t_one * 1000:.0f} ms   fresh {module} load_model {t_old * 1000:.0f} ms   speed-up {t_old / t_one:.1f}x (target >= 10)")
            break
        else:
            print("\nsingle old file: no Keras 2 HDF5 model in the folder that keras or tf_keras loads")
        if not args.no_jobs:
            jobs_ratio(args.pairs, args.runs, tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
