"""The fleet page: one self-contained HTML file that sorts and filters thousands of artifacts.

The rows travel as one JSON block inside the page; a small script renders only the rows in view
(a fixed row height and a spacer), so 100,000 rows scroll, sort and filter without freezing the
browser. Every value is set as text, never as markup. The summary (counts per code and per loader
verdict) is rendered by the autoescaped template, which only loops over prepared lists.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from markupsafe import Markup

from kcompat.report.html import TEMPLATES, _env


def rows_json(rows: list[dict[str, Any]]) -> Markup:
    """JSON safe inside <script type="application/json">: no '<', '>' or '&' can end the element."""
    text = json.dumps(rows, ensure_ascii=False, separators=(",", ":"))
    return Markup(text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e"))


def render(summary: Any, title: str = "kcompat fleet") -> str:
    rows = summary.rows or []
    loaders = sorted({name for row in rows for name in row["fails"] + row["loads"]})
    verdicts = [{"loader": name, "loads": summary.verdicts.get(f"{name}: loads", 0),
                 "fails": summary.verdicts.get(f"{name}: fails", 0)} for name in loaders]
    counted = sorted(summary.codes.items(), key=lambda kv: (-kv[1], kv[0]))
    codes = [{"key": key, "code": key.split(" ")[0], "count": n} for key, n in counted]
    script = (TEMPLATES / "fleet.js").read_text("utf-8")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    csp = f"default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-{digest}'"  # offline, and only this script
    targets = [{"release": name, "loads": c["loads"], "breaks": c["breaks"]} for name, c in summary.targets.items()]
    return _env().get_template("fleet.html.j2").render(
        title=title, head=summary.lines()[0], total=len(rows), codes=codes, verdicts=verdicts, loaders=loaders, targets=targets,
        rows=rows_json(rows), css=Markup((TEMPLATES / "fleet.css").read_text("utf-8")), script=Markup(script), csp=csp)
