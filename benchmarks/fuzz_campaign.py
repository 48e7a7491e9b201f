"""A long fuzz campaign outside CI: N seeded mutants of the real fixtures plus the hostile set.

The CI test (tests/fuzz/test_campaign.py) runs one round of 300 mutants. This runs N in rounds
of --chunk mutants, each round one `kcompat check` over a fresh corpus folder (mutant i of seed S
is the same bytes in any round size), the hostile set in the first round. It prints each round's
figures and the totals: hangs, crashes, tracebacks, internal errors, missing report entries,
inputs modified and files read outside the corpus must all be 0; KC117 reader errors are
contained reader bugs, listed for a fix. Exit 1 if any must-be-zero count is not.

    .venv/bin/python benchmarks/fuzz_campaign.py --n 10000 --seed 16
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fuzz.campaign import Outcome, run_round  # noqa: E402
from tests.fuzz.corpus import describe  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000, help="mutants in all (default 10000)")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--chunk", type=int, default=1000, help="mutants per `kcompat check` (default 1000)")
    parser.add_argument("--artifact-timeout", type=float, default=30)
    parser.add_argument("--keep", metavar="DIR", help="keep each round's corpus, report and trace under DIR")
    args = parser.parse_args(argv)
    started = time.monotonic()
    rounds: list[Outcome] = []
    for start in range(0, args.n, args.chunk):
        size = min(args.chunk, args.n - start)
        work = Path(args.keep) / f"round-{start:06d}" if args.keep else Path(tempfile.mkdtemp(prefix="kcompat-fuzz-"))
        try:
            outcome = run_round(work, size, args.seed, start=start, hostile=(start == 0),
                                artifact_timeout=args.artifact_timeout)
        finally:
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)
        rounds.append(outcome)
        print(f"round {start}-{start + size - 1}: {outcome.figures()}", flush=True)
        for name, offenders in outcome.failures().items():
            print(f"  {name}: {offenders if isinstance(offenders, int) else offenders[:10]}", flush=True)
        for line in outcome.reader_errors[:10]:
            print(f"  KC117 {line}", flush=True)
    wall = time.monotonic() - started
    total = {
        "mutants": sum(r.mutants for r in rounds), "hostile": sum(r.hostile for r in rounds),
        "hangs": sum(len(r.hangs) for r in rounds), "crashes": sum(len(r.crashes) for r in rounds),
        "tracebacks": sum(r.tracebacks for r in rounds), "internal errors": sum(r.internal_errors for r in rounds),
        "missing entries": sum(len(r.missing) for r in rounds), "inputs modified": sum(len(r.modified) for r in rounds),
        "reads outside": sum(len(r.outside_reads) for r in rounds),
        "KC117 reader errors": sum(len(r.reader_errors) for r in rounds),
    }
    check_s = sum(r.wall_s for r in rounds)
    print(f"\ncampaign seed {args.seed}: " + ", ".join(f"{v} {k}" for k, v in total.items()))
    print(f"wall {wall:.0f} s in all, {check_s:.0f} s in `kcompat check` "
          f"({1000 * check_s / max(1, total['mutants'] + total['hostile']):.1f} ms per entry); "
          f"tracer: {rounds[0].tracer if rounds else '-'}")
    if total["KC117 reader errors"]:
        print("reproduce a mutant: tests.fuzz.corpus.build_mutants(dest, 1, seed, start=i); "
              f"e.g. mutant 0 comes from {describe(args.seed, 0)}")
    bad = sum(v for k, v in total.items() if k not in ("mutants", "hostile", "KC117 reader errors"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
