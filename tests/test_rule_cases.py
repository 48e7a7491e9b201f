"""Every rule's pass/fail cases (rules/*/KC*.cases.toml), run through the real check pipeline."""

from __future__ import annotations

import sys

import pytest

from kcompat.catalog import load_catalog
from kcompat.config import RunConfig
from kcompat.pipeline.runner import check_paths
from tests.casebuild import build

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def load_cases():
    for rule in load_catalog().values():
        if not rule.check:  # guarded-load codes: their cases are the load tests
            continue
        cases_file = rule.source.replace(".md", ".cases.toml")
        for i, case in enumerate(tomllib.loads(open(cases_file).read()).get("case", [])):
            yield pytest.param(rule, case, id=f"{rule.code}-{i}-{case['expect']}")


def environment_for(case):
    if "env" not in case:
        return None
    from tests.envbuild import build_env

    return build_env(case["env"])


@pytest.mark.parametrize(("rule", "case"), list(load_cases()))
def test_rule_case(rule, case, tmp_path):
    path = build(case["artifact"], tmp_path)
    report = check_paths([str(path)], RunConfig(select=[rule.code]), env=environment_for(case))
    codes = [f.code for f in report.findings]
    if case["expect"] == "fail":
        assert rule.code in codes, f"{case['name']}: expected {rule.code}, got {codes}"
        for finding in report.findings:
            assert finding.fix, "every finding says how to fix it"
            if "location" in case:
                assert any(case["location"] in (f.location, *f.locations) for f in report.findings)
            if "message" in case:
                assert any(case["message"] in f.message for f in report.findings)
            if "severity" in case:
                assert {f.severity.value for f in report.findings if f.code == rule.code} == {case["severity"]}
        if "verdict" in case:  # loader -> loads?, where a case pins which loaders its finding breaks
            got = {p["loader"]: p["ok"] for p in report.artifacts[0].verdict}
            assert {loader: got.get(loader) for loader in case["verdict"]} == case["verdict"], case["name"]
    else:
        assert rule.code not in codes, f"{case['name']}: unexpected {rule.code}: {report.findings}"


def load_fix_cases():
    for rule in load_catalog().values():
        if not rule.check:
            continue
        cases_file = rule.source.replace(".md", ".cases.toml")
        for i, case in enumerate(tomllib.loads(open(cases_file).read()).get("fix", [])):
            yield pytest.param(rule, case, id=f"{rule.code}-fix{i}-{case['expect']}")


def test_every_fixer_has_fix_cases_and_only_fixers_do():
    with_cases = {rule.code for rule, _case in (p.values for p in load_fix_cases())}
    with_fixer = {rule.code for rule in load_catalog().values() if rule.fixer}
    assert with_fixer and with_cases == with_fixer


@pytest.mark.parametrize(("rule", "case"), list(load_fix_cases()))
def test_rule_fix_case(rule, case, tmp_path):
    """The fixer repairs a copy (the rule no longer fires on it) or says why not; the input is untouched."""
    import hashlib

    from kcompat.fix.repair import cleanup, plan

    path = build(case["artifact"], tmp_path)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    config = RunConfig(select=[rule.code], jobs=1)
    repair = plan(str(path), config, environment_for(case))
    try:
        result = repair.result
        if case["expect"] == "fixed":
            assert result.status == "fixed", f"{case['name']}: {result}"
            assert any(case["change"] in c["change"] and c["code"] == rule.code for c in result.changes), result.changes
            recheck = check_paths([str(repair.staged)], config, env=environment_for(case))
            assert rule.code not in [f.code for f in recheck.findings]
        else:
            assert result.status in ("not-fixed", "still-fails"), f"{case['name']}: {result}"
            assert any(case["reason"] in item["reason"] for item in result.not_fixed), result.not_fixed
    finally:
        cleanup(repair)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
