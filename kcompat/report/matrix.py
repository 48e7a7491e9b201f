"""The release x loader matrix in text (a table per artifact) and as plain data for HTML and SARIF."""

from __future__ import annotations

from typing import Any

from kcompat.model import Matrix, Report

OK, FAIL = "✓", "✗"


def cell_text(cell: dict[str, Any] | None) -> str:
    if cell is None:
        return "-"
    return OK if cell["ok"] else f"{FAIL} {cell['codes'][0]}" if cell["codes"] else FAIL


def render_table(matrix: Matrix) -> list[str]:
    head = ["release", "tensorflow", "keras", "tf_keras", *matrix.loaders]
    rows = [[row.release, row.versions.get("tensorflow") or "-", row.versions.get("keras") or "-",
             row.versions.get("tf_keras") or "-", *(cell_text(row.loaders.get(lo)) for lo in matrix.loaders)]
            for row in matrix.rows]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    return ["  " + "  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip() for r in [head, *rows]]


def render(report: Report) -> str:
    out = []
    for matrix in report.matrix:
        out.append(f"{matrix.path}: {matrix.summary}")
        out.extend(render_table(matrix))
        out.append("")
    return "\n".join(out).rstrip("\n")


def grid(matrix: Matrix) -> dict[str, Any]:
    """What the HTML template draws: header cells and rows of {text, css, title}."""
    rows = []
    for row in matrix.rows:
        cells = []
        for loader in matrix.loaders:
            cell = row.loaders.get(loader)
            css = "st-skipped" if cell is None else "st-ok" if cell["ok"] else "st-error"
            cells.append({"text": cell_text(cell), "css": css, "title": ", ".join(cell["codes"]) if cell else "not applicable"})
        versions = ", ".join(f"{k} {v}" for k, v in row.versions.items() if v)
        rows.append({"release": row.release, "versions": versions, "cells": cells})
    return {"path": matrix.path, "summary": matrix.summary, "loaders": matrix.loaders, "rows": rows}


def sarif_properties(report: Report) -> list[dict[str, Any]]:
    return [{"path": m.path, "summary": m.summary, "loaders": m.loaders,
             "rows": [{"release": r.release, "versions": r.versions,
                       "loaders": {k: {"ok": v["ok"], "codes": v["codes"]} for k, v in r.loaders.items()}}
                      for r in m.rows]} for m in report.matrix]
