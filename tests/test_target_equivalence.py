"""`--target keras==3.3.3`, with no TF or Keras installed, finds what a check inside Keras 3.3.3 finds.

tests/data/probe-keras3.3.json.gz is the probe's own snapshot of a real TF 2.16.2 / Keras 3.3.3
virtualenv (written by tools/build_releases.py before packing). The knowledge base stores that
release as a delta against another release; reading it back must lose nothing the rules use, so
the findings on every fixture are the same, message for message.
"""

from __future__ import annotations

import gzip
import json

from kcompat.config import RunConfig
from kcompat.env.model import Environment
from kcompat.pipeline.runner import check_paths
from tests.helpers import ROOT
from tests.test_config import run_cli

PROBE = ROOT / "tests" / "data" / "probe-keras3.3.json.gz"
FIXTURES = [str(p) for p in sorted((ROOT / "fixtures").iterdir())
            if p.is_dir() and p.name not in ("wild", "observed_releases", "producers", "__pycache__")]


def findings(report) -> list[tuple]:
    return [(f.path, f.code, f.location, f.message) for f in report.findings]


def test_target_gives_the_findings_of_the_real_keras_3_3_environment():
    real = Environment.model_validate(json.loads(gzip.decompress(PROBE.read_bytes())))
    assert real.versions["keras"] == "3.3.3" and real.source == "probe"
    config = RunConfig(jobs=1)
    expected = check_paths(FIXTURES, config, env=real)
    from kcompat.cli.common import target_environment

    env, info = target_environment("keras==3.3.3")
    assert info["release"] == "keras3.3" and env.source == "release"
    got = check_paths(FIXTURES, config, env=env)
    assert len(expected.artifacts) > 100
    assert findings(got) == findings(expected)
    assert [a.verdict for a in got.artifacts] == [a.verdict for a in expected.artifacts]


def test_an_unparseable_target_is_a_usage_error_in_one_line(tmp_path):
    proc = run_cli("check", str(ROOT / "fixtures" / "tf2.15" / "seq_uncompiled.h5"), "--no-report",
                   "--target", "keras=3.9", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("kcompat: error: cannot parse target")


def test_a_missing_version_warns_once_and_names_both(tmp_path):
    proc = run_cli("check", str(ROOT / "fixtures" / "tf2.15" / "seq_uncompiled.h5"), "--no-report",
                   "--target", "keras==3.9.1", cwd=tmp_path)
    assert proc.returncode in (0, 1)
    warnings = [line for line in proc.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "keras==3.9.1" in warnings[0] and "keras3.9" in warnings[0]
    assert "target: recorded release keras3.9 " in proc.stdout
