from __future__ import annotations

import json
from kcompat.model import Report


def render(report: Report) -> str:
    return report.model_dump_json(indent=2)


def schema() -> str:
    return json.dumps(Report.model_json_schema(), indent=2)
