"""The public Python API: what the command line uses, for programs and fleet runs.

``check(path, config)`` checks one artifact and returns its ``ArtifactReport``;
``check_many(paths, config, executor=None)`` expands folders and prefixes into artifacts and yields
each one's report as it finishes, on any ``concurrent.futures.Executor``: a process pool, or a
Dask ``distributed`` client's ``client.get_executor()``. Paths may be local or remote
(``s3://``, ``gs://``, ``az://``, ``http(s)://``, ``models:/``). Nothing below this layer imports it.

    from kcompat.api import check, check_many
    from kcompat.config import RunConfig

    report = check("s3://models/prod/model.keras", RunConfig())
    print(report.artifact.source.bytes_fetched, [f.code for f in report.findings])

    from distributed import Client
    with Client("tcp://scheduler:8786") as client:
        for entry in check_many(["s3://models/"], RunConfig(), executor=client.get_executor()):
            print(entry.artifact.path, [f.code for f in entry.findings])
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor, as_completed
from pathlib import Path
from typing import Any

from kcompat.config import RunConfig
from kcompat.model import Artifact, ArtifactReport
from kcompat.pipeline.engine import selected_rules
from kcompat.pipeline.runner import check_one, expand, source_for
from kcompat.pipeline.verdict import tf_keras_view
from kcompat.sources import configure

__all__ = ["check", "check_many", "expand_all"]

CHUNK = 8  # artifacts per task: a task's config and environment travel once for all of them


def check(path: str | Path | Artifact, config: RunConfig | None = None, env: Any = None) -> ArtifactReport:
    """The report of one artifact (a file, a SavedModel or .keras folder, a checkpoint prefix).

    ``env`` is the Environment to judge against (None: the environment rules are skipped). Never
    raises for bad input or a remote failure: those are findings.
    """
    config = config or RunConfig()
    configure(timeout=config.remote_timeout)
    item = path if isinstance(path, Artifact) or hasattr(path, "fs") else source_for(str(path))
    rules = selected_rules(config)
    return check_one(item, config, env, rules, tf_keras_view(env))


def check_chunk(items: list[str | Artifact], config: RunConfig, env: Any, targets: tuple[str, ...] = ()) -> list[str]:
    """What an executor runs: reports as JSON, which crosses processes and machines faster than pickles.

    With ``targets`` (recorded release names), each line also holds the artifact's verdict under each.
    """
    out = []
    for item in items:
        entry = check(item, config, env)
        if not targets:
            out.append(entry.model_dump_json())
            continue
        rows = [row.model_dump(mode="json") for row in target_rows(entry.artifact, targets, config)]
        out.append(json.dumps({"entry": entry.model_dump(mode="json"), "targets": rows}))
    return out


def target_rows(artifact: Artifact, targets: tuple[str, ...], config: RunConfig) -> list:
    """The artifact's row of ``kcompat matrix`` under each recorded release (loader -> ok, codes)."""
    from kcompat.pipeline.matrix import verdict_row
    from kcompat.releases.store import environment

    rules = selected_rules(config)
    return [verdict_row(artifact, environment(name), name, config, rules) for name in targets]


def expand_all(paths: Iterable[str]) -> tuple[list[Any], list[tuple[Any, str]]]:
    """(artifacts, skipped): every artifact the paths stand for, and the folder entries that are not."""
    items: list[Any] = []
    skipped: list[tuple[Any, str]] = []
    for raw in paths:
        source = source_for(str(raw))
        items += [source] if isinstance(source, Artifact) else expand(source, skipped)
    return items, skipped


def portable(item: Any) -> str | Artifact:
    """What is sent to a worker: the path or URL itself (a worker makes its own client), or a placeholder."""
    return item if isinstance(item, Artifact) else str(item)


def check_many(paths: Iterable[Any], config: RunConfig | None = None, executor: Executor | None = None,
               env: Any = None, expanded: bool = False) -> Iterator[ArtifactReport]:
    """Each artifact's report as it finishes (not in order), on ``executor`` if one is given.

    ``paths`` are expanded like the command line's, unless ``expanded`` says they already are
    (as ``expand_all`` returns them).
    """
    for entry, _ in check_targets(paths, config, executor, env, expanded):
        yield entry


def check_targets(paths: Iterable[Any], config: RunConfig | None = None, executor: Executor | None = None,
                  env: Any = None, expanded: bool = False, targets: tuple[str, ...] = ()) -> Iterator[tuple[ArtifactReport, list]]:
    """As ``check_many``, with each artifact's verdict rows under the recorded releases ``targets``."""
    config = config or RunConfig()
    items = list(paths) if expanded else expand_all(paths)[0]
    if executor is None:
        for item in items:
            entry = check(item, config, env)
            yield entry, [row.model_dump(mode="json") for row in target_rows(entry.artifact, targets, config)] if targets else []
        return
    futures = [executor.submit(check_chunk, [portable(i) for i in items[n:n + CHUNK]], config, env, targets)
               for n in range(0, len(items), CHUNK)]
    for future in as_completed(futures):
        for text in future.result():  # what check_chunk wrote: made into records again, not validated
            if not targets:
                yield ArtifactReport.from_data(json.loads(text)), []
                continue
            data = json.loads(text)
            yield ArtifactReport.from_data(data["entry"]), data["targets"]
