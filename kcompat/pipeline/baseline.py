"""Baselines: record today's findings so that a gate fails only on new ones (bandit-style).

A finding is matched on stable fields only: its code, its artifact path (relative to the
directory of the baseline file, POSIX) and its fingerprint (code, path and location or key).
Versions, times, messages and the order of findings are never compared, so re-saving a model
with another Keras, or running on another machine, leaves the match intact.

Only artifacts checked in this run are compared: a baseline entry for a file that was not passed
(pre-commit passes only changed files) is neither suppressed nor fixed.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

from kcompat.model import Finding, Report, Severity
from kcompat.config.settings import ConfigError
from kcompat.record import Field, Record

FORMAT_VERSION = 1


class BaselineError(ConfigError):
    """A baseline file that cannot be used: exit 2, one line."""


def relative(path: str, base_dir: Path) -> str:
    """The artifact path relative to the baseline file's directory, POSIX; absolute if elsewhere."""
    absolute = Path(os.path.abspath(path))
    try:
        return Path(os.path.relpath(absolute, base_dir.resolve())).as_posix()
    except ValueError:  # another drive
        return absolute.as_posix()


def entry(finding: Finding, base_dir: Path) -> dict[str, Any]:
    rel = relative(finding.path, base_dir)
    return {"code": finding.code, "name": finding.name, "path": rel,
            "fingerprint": finding.fingerprint, "location": finding.location,
            "severity": finding.severity.value, "message": finding.message}


def match_key(item: dict[str, Any]) -> tuple[str, str, str]:
    return (item["code"], item["path"], item["fingerprint"])


def write_baseline(report: Report, path: Path) -> int:
    base_dir = path.resolve().parent
    items = sorted((entry(f, base_dir) for f in report.findings),
                   key=lambda e: (e["path"], e["code"], e["location"] or "", e["fingerprint"]))
    data = {"kcompat_baseline": FORMAT_VERSION,
            "matched_on": ["code", "path", "fingerprint"],
            "findings": items}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", "utf-8")
    return len(items)


def read_baseline(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise BaselineError(f"{path}: no such baseline file; record one with `kcompat baseline PATH... --baseline {path}`") from None
    except (OSError, ValueError) as exc:
        raise BaselineError(f"{path}: not a kcompat baseline: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("findings"), list):
        raise BaselineError(f"{path}: not a kcompat baseline (no 'findings' list)")
    items = data["findings"]
    for item in items:
        if not isinstance(item, dict) or not all(isinstance(item.get(k), str) for k in ("code", "path", "fingerprint")):
            raise BaselineError(f"{path}: every finding needs string 'code', 'path' and 'fingerprint': {item!r}")
    return items


class BaselineResult(Record):
    file: str
    new: int = 0
    suppressed: int = 0
    fixed: list[dict[str, Any]] = Field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {"file": self.file, "new": self.new, "suppressed": self.suppressed, "fixed": self.fixed}

    def line(self) -> str:
        return (f"baseline {self.file}: {self.new} new finding(s), "
                f"{self.suppressed} suppressed, {len(self.fixed)} fixed")


def apply_baseline(report: Report, path: Path, fail_on: Severity) -> BaselineResult:
    """Drop baselined findings from the report, note what was suppressed and fixed, recompute the exit code.

    Each artifact gets ``notes["baseline"] = {"suppressed": [...], "fixed": [...]}``; the
    report-wide summary is returned (and is what the JSON report should carry at top level).
    """
    base_dir = path.resolve().parent
    known = read_baseline(path)
    result = BaselineResult(file=str(path))
    remaining = Counter(match_key(item) for item in known)
    checked_paths = {relative(a.artifact.path, base_dir) for a in report.artifacts}
    for entry_report in report.artifacts:
        kept, suppressed = [], []
        for finding in entry_report.findings:
            item = entry(finding, base_dir)
            key = match_key(item)
            if remaining[key] > 0:
                remaining[key] -= 1
                suppressed.append(item)
            else:
                kept.append(finding)
        entry_report.findings = kept
        result.suppressed += len(suppressed)
        result.new += len(kept)
        if suppressed:
            entry_report.artifact.notes["baseline"] = {"suppressed": suppressed, "fixed": []}
    # fixed: recorded for an artifact checked in this run, and found fewer times now
    unmatched = Counter({k: n for k, n in remaining.items() if n > 0})
    by_path = {relative(a.artifact.path, base_dir): a for a in report.artifacts}
    for item in known:
        key = match_key(item)
        if item["path"] in checked_paths and unmatched[key] > 0:
            unmatched[key] -= 1
            fixed = {k: item.get(k) for k in ("code", "name", "path", "location", "fingerprint", "message")}
            result.fixed.append(fixed)
            notes = by_path[item["path"]].artifact.notes.setdefault("baseline", {"suppressed": [], "fixed": []})
            notes["fixed"].append(fixed)
    failing = [f for f in report.findings if f.severity.rank >= fail_on.rank]
    report.exit_code = 1 if failing else 0
    return result
