"""One finding per cause: the default terminal output never repeats a code for the same cause."""

from __future__ import annotations

import json
import re
from collections import defaultdict

from kcompat.config import RunConfig
from kcompat.pipeline.runner import check_paths
from kcompat.report import text
from tests.envbuild import build_env
from tests.helpers import ROOT

FIXTURES = ROOT / "fixtures"
FINDING_LINE = re.compile(r"^  (KC\d{3}) (error|warning|info) ")


def paths():
    for manifest in ("manifest.json", "wild/manifest.json"):
        for entry in json.loads((FIXTURES / manifest).read_text())["entries"]:
            yield str(FIXTURES / entry["path"])


def cause(finding) -> str:
    """A finding's message with its own places taken out: two findings that differ only there are one cause."""
    message = finding.message
    for place in sorted({*(finding.locations or []), finding.location or ""}, key=len, reverse=True):
        if place:
            message = message.replace(place, "<here>")
            message = message.replace(place.rsplit("/", 1)[-1], "<here>")
    return re.sub(r"\d+", "<n>", message)


def test_no_code_is_printed_twice_for_one_cause():
    report = check_paths(list(paths()), RunConfig(), env=build_env({"preset": "keras3.15-tf2.21"}))
    assert len(report.artifacts) >= 300
    out = text.render(report).splitlines()
    printed: dict[str, list[str]] = defaultdict(list)
    heads = {entry.artifact.path: entry for entry in report.artifacts}
    current = None
    for line in out:
        if not line.startswith(" ") and line.split("  ")[0] in heads:
            current = line.split("  ")[0]
        elif current and FINDING_LINE.match(line):
            printed[current].append(FINDING_LINE.match(line).group(1))
    repeated = []
    for path, codes in printed.items():
        for code in set(codes):
            if codes.count(code) > 1:
                causes = [cause(f) for f in heads[path].findings if f.code == code]
                if len(set(causes)) < len(causes):
                    repeated.append((path, code, causes))
    assert not repeated, repeated[:5]


def test_mobilenet_teachable_machine_prints_one_kc302_line():
    model = FIXTURES / "wild" / "0N1cky1__teachable-machine" / "keras_model.h5"
    report = check_paths([str(model)], RunConfig(), env=build_env({"preset": "keras3.15-tf2.21"}))
    out = text.render(report)
    lines = [line for line in out.splitlines() if line.startswith("  KC302 ")]
    assert len(lines) == 1 and "17 DepthwiseConv2D layers" in lines[0]
    kc302 = [f for f in report.findings if f.code == "KC302"]
    assert len(kc302) == 1 and len(kc302[0].locations) == 17  # every location stays in the JSON report
