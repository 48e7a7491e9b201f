"""The CI fuzz round: 300 seeded mutants of the real fixtures plus every hostile entry, in one
`kcompat check`. The run must end with exit 0 or 1, print no traceback and no internal error,
account for every top-level entry, leave every input byte-identical and open no file outside
the corpus. benchmarks/fuzz_campaign.py runs the same with any N and seed."""

from __future__ import annotations

import os

from tests.fuzz.campaign import run_round

MUTANTS = 300
SEED = int(os.environ.get("KCOMPAT_FUZZ_SEED", "16"))


def test_fuzz_round_contains_every_hostile_and_damaged_entry(tmp_path):
    outcome = run_round(tmp_path, MUTANTS, SEED)
    print(outcome.figures())
    assert outcome.hostile >= 30
    assert outcome.entries == MUTANTS + outcome.hostile
    assert outcome.exit_code in (0, 1)
    assert outcome.failures() == {}
    assert outcome.tracer == "audit hook" or outcome.artifacts > 0  # the trace and the report were both read
