"""GitHub Actions workflow commands: one `::error file=...,title=...::message` line per finding.

GitHub turns these lines, printed on a step's stdout, into annotations on the run and, for files
in the diff, on the pull request. Use `-o github` (stdout) in a workflow step.
Severity maps error -> error, warning -> warning, info -> notice.
https://docs.github.com/en/actions/using-workflows/workflow-commands-for-github-actions
"""

from __future__ import annotations

import os

from kcompat.model import Report

LEVELS = {"error": "error", "warning": "warning", "info": "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation_path(path: str) -> str:
    """Paths relative to the working directory (the workspace in Actions), POSIX."""
    if os.path.isabs(path):
        try:
            rel = os.path.relpath(path)
            if not rel.startswith(".."):
                path = rel
        except ValueError:
            pass
    return path.replace(os.sep, "/")


def render(report: Report) -> str:
    lines = []
    for entry in report.artifacts:
        for f in entry.findings:
            message = f.message + (f" (at {f.location})" if f.location else "")
            if f.fix:
                message += f"\nfix: {f.fix}"
            props = f"file={escape_property(annotation_path(f.path))},title={escape_property(f'{f.code} {f.name}')}"
            lines.append(f"::{LEVELS.get(f.severity.value, 'warning')} {props}::{escape_data(message)}")
    return "\n".join(lines)
