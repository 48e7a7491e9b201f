"""GitHub Actions workflow commands: one `::error file=...,title=...::message` line per finding.

GitHub turns these lines, printed on a step's stdout, into annotations on the run and, for files
in the diff, on the pull request. Use `-o github` (stdout) in a workflow step.
Severity maps error -> error, warning -> warning, info -> notice.
https://docs.github.com/en/actions/using-workflows/workflow-commands-for-github-actions
"""

from __future__ import annotations

import os
import re

from kcompat.model import Report

LEVELS = {"error": "error", "warning": "warning", "info": "notice"}


# Control characters other than the line breaks escape_data encodes: ANSI sequences and the like.
CONTROL = re.compile("[\x00-\x09\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def escape_data(text: str) -> str:
    """One line of data: a newline from a file name cannot start a line of its own, so no `::command`."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return CONTROL.sub(lambda m: f"%{ord(m.group()):02X}", text)


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
