"""Renderers of one Report model. WRITERS maps an output format to a function (report) -> str."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from kcompat.model import Report
from kcompat.report import github, json_report, jsonl, sarif, text


def render_html(report: Report) -> str:
    from kcompat.report import html  # jinja2 costs ~30 ms at start-up; only HTML output pays it

    return html.render(report)


WRITERS: dict[str, Callable[[Report], str]] = {
    "json": json_report.render,
    "text": text.render,
    "html": render_html,
    "sarif": sarif.render,
    "github": github.render,
    "jsonl": jsonl.render,  # one ArtifactReport per line; with a file, a streaming fleet run (kcompat.cli.fleet)
}


def write(fmt: str, report: Report, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    content = WRITERS[fmt](report)
    path.write_text(content if content.endswith("\n") else content + "\n", "utf-8")
