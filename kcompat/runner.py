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
from kcompat.engine import run_rules, selected_rules
from kcompat.model import Artifact, ArtifactReport, Format, Problem, Report


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


def check_paths(paths: list[str], config: RunConfig, env: Any = None, env_info: dict | None = None,
                progress: Callable[[str], None] | None = None) -> Report:
    started = time.perf_counter()
    report = Report(tool_version=__version__, started_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    duration_s=0.0, fail_on=config.fail_on, environment=env_info)
    rules = selected_rules(config)
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
            report.artifacts.append(ArtifactReport(artifact=artifact, findings=findings))
    failing = [f for f in report.findings if f.severity.rank >= config.fail_on.rank]
    report.exit_code = 1 if failing else 0
    report.duration_s = round(time.perf_counter() - started, 4)
    return report
