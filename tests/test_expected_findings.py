"""Every fixture's expected findings (fixtures/expected/*.toml) are what kcompat reports.

Each file covers some rule families for the fixtures it lists; within those families the reported
codes must equal the expected ones, in the reference environment (the shipped keras3.15-tf2.21 profile).
"""

from __future__ import annotations

import re
import sys

import pytest

from kcompat.config import RunConfig
from kcompat.releases.store import profile
from kcompat.pipeline.runner import check_paths
from tests.helpers import ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

FIXTURES = ROOT / "fixtures"
FAMILIES = {"r0.toml": "1", "r1.toml": "235", "r2.toml": "467", "r3.toml": "5"}
CASES = [
    pytest.param(fixture, codes, FAMILIES[name], id=f"{name}:{fixture}")
    for name in FAMILIES
    for fixture, codes in tomllib.loads((FIXTURES / "expected" / name).read_text()).items()
]
ENV = profile("keras3.15-tf2.21")


def test_every_file_is_known():
    assert sorted(p.name for p in (FIXTURES / "expected").glob("*.toml")) == sorted(FAMILIES)


@pytest.mark.parametrize(("fixture", "expected", "families"), CASES)
def test_fixture_reports_expected_codes(fixture, expected, families):
    report = check_paths([str(FIXTURES / fixture)], RunConfig(), env=ENV)
    reported = sorted({f.code for f in report.findings if re.match(rf"KC[{families}]", f.code)})
    assert reported == sorted(expected)
