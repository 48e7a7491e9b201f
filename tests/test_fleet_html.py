"""The fleet page: thousands of rows that a real browser (headless Chromium) filters and sorts."""

from __future__ import annotations

import re
import time

from kcompat.api.fleet import Summary, resumable
from kcompat.config import RunConfig
from kcompat.model import Severity
from kcompat.report.fleet_html import render
from tests.helpers import ROOT, run_cli
from tests.test_report_html import run_chromium

HOSTILE = "evil/</script><img src=x onerror=alert(1)>.keras"


def fleet_lines(tmp_path) -> list[dict]:
    out = tmp_path / "fleet.jsonl"
    proc = run_cli("check", str(ROOT / "fixtures"), "--target", "latest", "--no-report", "-q", "-o", f"jsonl={out}")
    assert proc.returncode == 1, proc.stderr
    return list(resumable(out).values())


def test_the_fleet_page_filters_and_sorts_5000_rows_in_a_browser(tmp_path):
    lines = fleet_lines(tmp_path)
    summary = Summary(fail_on=RunConfig().fail_on, rows=[])
    copies = 5000 // len(lines) + 1
    for n in range(copies):
        for line in lines:
            line = {**line, "artifact": {**line["artifact"], "path": f"copy{n:02d}/{line['artifact']['path']}"}}
            summary.add(line, resumed=False)
    hostile = {**lines[0], "artifact": {**lines[0]["artifact"], "path": HOSTILE}}
    summary.add(hostile, resumed=False)
    total = len(summary.rows)
    assert total >= 5000
    expected = sum(1 for line in lines if any(f["code"] == "KC701" for f in line["findings"])) * copies
    assert expected > 0
    page = tmp_path / "fleet.html"
    page.write_text(render(summary), "utf-8")
    started = time.monotonic()
    dumped = run_chromium(["--virtual-time-budget=3000", "--dump-dom", page.as_uri() + "#q=kc701&sort=worst&desc=1"],
                          tmp_path / "profile")
    took = time.monotonic() - started
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    assert f"{expected} of {total} artifacts" in dumped.stdout
    shown = re.findall(r'<div class="row">(.*?)</div>', dumped.stdout)
    assert 0 < len(shown) < 200, "only the rows in view are in the page"
    assert all('class="sev-error"' in row for row in shown)  # worst first: KC701 is an error
    assert "<img" not in dumped.stdout.replace("&lt;img", "")  # the hostile path is text, never markup
    assert took < 60
    everything = run_chromium(["--virtual-time-budget=3000", "--dump-dom", page.as_uri() + "#q=&sort=path"], tmp_path / "profile")
    assert f"{total} of {total} artifacts" in everything.stdout


def test_a_fleet_run_writes_the_page_with_its_counts(tmp_path):
    page = tmp_path / "fleet.html"
    proc = run_cli("check", str(ROOT / "fixtures" / "keras3.15-tf2.21"), "--no-env", "--no-report", "-q",
                   "-o", f"jsonl={tmp_path / 'f.jsonl'}", "-o", f"html={page}")
    assert proc.returncode == 1, proc.stderr
    lines = list(resumable(tmp_path / "f.jsonl").values())
    text = page.read_text("utf-8")
    assert f"fleet: {len(lines)} artifacts, {len(lines)} checked" in text
    errors = sum(1 for line in lines if any(Severity(f["severity"]) is Severity.error for f in line["findings"]))
    assert f"{errors} with findings at or above error" in text
