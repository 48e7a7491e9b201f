"""Static check cost: independent of weight size, and far below a real load.

Prints, measured in this one run:
1. `kcompat check` on a ~1 MB and a >= 1 GB HDF5 model (the big one is written on the fly with
   h5py from a real model's attributes plus one large kernel), and the big/small ratio
   (target: <= 1.3).
2. The median wall time of a fresh-process `kcompat check` on a small .keras, .h5 and SavedModel,
   next to a fresh-process `keras.saving.load_model` (and `saved_model_cli show --all` for the
   SavedModel) on the same files, and the ratio (target: kcompat >= 10x faster).
3. A warm `kcompat check` with the environment snapshot cached, as a share of the same load
   (target: < 10%).

Run with the interpreter that has TensorFlow, e.g. `.venv/bin/python benchmarks/bench_static.py`.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from timing import wall  # noqa: E402 - benchmarks/ is on sys.path when a script runs

import h5py
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROOT = Path(__file__).resolve().parent.parent
SMALL = ROOT / "fixtures" / "keras3.15-tf2.21"


def kcompat(path: Path) -> list[str]:
    # --no-env: this measures reading and rules, not the (cached) environment probe.
    return [sys.executable, "-m", "kcompat", "check", str(path), "--no-report", "-q", "--no-env"]


def keras_load(path: Path) -> list[str]:
    return [sys.executable, "-c", f"import keras; keras.saving.load_model({str(path)!r}, compile=False)"]


def in_process(path: Path, runs: int) -> float:
    from kcompat.config import RunConfig
    from kcompat.pipeline.runner import check_paths

    times = []
    for _ in range(runs):
        start = time.perf_counter()
        check_paths([str(path)], RunConfig())
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def write_model(source: Path, target: Path, kernel: tuple[int, int]) -> None:
    """A Keras-layout HDF5 model: the real model's attributes, and one kernel of the given shape."""
    with h5py.File(source, "r") as src, h5py.File(target, "w") as dst:
        for key, value in src.attrs.items():
            dst.attrs[key] = value
        group = dst.create_group("model_weights/dense/dense")
        data = group.create_dataset("kernel:0", shape=kernel, dtype="float32")
        rows = max(1, (64 * 1024 * 1024) // (kernel[1] * 4))
        block = np.random.default_rng(0).random((rows, kernel[1]), dtype=np.float32)
        for start in range(0, kernel[0], rows):
            stop = min(kernel[0], start + rows)
            data[start:stop] = block[: stop - start]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--big-gb", type=float, default=1.0)
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="kcompat-bench-"))
    try:
        source = SMALL / "seq_compiled.h5"
        small, big = tmp / "small.h5", tmp / "big.h5"
        write_model(source, small, (512, 512))
        side = int((args.big_gb * 1024**3 / 4) ** 0.5) + 1
        write_model(source, big, (side, side))
        t_small, t_big = wall(kcompat(small), args.runs), wall(kcompat(big), args.runs)
        print(f"weight-size independence ({args.runs} runs, median, fresh process):")
        print(f"  small {small.stat().st_size / 1e6:8.1f} MB  {t_small * 1000:8.1f} ms")
        print(f"  big   {big.stat().st_size / 1e6:8.1f} MB  {t_big * 1000:8.1f} ms")
        print(f"  ratio big/small = {t_big / t_small:.2f}  (target <= 1.3)")
        print("\nstatic check vs a real load (median, fresh process):")
        cases = [
            (".keras", SMALL / "seq_compiled.keras", keras_load),
            (".h5", SMALL / "seq_compiled.h5", keras_load),
        ]
        cli = shutil.which("saved_model_cli", path=str(Path(sys.executable).parent))
        saved = SMALL / "seq_compiled_export"
        for label, path, load in cases:
            t_k, t_l = wall(kcompat(path), args.runs), wall(load(path), args.runs)
            print(f"  {label:<12} kcompat {t_k * 1000:8.1f} ms   load_model {t_l * 1000:8.1f} ms   speed-up {t_l / t_k:5.1f}x (target >= 10)")
        print("\nwarm check against the cached environment snapshot (median, fresh process):")
        warm = [sys.executable, "-m", "kcompat", "check", "--no-report", "-q", "--python", sys.executable]
        wall(warm + [str(SMALL / "seq_compiled.keras")], 1)  # fills the cache if it is cold
        for label, path, load in cases:
            t_w, t_l = wall(warm + [str(path)], args.runs), wall(load(path), args.runs)
            print(f"  {label:<12} kcompat+env {t_w * 1000:8.1f} ms   load_model {t_l * 1000:8.1f} ms   "
                  f"share {100 * t_w / t_l:5.1f}% (target < 10%)")
        print("\nin-process check (library call, imports already paid; median):")
        for label, path in ((".keras", SMALL / "seq_compiled.keras"), (".h5", SMALL / "seq_compiled.h5"),
                            ("SavedModel", saved)):
            print(f"  {label:<12} {in_process(path, args.runs) * 1000:8.1f} ms")
        t_k = wall(kcompat(saved), args.runs)
        if cli:
            t_s = wall([cli, "show", "--all", "--dir", str(saved)], args.runs)
            print(f"  {'SavedModel':<12} kcompat {t_k * 1000:8.1f} ms   saved_model_cli {t_s * 1000:8.1f} ms   speed-up {t_s / t_k:5.1f}x (target >= 10)")
        else:
            print("  SavedModel: saved_model_cli not found beside this interpreter; run with the TF venv")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
