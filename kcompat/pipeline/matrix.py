"""Release x loader: the static verdict of each artifact against many recorded releases.

Each artifact is read once; the rules then run against each release's recorded environment (and
its tf_keras view), exactly as `check --target` would, and the verdict per loader becomes a row.
The summary line groups the rows by release line (TF's bundled Keras 2, Keras 3, tf_keras).
"""

from __future__ import annotations

from typing import Any

from kcompat.artifacts import read_artifact
from kcompat.config import RunConfig
from kcompat.model import Artifact, Matrix, MatrixRow
from kcompat.pipeline.engine import run_rules, selected_rules
from kcompat.pipeline.runner import expand, source_for
from kcompat.pipeline.verdict import LOADERS, judge, tf_keras_view

LINES = (  # release-name prefix, what the summary calls it, the distribution whose version it shows
    ("tf2.", "TF (bundled Keras 2)", "tensorflow"),
    ("keras", "Keras", "keras"),
    ("tf_keras", "tf_keras", "tf_keras"),
)


def line_of(release: str) -> tuple[str, str] | None:
    for prefix, label, dist in LINES:
        if release.startswith(prefix) and "tftext" not in release:
            return label, dist
    return None


def verdict_row(artifact: Artifact, env: Any, name: str, config: RunConfig, rules: list) -> MatrixRow:
    findings, _ = run_rules(artifact, env, config, rules)
    predictions, _ = judge(artifact, findings, env, tf_keras_view(env), config, rules)
    cells = {p.loader: {"ok": p.ok, "codes": p.codes} for p in predictions}
    if not cells and any(f.severity.value == "error" for f in findings):
        # No loader applies (a checkpoint, a weights-only file, a broken copy): every loader fails.
        first = next(f.code for f in findings if f.severity.value == "error")
        cells = {"keras": {"ok": False, "codes": [first]}}
    return MatrixRow(release=name, versions={k: env.versions.get(k) for k in ("tensorflow", "keras", "tf_keras")},
                     loaders=cells)


def _loads(row: MatrixRow) -> tuple[bool, bool, list[str]]:
    """(loads with its main loader, loads only without compile, the first failing code)."""
    cells = row.loaders
    main = cells.get("tf_keras") if row.release.startswith("tf_keras") else cells.get("keras")
    if main is None:
        main = cells.get("tf_saved_model") or next(iter(cells.values()), None)
    if main is None:
        return False, False, []
    if main["ok"]:
        return True, False, []
    nocompile = cells.get("keras-nocompile")
    if not row.release.startswith("tf_keras") and nocompile and nocompile["ok"]:
        return True, True, []
    return False, False, list(main["codes"][:1])


def _spans(items: list[tuple[str, bool]]) -> list[list[str]]:
    """Runs of consecutive versions with the same outcome: [[first, ..., last], ...] for outcome True."""
    runs: list[list[str]] = []
    previous = None
    for version, ok in items:
        if ok and previous:
            runs[-1].append(version)
        elif ok:
            runs.append([version])
        previous = ok
    return runs


def _text(runs: list[list[str]]) -> str:
    return ", ".join(run[0] if len(run) == 1 else f"{run[0]} to {run[-1]}" for run in runs)


def summary(rows: list[MatrixRow]) -> str:
    """One line: "loads with Keras 3.0.5 to 3.15.1 (compile=False); not with tf_keras 2.16.0 to 2.21.0 because KC302"."""
    lines: dict[str, list[tuple[str, bool, bool, list[str]]]] = {}
    for row in rows:
        line = line_of(row.release)
        if line is None:
            continue
        label, dist = line
        ok, nocompile, codes = _loads(row)
        lines.setdefault(label, []).append((row.versions.get(dist) or row.release, ok, nocompile, codes))
    good, bad = [], []
    for label, items in lines.items():
        loads = _spans([(v, ok) for v, ok, _, _ in items])
        if loads:
            nocompile = [n for _, ok, n, _ in items if ok]
            note = " (compile=False)" if all(nocompile) else " (some only with compile=False)" if any(nocompile) else ""
            good.append(f"{label} {_text(loads)}{note}")
        fails = _spans([(v, not ok) for v, ok, _, _ in items])
        if fails:
            codes = list(dict.fromkeys(c for _, ok, _, cs in items if not ok for c in cs))
            bad.append(f"{label} {_text(fails)}" + (f" because {', '.join(codes[:3])}" if codes else ""))
    out = f"loads with {'; '.join(good)}" if good else "loads with no recorded release"
    return out + (f"; not with {'; '.join(bad)}" if bad else "")


def build_matrix(paths: list[str], releases: list[tuple[str, Any]], config: RunConfig) -> list[Matrix]:
    """One Matrix per artifact under ``paths``; ``releases`` is [(name, Environment)] in table order."""
    rules = selected_rules(config)
    out = []
    for raw in paths:
        source = source_for(raw)  # a local path, or a URL read in place (kcompat.sources)
        for item in [source] if isinstance(source, Artifact) else expand(source):
            artifact = item if isinstance(item, Artifact) else read_artifact(item)
            rows = [verdict_row(artifact, env, name, config, rules) for name, env in releases]
            seen = {loader for row in rows for loader in row.loaders}
            loaders = [loader for loader in LOADERS if loader in seen]
            out.append(Matrix(path=artifact.path, summary=summary(rows), loaders=loaders, rows=rows))
    return out
