"""What `kcompat check` prints after the report: skipped rules, the baseline tally, the first fix."""

from __future__ import annotations

from collections import Counter

from kcompat.catalog import FAMILIES
from kcompat.model import Report, Severity


def skipped_line(report: Report) -> str | None:
    """One line: how many rules were skipped, and why (the most common reason first)."""
    reasons: Counter = Counter()
    codes: set[str] = set()
    for entry in report.artifacts:
        for item in entry.artifact.notes.get("skipped_rules", []) or []:
            reasons[str(item.get("reason"))] += 1
            codes.add(str(item.get("code")))
    if not codes:
        return None
    top = reasons.most_common(1)[0][0]
    more = f" (and {len(reasons) - 1} other reason(s); see the JSON report)" if len(reasons) > 1 else ""
    return f"{len(codes)} rule(s) skipped ({', '.join(sorted(codes))}): {top}{more}"


def first_fix_line(report: Report) -> str | None:
    """The fix of the top error finding, so the user sees the one command to run next."""
    errors = [f for f in report.findings if f.severity is Severity.error and f.fix]
    if not errors:
        return None
    f = errors[0]
    fix = "; ".join(line.strip() for line in f.fix.splitlines() if line.strip())  # one line, even for a code block
    return f"To fix the first error ({f.code} {f.name} in {f.path}): {fix}"


def family_digit(value: str) -> str:
    """'1', '1xx', 'KC1', 'KC1xx', 'versions', 'format' or 'integrity' -> '1'."""
    raw = value.strip().lower()
    compact = raw.removeprefix("kc").removesuffix("xx")
    if compact in FAMILIES:
        return compact
    matches = [digit for digit, title in FAMILIES.items()
               if raw == title or raw in title.replace(",", "").split() or title.startswith(raw)]
    if len(matches) == 1:
        return matches[0]
    names = "; ".join(f"{d} ({t})" for d, t in FAMILIES.items())
    raise ValueError(f"unknown rule family {value!r}; use a digit or a word of its name: {names}")


SAVED_MODEL_MEMBERS = ("saved_model.pb", "saved_model.pbtxt", "keras_metadata.pb", "fingerprint.pb")


def artifact_path(raw: str) -> str:
    """A changed file (as pre-commit passes it) mapped to the artifact it belongs to.

    saved_model.pb(txt), keras_metadata.pb, fingerprint.pb and variables/variables.* of a
    SavedModel stand for the SavedModel directory; anything else (a checkpoint's .index is read
    as its checkpoint by the detector) is passed on unchanged.
    """
    from pathlib import Path

    from kcompat.artifacts.detect import is_saved_model_dir

    path = Path(raw)
    if path.name in SAVED_MODEL_MEMBERS and is_saved_model_dir(path.parent):
        return str(path.parent)
    if path.parent.name == "variables" and path.name.startswith("variables.") and is_saved_model_dir(path.parent.parent):
        return str(path.parent.parent)
    return raw


def artifact_paths(paths: list[str]) -> list[str]:
    mapped: list[str] = []
    for raw in paths:
        path = artifact_path(raw)
        if path not in mapped:
            mapped.append(path)
    return mapped


def closing_lines(report: Report, baseline=None, quiet: bool = False) -> list[str]:
    """Lines printed after the summary: skipped rules, the baseline tally and fixed findings, the first fix."""
    if quiet:
        return []
    lines = []
    skipped = skipped_line(report)
    if skipped:
        lines.append(skipped)
    if baseline is not None:
        lines.append(baseline.line())
        lines.extend(f"  fixed: {item['code']} {item.get('name') or ''} in {item['path']}"
                     + (f" at {item['location']}" if item.get("location") else "") for item in baseline.fixed)
    fix = first_fix_line(report)
    if fix:
        lines.append(fix)
    return lines
