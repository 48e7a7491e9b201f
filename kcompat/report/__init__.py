"""Renderers of one Report model. WRITERS maps an output format to a function (report) -> str."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kcompat.model import Report
from kcompat.report import github, html, json_report, sarif, text

WRITERS: dict[str, Callable[[Report], str]] = {
    "json": json_report.render,
    "text": text.render,
    "html": html.render,
    "sarif": sarif.render,
    "github": github.render,
}


def write(fmt: str, report: Report, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    content = WRITERS[fmt](report)
    path.write_text(content if content.endswith("\n") else content + "\n", "utf-8")
