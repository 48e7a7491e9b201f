"""JSON Lines: one ArtifactReport per line, for fleet runs too large to hold as one Report.

Each line is an ``ArtifactReport`` (the JSON report's ``artifacts[i]``, same schema) plus
``stamp``: what identifies the bytes that were checked (size, mtime, ETag), so that ``--resume``
can skip what has not changed. ``Stream`` appends a line as each artifact finishes and flushes it,
so a run that stops keeps every line written.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kcompat.model import ArtifactReport, Report


def line(entry: ArtifactReport, stamp: dict[str, Any] | None = None, targets: list | None = None) -> str:
    data = entry.model_dump(mode="json")
    data["stamp"] = stamp or {}
    if targets:
        data["targets"] = targets  # with several --target: the artifact's row of `kcompat matrix` per release
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def render(report: Report) -> str:
    """A whole Report as JSON Lines (``-o jsonl=PATH`` on a run that is not a fleet run)."""
    return "\n".join(line(entry) for entry in report.artifacts)


class Stream:
    """Appends one line per artifact as it finishes."""

    def __init__(self, path: Path, append: bool) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.fh = path.open("a" if append else "w", encoding="utf-8")

    def write(self, entry: ArtifactReport, stamp: dict[str, Any] | None, targets: list | None = None) -> None:
        self.fh.write(line(entry, stamp, targets) + "\n")
        self.fh.flush()

    def write_line(self, data: dict[str, Any]) -> None:
        """A line of an earlier run, as it was."""
        self.fh.write(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n")

    def close(self) -> None:
        self.fh.close()


def read(path: Path) -> Iterator[dict[str, Any]]:
    """The lines of an earlier run; a line cut short by a stopped run is skipped."""
    if not path.exists():
        return
    with path.open(encoding="utf-8") as fh:
        for text in fh:
            try:
                data = json.loads(text)
            except ValueError:
                continue
            if isinstance(data, dict) and isinstance(data.get("artifact"), dict):
                yield data
