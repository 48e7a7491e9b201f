"""The HTML report's loader x strategy grid: one cell per guarded-load attempt."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# Canonical order; loaders and strategies not listed here follow in order of appearance.
LOADER_ORDER = ("keras", "keras-nocompile", "tf_keras", "tf_saved_model", "tfsmlayer", "config+weights")
STRATEGY_ORDER = ("default", "one-device-cpu", "one-device-gpu", "mirrored", "multi-worker")
STATUSES = {  # status -> (css class, label, legend text)
    "ok": ("st-ok", "ok", "loaded (and ran)"),
    "error": ("st-error", "error", "raised an exception"),
    "crash": ("st-crash", "crash", "the process died"),
    "timeout": ("st-timeout", "timeout", "ran past its time limit"),
    "oom": ("st-oom", "oom", "ran out of memory"),
    "skipped": ("st-skipped", "skipped", "not applicable here"),
    "refused-unsafe": ("st-refused", "refused", "refused: unsafe content"),
}
UNKNOWN_STATUS = ("st-other", None, "other status")
MESSAGE_CHARS = 90


def ordered(seen: Iterable[str], canonical: tuple[str, ...]) -> list[str]:
    unique = list(dict.fromkeys(seen))
    return [c for c in canonical if c in unique] + [s for s in unique if s not in canonical]


def fmt_seconds(value: Any) -> str:
    if not isinstance(value, (int, float)):
        return ""
    return f"{value:.2f} s" if value < 10 else f"{value:.1f} s"


def fmt_diff(value: Any) -> str:
    if not isinstance(value, (int, float)):
        return ""
    return "Δ 0" if value == 0 else f"Δ {value:.1e}"


def shorten(text: str, limit: int = MESSAGE_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def load_cell(attempt: dict[str, Any]) -> dict[str, Any]:
    status = str(attempt.get("status") or "")
    css, label, _ = STATUSES.get(status, UNKNOWN_STATUS)
    message = str(attempt.get("message") or "")
    return {
        "empty": False,
        "status": status,
        "css": css,
        "label": label or status or "?",
        "time": fmt_seconds(attempt.get("wall_s")),
        "diff": fmt_diff(attempt.get("max_abs_diff")),
        "code": str(attempt.get("code") or ""),
        "message": shorten(message) if message else "",
        "title": message,
    }


EMPTY_CELL = {"empty": True, "css": "st-none", "label": "—", "status": "", "time": "", "diff": "",
              "code": "", "message": "", "title": "not attempted"}


def loads_grid(loads: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Turn guarded-load attempts into a grid: rows = loaders, columns = strategies.

    Each attempt is a dict with at least ``loader``, ``strategy`` and ``status``; ``wall_s``,
    ``max_abs_diff``, ``code`` and ``message`` are shown when present. A later attempt for the
    same (loader, strategy) replaces an earlier one. Returns None when there are no attempts.
    """
    attempts = [a for a in loads if isinstance(a, dict)]
    if not attempts:
        return None
    cells: dict[tuple[str, str], dict[str, Any]] = {}
    for attempt in attempts:
        cells[(str(attempt.get("loader") or "?"), str(attempt.get("strategy") or "?"))] = load_cell(attempt)
    loaders = ordered((k[0] for k in cells), LOADER_ORDER)
    strategies = ordered((k[1] for k in cells), STRATEGY_ORDER)
    counts: dict[str, int] = {}
    for cell in cells.values():
        counts[cell["status"]] = counts.get(cell["status"], 0) + 1
    legend = [{"css": css, "label": label, "text": text, "count": counts.get(status, 0)}
              for status, (css, label, text) in STATUSES.items() if counts.get(status)]
    return {
        "strategies": strategies,
        "rows": [{"loader": loader, "cells": [cells.get((loader, s), EMPTY_CELL) for s in strategies]}
                 for loader in loaders],
        "legend": legend,
        "summary": ", ".join(f"{n} {status or '?'}" for status, n in sorted(counts.items())),
    }
