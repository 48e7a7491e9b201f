"""Environment cache: a warm `get_environment()` against a cold probe, measured in this one run.

A probe imports TensorFlow and Keras in a subprocess (seconds); a cache hit reads one JSON file
after a fingerprint of the interpreter (milliseconds). Prints both medians and the ratio
(target: a hit costs under 2% of a probe). The cache lives in a temporary folder.

    .venv/bin/python benchmarks/bench_env_cache.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kcompat.env import get_environment  # noqa: E402


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    os.environ["KCOMPAT_CACHE_DIR"] = tempfile.mkdtemp(prefix="kcompat-bench-cache-")
    cold = [timed(lambda: get_environment(refresh=True)) for _ in range(max(1, args.runs // 2))]
    warm = []
    for _ in range(args.runs):
        env = None

        def hit():
            nonlocal env
            env = get_environment()

        warm.append(timed(hit))
        assert env is not None and env.from_cache, "a warm call missed the cache: its key drifted"
    c, w = statistics.median(cold), statistics.median(warm)
    print(f"cold probe: median {c:.2f} s over {len(cold)}; cache hit: median {1000 * w:.1f} ms over {len(warm)}")
    print(f"hit / probe = {w / c:.4f} (target < 0.02)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
