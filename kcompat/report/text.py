"""The terminal summary: one line per finding, grouped per artifact.

``render(report)`` is plain text (it is also the ``-o text=FILE`` writer); colour is added
only when the caller passes ``color=True``, which the CLI does when :func:`use_color` says
the stream is a terminal and ``NO_COLOR`` is unset.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from typing import IO

from kcompat.model import Artifact, ArtifactReport, Report, Severity

RESET = "\x1b[0m"
STYLES = {
    "error": "\x1b[1;31m", "warning": "\x1b[1;33m", "info": "\x1b[1;34m",
    "path": "\x1b[1m", "dim": "\x1b[2m", "code": "\x1b[1m", "ok": "\x1b[1;32m", "fail": "\x1b[1;31m",
}


# C0 and C1 control characters and DEL: an escape sequence from a file name must not reach the terminal.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def shown(text: str) -> str:
    """A string from a file or a file name as the terminal may print it: control characters escaped
    (so no colour, cursor move or new line), and no `::` that a CI log could read as a workflow command."""
    text = CONTROL.sub(lambda m: repr(m.group())[1:-1], text)
    return text.replace("::", "\\x3a:")


def use_color(stream: IO[str] | None, env: dict[str, str] | None = None) -> bool:
    """Colour only on a terminal, with NO_COLOR unset (https://no-color.org) and TERM not 'dumb'."""
    env = os.environ if env is None else env
    if env.get("NO_COLOR") or env.get("TERM") == "dumb":
        return False
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, ValueError):  # closed or fake streams
        return False


class Paint:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, style: str) -> str:
        return f"{STYLES[style]}{text}{RESET}" if self.enabled and text else text


def saved_by(artifact: Artifact) -> str:
    parts = []
    if artifact.keras_version:
        parts.append(f"Keras {artifact.keras_version}")
    tf_version = artifact.tensorflow_version or (artifact.saved_model.tensorflow_version if artifact.saved_model else None)
    if tf_version:
        parts.append(f"TF {tf_version}")
    if artifact.backend:
        parts.append(f"backend {artifact.backend}")
    return ("saved by " + ", ".join(parts)) if parts else ""


def facts(entry: ArtifactReport) -> list[str]:
    artifact = entry.artifact
    lines = []
    if artifact.model_class or artifact.layers:
        lines.append(f"    model: {shown(artifact.model_class or '?')}, {len(artifact.layers)} layers")
    if artifact.weights:
        lines.append(f"    weights: {len(artifact.weights)} tensors")
    if artifact.saved_model:
        sigs = ", ".join(s.key for s in artifact.saved_model.signatures) or "none"
        lines.append(f"    signatures: {shown(sigs)}; ops: {len(artifact.saved_model.ops)}")
    missing = sorted({str(f.evidence.get("op")) for f in entry.findings if f.code == "KC604" and f.evidence.get("op")})
    if missing:
        lines.append(f"    ops missing: {shown(', '.join(missing))}")
    if entry.loads:
        statuses: dict[str, int] = {}
        for attempt in entry.loads:
            status = shown(str(attempt.get("status"))) if isinstance(attempt, dict) else "?"
            statuses[status] = statuses.get(status, 0) + 1
        lines.append("    loads: " + ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())))
    return lines


LINE = 100  # a one-line fix fits this many characters
VERDICT_LINE = 160  # every loader's outcome: a SavedModel's four loaders with their codes take ~110
MESSAGE = 240  # a finding's message by default (-v: whole); the JSON report always has it whole


def clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def verdict_line(entry: ArtifactReport) -> str | None:
    """One line: does it load with the loaders it is meant for, and with which others, and why not."""
    if not entry.verdict:
        return None
    meant = set(entry.intended)
    state = {v["loader"]: "loads" if v["ok"] else f"fails ({v['codes'][0]})" if v["codes"] else "fails"
             for v in entry.verdict}
    if state.get("keras-nocompile") == state.get("keras"):
        state.pop("keras-nocompile", None)  # compile=False is worth a word only when it changes the outcome
    elif "keras-nocompile" in state:
        state["keras (compile=False)"] = state.pop("keras-nocompile")
    parts = [f"{loader}{'*' if loader.split(' ')[0] in meant else ''} {says}"
             for loader, says in sorted(state.items(), key=lambda kv: kv[0].split(" ")[0] not in meant)]
    return clip("verdict: " + ", ".join(parts), VERDICT_LINE)


def one_line_fix(fix: str) -> str:
    first = fix.split("\n", 1)[0].split("; or ", 1)[0].split("; ", 1)[0] if "\n" in fix or "; " in fix else fix
    return clip(first, LINE - 11) + (" (-v: more)" if first != fix else "")


def render(report: Report, verbose: bool = False, quiet: bool = False, color: bool = False) -> str:
    """Per artifact: a head line, a verdict line (* = a loader it is meant for), then its errors and
    warnings, one per cause, each with a one-line fix. -v adds the facts, info findings and whole fixes."""
    paint = Paint(color)
    out: list[str] = []
    hidden = 0
    for entry in report.artifacts:
        a = entry.artifact
        if not quiet:
            head = f"{paint(shown(a.path), 'path')}  {paint('[' + a.format.value + ']', 'dim')}"
            by = shown(saved_by(a))
            out.append(f"{head}  {paint(by, 'dim')}" if by else head)
            line = verdict_line(entry)
            if line:
                out.append(f"  {paint(shown(line), 'dim')}")
            if verbose:
                out.extend(paint(line, "dim") for line in facts(entry))
        for f in entry.findings:
            if f.severity is Severity.info and not verbose and not quiet:
                hidden += 1
                continue
            where = f" at {shown(f.location)}" if f.location else ""
            prefix = f"{shown(a.path)}: " if quiet else "  "
            severity = paint(f.severity.value, f.severity.value)
            message = f.message if verbose or quiet else clip(f.message, MESSAGE)
            out.append(f"{prefix}{paint(f.code, 'code')} {severity} {f.name}{where}: {shown(message)}")
            if f.fix and not quiet:
                if verbose:
                    fix = "\n           ".join(shown(line) for line in f.fix.split("\n"))  # a multi-line fix under its label
                else:
                    fix = shown(one_line_fix(f.fix))
                out.append(f"      {paint('fix:', 'dim')} {fix}")
    if not quiet and report.skipped:
        out.append(skipped_summary(report))
        if verbose:
            out.extend(paint(f"  skipped {shown(s.path)}: {s.reason}", "dim") for s in report.skipped)
    if not quiet:
        counts = {s: sum(f.severity is s for f in report.findings) for s in Severity}
        verdict = paint("FAIL", "fail") if report.exit_code == 1 else paint("ok", "ok")
        shown_info = f"{counts[Severity.info]} info" + (" (-v shows them)" if hidden else "")
        out.append(
            f"{len(report.artifacts)} artifact(s): {counts[Severity.error]} error(s), "
            f"{counts[Severity.warning]} warning(s), {shown_info} "
            f"in {report.duration_s:.2f}s; {verdict} (fail-on {report.fail_on.value})"
        )
    return "\n".join(out)


def skipped_summary(report: Report) -> str:
    """"12 entries skipped: 10 not a model artifact, 2 hidden file" (listed under -v and in the JSON)."""
    reasons = Counter(s.reason for s in report.skipped)
    parts = ", ".join(f"{n} {reason}" for reason, n in reasons.most_common())
    return f"{len(report.skipped)} entr{'y' if len(report.skipped) == 1 else 'ies'} skipped: {parts}"
