from __future__ import annotations

import json

from kcompat.model import Report, scrub


def render(report: Report) -> str:
    from pydantic_core import PydanticSerializationError

    try:
        return report.model_dump_json(indent=2)
    except PydanticSerializationError:  # a string that slipped past the readers' scrub: the report must still be written
        return scrub(report.model_copy(deep=True)).model_dump_json(indent=2)


def schema() -> str:
    return json.dumps(Report.model_json_schema(), indent=2)
