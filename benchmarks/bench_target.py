"""`--target` and `kcompat matrix` cost, against baselines measured in this same run.

Prints:
1. loading one recorded release from the knowledge base (in-process, caches cleared each time):
   the median in ms (target: <= 30 ms);
2. a fresh-process `kcompat check X --target keras==3.3.3` next to `kcompat check X` with the local
   environment snapshot already cached, and their ratio (target: <= 1.2);
3. a fresh-process `kcompat matrix X` over every recorded release next to the single check of (2),
   and their ratio (target: <= 3).

Run: `.venv/bin/python benchmarks/bench_target.py [--runs 15]`.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from timing import ENV, wall  # noqa: E402 - benchmarks/ is on sys.path when a script runs

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ARTIFACT = ROOT / "fixtures" / "tf2.15" / "seq_compiled.keras"


def release_load_ms(runs: int) -> tuple[float, str]:
    from kcompat.releases import store

    names = store.names()
    times = []
    for i in range(runs * 2):
        name = names[i % len(names)]
        for fn in (store.index, store._base, store.record):
            fn.cache_clear()
        start = time.perf_counter()
        store.environment(name)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), f"max {max(times):.1f} ms over {len(times)} loads of {len(names)} releases"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args(argv)
    check = [sys.executable, "-m", "kcompat", "check", str(ARTIFACT), "--no-report", "-q", "--isolated"]
    subprocess.run(check, capture_output=True, env=ENV)  # fill the local environment cache first

    median, spread = release_load_ms(args.runs)
    print(f"load one recorded release: {median:.1f} ms median ({spread}); target <= 30 ms")

    local = wall(check, args.runs)
    target = wall(check + ["--target", "keras==3.3.3"], args.runs)
    print(f"check with the cached local environment: {local * 1000:.0f} ms; with --target keras==3.3.3: "
          f"{target * 1000:.0f} ms; ratio {target / local:.2f} (target <= 1.2)")

    matrix = wall([sys.executable, "-m", "kcompat", "matrix", str(ARTIFACT), "--isolated"], args.runs)
    from kcompat.releases import store

    print(f"matrix over all {len(store.names())} recorded releases: {matrix * 1000:.0f} ms; "
          f"ratio to the single check {matrix / local:.2f} (target <= 3)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
