"""The check pipeline: paths -> artifacts -> findings -> Report."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from kcompat import __version__
from kcompat.artifacts import discover, read_artifact
from kcompat.artifacts.detect import checkpoint_prefix
from kcompat.catalog import load_catalog
from kcompat.config import RunConfig
from kcompat.pipeline.contain import ArtifactTimeout, budget, cause
from kcompat.pipeline.parallel import check_all, default_jobs
from kcompat.pipeline.engine import env_missing, run_rules, selected_rules, sort_findings
from kcompat.model import Artifact, ArtifactReport, Format, Problem, Report, Skipped, safe_text, scrub
from kcompat.pipeline.intent import apply_intent, intended
from kcompat.pipeline.verdict import judge, tf_keras_view
from kcompat.sources import RemoteError, as_path, configure, downloaded, is_local, is_remote

LOADABLE = {"hdf5-model", "hdf5-weights", "hdf5-weights-v3", "keras-zip", "keras-dir", "saved-model",
            "tf-checkpoint", "json-config"}


def expand(path: Path, skipped: list[tuple[Path, str]] | None = None) -> list[Path | Artifact]:
    """The artifacts a command-line path stands for; a directory with none gets a placeholder.

    What a directory holds besides artifacts is appended to ``skipped`` with the reason. ``path``
    may be a remote path (``kcompat.sources``); if its source cannot be reached, its placeholder
    says why.
    """
    try:
        return expand_path(path, skipped)
    except RemoteError:
        return [path]  # read_artifact meets the same failure and makes it the artifact's finding


def source_for(raw: str) -> Any:
    """The path object for a command-line path or URL; a URL whose backend cannot be had (not
    installed, a registry that cannot resolve it) is an unreachable artifact that says why."""
    try:
        return as_path(raw)
    except RemoteError as exc:
        return scrub(Artifact(path=raw, format=Format.unreachable, problems=[Problem(kind="remote-error", detail=exc.cause)],
                              notes={"remote_fix": exc.fix}))


def expand_path(path: Path, skipped: list[tuple[Path, str]] | None = None) -> list[Path | Artifact]:
    if path.is_dir():
        found = discover(path, skipped)
        if not found:
            return [Artifact(path=str(path), format=Format.unknown, problems=[
                Problem(kind="no-artifact", detail=f"no model artifact found under {path}")])]
        return [p if is_local(p) else p.fresh() for p in found]  # each remote artifact meters its own reads
    if not path.exists() and checkpoint_prefix(path) is None:
        return [Artifact(path=str(path), format=Format.missing)]
    return [path]


def guarded_load(entry: ArtifactReport, predictions, config: RunConfig, env: Any = None, path: str | None = None) -> None:
    from kcompat.load import run_matrix
    from kcompat.pipeline.loadcheck import alternative_loaders, disagreements, load_findings

    artifact = entry.artifact
    if path is not None and artifact.source is not None and is_remote(path):  # the load needs the whole object: only now
        remote = as_path(path)
        try:
            with downloaded(remote) as local:
                guarded_load(entry, predictions, config, env, path=str(local))
        finally:
            artifact.source.downloaded = True
            artifact.source.bytes_fetched += remote.meter.bytes
            artifact.source.requests += remote.meter.requests
        return
    # A target that runs Keras on JAX distributes with keras.distribution, not tf.distribute.
    if env is not None and env.keras_backend == "jax" and artifact.format.value in ("keras-zip", "keras-dir",
                                                                                   "hdf5-model"):
        from kcompat.load.jax_load import run_target_backend

        matrix = run_target_backend(path or artifact.path, artifact.format.value, config)
    else:
        matrix = run_matrix(path or artifact.path, artifact.format.value, python=config.python,
                            loaders=config.load.loaders, strategies=config.load.strategies, unsafe=config.load.unsafe,
                            timeout_s=config.load.timeout_s, memory_mb=config.load.memory_mb,
                            custom_objects=config.custom_objects, inputs_npz=config.load.inputs,
                            config_path=config.load.arch)
    entry.loads = [a.model_dump() for a in matrix.attempts]
    entry.load_wall_s = matrix.total_wall_s
    entry.findings += load_findings(artifact, matrix, entry.findings, config, alternative_loaders(env), entry.intended)
    entry.findings += disagreements(artifact, matrix, predictions, config)
    sort_findings(entry.findings, artifact)


def check_paths(paths: list[str], config: RunConfig, env: Any = None, env_info: dict | None = None,
                progress: Callable[[str], None] | None = None) -> Report:
    started = time.perf_counter()
    report = Report(tool_version=__version__, started_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    duration_s=0.0, fail_on=config.fail_on, environment=env_info)
    rules = selected_rules(config)
    for rule in rules:  # import the check modules now: an import is not the first artifact's to pay for
        rule.function()
    tf_keras_env = tf_keras_view(env)
    configure(timeout=config.remote_timeout)
    seen: set[str] = set()
    items: list[Path | Artifact] = []
    for raw in paths:
        skipped: list[tuple[Path, str]] = []
        source = source_for(raw)
        items += [source] if isinstance(source, Artifact) else expand(source, skipped)
        report.skipped += [Skipped(path=safe_text(str(path)), reason=reason) for path, reason in skipped]
    jobs = getattr(config, "jobs", None) or (1 if config.load.enabled else default_jobs())  # loads run their own processes
    for entry in check_all(items, jobs, check_one, config, env, rules, tf_keras_env, progress):
        if entry.artifact.path not in seen:
            seen.add(entry.artifact.path)
            report.artifacts.append(entry)
    scrub(report.environment)
    failing = [f for f in report.findings if f.severity.rank >= config.fail_on.rank]
    report.exit_code = 1 if failing else 0
    report.duration_s = round(time.perf_counter() - started, 4)
    return report


def check_one(item: Path | Artifact, config: RunConfig, env: Any, rules: list, tf_keras_env: Any = None,
              progress: Callable[[str], None] | None = None) -> ArtifactReport:
    """Read and check one artifact within its wall-clock budget. Whatever goes wrong (an exception,
    the recursion limit, a timeout) becomes a KC117 finding on this artifact, and the run goes on."""
    raw = item.path if isinstance(item, Artifact) else str(item)
    if progress is not None:
        progress(safe_text(raw))
    artifact: Artifact | None = None
    try:
        with budget(config.artifact_timeout):
            artifact = scrub(item) if isinstance(item, Artifact) else read_artifact(item)
            findings, skipped = run_rules(artifact, env, config, rules)
            if skipped:
                artifact.notes["skipped_rules"] = skipped
            predictions, tf_keras_findings = judge(artifact, findings, env, tf_keras_env, config, rules)
            if env_missing(env):
                predictions = []
            meant = intended(artifact, config.load.loaders)
            if meant == ("tf_keras",) and tf_keras_findings is not None:
                findings = tf_keras_findings  # judged only by tf_keras: its view of the environment speaks
            apply_intent(artifact, findings, meant, load_catalog())  # after the verdict, which keeps every loader
            entry = ArtifactReport(artifact=artifact, findings=findings, verdict=[p.model_dump() for p in predictions],
                                   intended=list(meant))
    except (ArtifactTimeout, Exception) as exc:  # noqa: BLE001 - one artifact must not end the run
        return gave_up(raw, artifact, exc, env, config, rules)
    if config.load.enabled and artifact.format.value in LOADABLE:  # the guarded load has its own timeouts
        guarded_load(entry, predictions, config, env, path=raw if safe_text(raw) == artifact.path else None)
    return scrub(entry, done=(artifact,))  # the reader scrubbed the artifact


def gave_up(raw: str, artifact: Artifact | None, exc: BaseException, env: Any, config: RunConfig,
            rules: list) -> ArtifactReport:
    """The entry of an artifact whose reading or checking failed: its format if it was read, and KC117.

    Only KC117 runs over it: the rule that hung or raised would do it again.
    """
    if isinstance(exc, ArtifactTimeout):
        stop_helpers()
    fmt = artifact.format if artifact is not None else Format.unchecked
    stub = scrub(Artifact(path=raw, format=fmt, problems=[Problem(kind="reader-error", detail=cause(exc))]))
    findings, _ = run_rules(stub, env, config, [r for r in rules if r.code == "KC117"])
    return ArtifactReport(artifact=stub, findings=findings)


def stop_helpers() -> None:
    """End the child processes a reader may have left mid-file when the budget ran out: libhdf5 can
    loop for ever on a damaged file, and an orphaned child would outlive the run doing so."""
    from kcompat.artifacts import h5isolate

    worker = getattr(h5isolate, "WORKER", None)
    if worker is not None and hasattr(worker, "stop"):
        worker.stop()
