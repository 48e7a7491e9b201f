"""Parent side of the worker's protocol: what a worker leaves in its out dir, and how the runner reads it.

A launch's out dir (``Launch.dir``) holds ``spec.json`` (written by the runner), ``process.log`` (the
process's stdout/stderr) and, per worker ``i``:

* ``events-<i>.jsonl``: JSON lines ``ready``, ``start`` (unit, num_replicas), ``end`` (unit, result) and
  ``done``, each with its time ``t`` (written by ``worker/kcw_helpers.py: Events``);
* ``w<i>/startup.log``: fd 1 and 2 until the first attempt; ``w<i>/<strategy>/<loader>/log.txt`` and
  ``outputs.npz``: one attempt's output and its model outputs;
* multi-worker only: ``launcher.json`` (the two workers' exit codes) and ``worker<i>.log``.
"""

from __future__ import annotations

import json
from pathlib import Path

Unit = tuple[str, str]  # (strategy, loader)


def worker_state(t_launch: float) -> dict:
    """What the runner knows of one worker, updated by :func:`read_events`."""
    return {"ready": False, "current": None, "since": t_launch, "ended": {}, "order": []}


def events_path(out_dir: Path, i: int) -> Path:
    return out_dir / f"events-{i}.jsonl"


def read_events(path: Path, offset: int, st: dict) -> int:
    """Fold the complete lines of an events file past ``offset`` into ``st``; return the new offset."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            chunk = f.read()
    except OSError:
        return offset
    end = chunk.rfind(b"\n") + 1
    for line in chunk[:end].splitlines():
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        kind = ev.get("event")
        unit = tuple(ev["unit"]) if "unit" in ev else None
        if kind == "ready":
            st["ready"] = True
            st["since"] = ev["t"]
        elif kind == "start":
            st["current"] = unit
            st["since"] = ev["t"]
            st.setdefault("replicas", {})[unit] = ev.get("num_replicas")
            if unit not in st["order"]:
                st["order"].append(unit)
        elif kind == "end":
            st["ended"][unit] = ev["result"]
            st["current"] = None
            st["since"] = ev["t"]
        elif kind == "done":
            st["done"] = True
            st["since"] = ev["t"]
    return offset + end


def worker_returncodes(out_dir: Path, n_workers: int, proc_rc: int | None) -> list[int | None]:
    """Each worker's exit code: the process's own, or the multi-worker launcher's record of its two."""
    if n_workers == 1:
        return [proc_rc]
    try:
        info = json.loads((out_dir / "launcher.json").read_text())
        return list(info["workers"])
    except (OSError, ValueError, KeyError):
        return [proc_rc] * n_workers


def attempt_log(out_dir: Path, i: int, unit: Unit | None) -> Path:
    """Worker ``i``'s log of ``unit``, or of its start-up when ``unit`` is None."""
    if unit is None:
        return out_dir / f"w{i}" / "startup.log"
    return out_dir / f"w{i}" / unit[0] / unit[1] / "log.txt"
