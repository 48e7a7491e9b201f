from __future__ import annotations

import json
from pathlib import Path

from kcompat.model import Report


def render(report: Report) -> str:
    return report.model_dump_json(indent=2)


def write(report: Report, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(report) + "\n", "utf-8")


def schema() -> str:
    return json.dumps(Report.model_json_schema(), indent=2)
