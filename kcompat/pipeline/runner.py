"""The check pipeline: paths -> artifacts -> findings -> Report."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from kcompat import __version__
from kcompat.artifacts import discover, read_artifact
from kcompat.artifacts.detect import checkpoint_prefix
from kcompat.config import RunConfig
from kcompat.pipeline.engine import env_missing, run_rules, selected_rules, sort_findings
from kcompat.model import Artifact, ArtifactReport, Format, Problem, Report
from kcompat.pipeline.verdict import predict, tf_keras_view

LOADABLE = {"hdf5-model", "hdf5-weights", "hdf5-weights-v3", "keras-zip", "keras-dir", "saved-model",
            "tf-checkpoint", "json-config"}


def expand(path: Path) -> list[Path | Artifact]:
    """The artifacts a command-line path stands for; a directory with none gets a placeholder."""
    if path.is_dir():
        found = discover(path)
        if not found:
            return [Artifact(path=str(path), format=Format.unknown, problems=[
                Problem(kind="no-artifact", detail=f"no model artifact found under {path}")])]
        return list(found)
    if not path.exists() and checkpoint_prefix(path) is None:
        return [Artifact(path=str(path), format=Format.missing)]
    return [path]


def guarded_load(entry: ArtifactReport, predictions, config: RunConfig, env: Any = None) -> None:
    from kcompat.load import run_matrix
    from kcompat.pipeline.loadcheck import alternative_loaders, disagreements, load_findings

    artifact = entry.artifact
    matrix = run_matrix(artifact.path, artifact.format.value, python=config.python,
                        loaders=config.load.loaders, strategies=config.load.strategies, unsafe=config.load.unsafe,
                        timeout_s=config.load.timeout_s, memory_mb=config.load.memory_mb,
                        custom_objects=config.custom_objects, inputs_npz=config.load.inputs,
                        config_path=config.load.arch)
    entry.loads = [a.model_dump() for a in matrix.attempts]
    entry.load_wall_s = matrix.total_wall_s
    entry.findings += load_findings(artifact, matrix, entry.findings, config, alternative_loaders(env))
    entry.findings += disagreements(artifact, matrix, predictions, config)
    sort_findings(entry.findings)


def check_paths(paths: list[str], config: RunConfig, env: Any = None, env_info: dict | None = None,
                progress: Callable[[str], None] | None = None) -> Report:
    started = time.perf_counter()
    report = Report(tool_version=__version__, started_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    duration_s=0.0, fail_on=config.fail_on, environment=env_info)
    rules = selected_rules(config)
    tf_keras_env = tf_keras_view(env)
    seen: set[str] = set()
    for raw in paths:
        for item in expand(Path(raw)):
            artifact = item if isinstance(item, Artifact) else read_artifact(item)
            if artifact.path in seen:
                continue
            seen.add(artifact.path)
            if progress is not None:
                progress(artifact.path)
            findings, skipped = run_rules(artifact, env, config, rules)
            if skipped:
                artifact.notes["skipped_rules"] = skipped
            tf_keras_findings = run_rules(artifact, tf_keras_env, config, rules)[0] if tf_keras_env else None
            predictions = predict(artifact, findings, tf_keras_findings) if not env_missing(env) else []
            entry = ArtifactReport(artifact=artifact, findings=findings, verdict=[p.model_dump() for p in predictions])
            if config.load.enabled and artifact.format.value in LOADABLE:
                guarded_load(entry, predictions, config, env)
            report.artifacts.append(entry)
    failing = [f for f in report.findings if f.severity.rank >= config.fail_on.rank]
    report.exit_code = 1 if failing else 0
    report.duration_s = round(time.perf_counter() - started, 4)
    return report
