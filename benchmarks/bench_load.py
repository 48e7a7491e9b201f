"""Wall time of the full guarded-load matrix vs one bare fresh-process ``keras.saving.load_model``.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_load.py [--python PY] [--jobs N] [--repeat R]

Builds one small functional model (Dense 4-8-3, compiled) with the target interpreter, then times,
in the same run: (a) a fresh process that imports keras and loads the file, (b) ``run_matrix`` over
the four strategies default / one-device-cpu / mirrored / multi-worker with every applicable loader,
and (c) the same with the ``keras`` loader only. Prints the ratio (target <= 3x; not asserted).
The parent never imports TF.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kcompat.load import run_matrix

BUILD = """
import sys, keras
keras.utils.set_random_seed(0)
inp = keras.Input((4,), name="x")
m = keras.Model(inp, keras.layers.Dense(3)(keras.layers.Dense(8, activation="relu")(inp)))
m.compile(optimizer="adam", loss="mse")
m.save(sys.argv[1])
"""
BARE = "import sys, keras; keras.saving.load_model(sys.argv[1])"
ALL4 = ["default", "one-device-cpu", "mirrored", "multi-worker"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    default_py = str(Path(__file__).resolve().parents[1] / ".venv" / "bin" / "python")
    ap.add_argument("--python", default=default_py if os.path.exists(default_py) else sys.executable)
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args(argv)
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "small.keras")
        subprocess.run([args.python, "-c", BUILD, path], check=True, capture_output=True)
        for r in range(args.repeat):
            t = time.perf_counter()
            subprocess.run([args.python, "-c", BARE, path], check=True, capture_output=True)
            bare = time.perf_counter() - t
            t = time.perf_counter()
            full = run_matrix(path, "keras-zip", python=args.python, strategies=ALL4, jobs=args.jobs)
            full_s = time.perf_counter() - t
            t = time.perf_counter()
            konly = run_matrix(path, "keras-zip", python=args.python, strategies=ALL4, loaders=["keras"], jobs=args.jobs)
            konly_s = time.perf_counter() - t
            print(f"run {r + 1}: cores={os.cpu_count()} jobs={args.jobs or os.cpu_count()}")
            print(f"  bare fresh-process keras.saving.load_model : {bare:7.2f} s")
            print(f"  full matrix, 4 strategies x all loaders     : {full_s:7.2f} s  ({len(full.attempts)} attempts)  ratio {full_s / bare:.2f}x")
            print(f"  matrix, 4 strategies x keras loader only    : {konly_s:7.2f} s  ({len(konly.attempts)} attempts)  ratio {konly_s / bare:.2f}x")
            for a in full.attempts:
                print(f"    {a.loader:16s} {a.strategy:15s} {a.status:8s} {a.wall_s:6.2f} s  {a.code or ''}")
    print("target: ratio <= 3x (printed, not asserted)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
