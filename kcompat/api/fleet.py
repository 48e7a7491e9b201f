"""Fleet runs: stream a JSON line per artifact, resume where an earlier run left off, summarise.

A run over 100,000 artifacts holds only their addresses and a summary, never their reports:
each report is written to the JSONL file when it finishes. ``--resume`` compares each artifact's
stamp (size, mtime and, for objects in a bucket, the ETag) with the one recorded beside its
line, and checks only what is new or changed.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kcompat.api import check_targets, expand_all
from kcompat.config import RunConfig
from kcompat.model import Artifact, ArtifactReport, Severity
from kcompat.report import jsonl
from kcompat.sources import RemoteError, is_local


def stamp(item: Any) -> dict[str, Any]:
    """What changes when the bytes of an artifact do; {} when it cannot be told (always re-checked)."""
    if isinstance(item, Artifact):
        return {}
    try:
        files = stamped_files(item)
    except (OSError, RemoteError):
        return {}
    if not files:
        return {}
    return {"size": sum(f[1] for f in files), "mtime": max((f[2] or 0) for f in files),
            "etag": "|".join(f"{f[0]}:{f[3]}" for f in files) if any(f[3] for f in files) else None,
            "files": len(files)}


def stamped_files(item: Any) -> list[tuple[str, int, float | None, str | None]]:
    """(name, size, mtime, etag) of each file the artifact is made of, in name order."""
    if is_local(item):
        if item.is_file():
            st = item.stat()
            return [(item.name, st.st_size, st.st_mtime, None)]
        if item.is_dir():
            out = []
            for root, _, names in os.walk(item):
                for name in names:
                    st = os.stat(os.path.join(root, name))
                    out.append((os.path.relpath(os.path.join(root, name), item), st.st_size, st.st_mtime, None))
            return sorted(out)
        return sorted((p.name, p.stat().st_size, p.stat().st_mtime, None) for p in item.parent.glob(item.name + ".*"))
    if item.is_file():
        facts = item.facts()
        return [(item.name, facts["object_size"], facts["mtime"], facts["etag"])]
    if item.is_dir():
        facts = item.facts()
        return [(item.name, facts["object_size"], facts["mtime"], facts["etag"])]
    return sorted((p.name, p.stat().st_size, p.stat().st_mtime, p.facts()["etag"]) for p in item.parent.glob(item.name + ".*"))


@dataclass
class Summary:
    """Counts over the fleet: per code, per loader verdict, per format; never the reports themselves."""

    fail_on: Severity = Severity.error
    checked: int = 0
    resumed: int = 0
    failing: int = 0  # artifacts with a finding at or above fail_on
    codes: Counter = field(default_factory=Counter)  # "KC123 error remote-unreachable" -> artifacts
    verdicts: Counter = field(default_factory=Counter)  # "keras: loads" -> artifacts
    formats: Counter = field(default_factory=Counter)
    bytes_fetched: int = 0
    object_bytes: int = 0
    rows: list[dict[str, Any]] | None = None  # one small row per artifact, for the fleet page; None: not kept
    targets: dict[str, Counter] = field(default_factory=dict)  # release -> Counter(loads=, breaks=)
    order: dict[str, int] = field(default_factory=dict)  # artifact path -> its place among the paths given

    def add(self, entry: dict[str, Any], resumed: bool) -> None:
        if resumed:
            self.resumed += 1
        else:
            self.checked += 1
        artifact = entry["artifact"]
        self.formats[artifact.get("format")] += 1
        source = artifact.get("source") or {}
        self.bytes_fetched += 0 if resumed else int(source.get("bytes_fetched") or 0)
        self.object_bytes += int(source.get("object_size") or artifact.get("size_bytes") or 0)
        findings = entry.get("findings") or []
        for key in sorted({f"{f['code']} {f['severity']} {f['name']}" for f in findings}):
            self.codes[key] += 1
        if any(Severity(f["severity"]).rank >= self.fail_on.rank for f in findings):
            self.failing += 1
        for row in entry.get("verdict") or []:
            self.verdicts[f"{row.get('loader')}: {'loads' if row.get('ok') else 'fails'}"] += 1
        for row in entry.get("targets") or []:
            loads = any(cell.get("ok") for cell in (row.get("loaders") or {}).values())
            self.targets.setdefault(row["release"], Counter())["loads" if loads else "breaks"] += 1
        if self.rows is not None:
            self.rows.append(row_of(entry, resumed))

    def lines(self) -> list[str]:
        total = self.checked + self.resumed
        out = [f"fleet: {total} artifacts, {self.checked} checked, {self.resumed} unchanged since the last run (--resume); "
               f"{self.failing} with findings at or above {self.fail_on.value}"]
        if self.bytes_fetched:
            out.append(f"  fetched {self.bytes_fetched:,} bytes over the wire; the checked objects hold {self.object_bytes:,}")
        out += ["  artifacts per code:"]
        out += [f"  {n:>7}  {key}" for key, n in sorted(self.codes.items(), key=lambda kv: (-kv[1], kv[0]))]
        loaders = sorted({key.split(": ")[0] for key in self.verdicts})
        if loaders:
            out.append("  verdict per loader (artifacts that load / fail):")
        out += [f"  {self.verdicts[f'{name}: loads']:>7} / {self.verdicts[f'{name}: fails']:<7} {name}" for name in loaders]
        if self.targets:
            out.append("  per target release (artifacts that some loader loads / that none does):")
        out += [f"  {c['loads']:>7} / {c['breaks']:<7} {name}" for name, c in self.targets.items()]
        return out


SEVERITIES = ("info", "warning", "error")


def row_of(entry: dict[str, Any], resumed: bool) -> dict[str, Any]:
    """What the fleet page shows of one artifact."""
    artifact, findings = entry["artifact"], entry.get("findings") or []
    source = artifact.get("source") or {}
    worst = max((SEVERITIES.index(f["severity"]) for f in findings if f.get("severity") in SEVERITIES), default=-1)
    return {"path": artifact["path"], "format": artifact.get("format"), "worst": SEVERITIES[worst] if worst >= 0 else "",
            "codes": sorted({f["code"] for f in findings}), "findings": len(findings),
            "fails": sorted(r["loader"] for r in entry.get("verdict") or [] if not r.get("ok")),
            "loads": sorted(r["loader"] for r in entry.get("verdict") or [] if r.get("ok")),
            "fetched": source.get("bytes_fetched") or 0, "size": source.get("object_size") or artifact.get("size_bytes") or 0,
            "resumed": resumed}


def resumable(path: Path | None) -> dict[str, dict[str, Any]]:
    """The last line of each artifact in an earlier run's JSONL."""
    return {line["artifact"]["path"]: line for line in jsonl.read(path)} if path else {}


def run(paths: Iterable[str], config: RunConfig, env: Any = None, out: Path | None = None, resume: Path | None = None,
        executor: Executor | None = None, on_entry: Callable[[ArtifactReport], None] | None = None,
        rows: bool = False, targets: tuple[str, ...] = ()) -> Summary:
    """Check every artifact under ``paths``, skipping those ``resume`` has unchanged; stream to ``out``.

    ``rows``: keep a small row per artifact in the summary, for the fleet page.
    """
    summary = Summary(fail_on=config.fail_on, rows=[] if rows else None)
    done = resumable(resume)
    items, _ = expand_all(paths)
    same_file = out is not None and resume is not None and out.resolve() == resume.resolve()
    stream = jsonl.Stream(out, append=same_file) if out else None
    stamps: dict[str, dict[str, Any]] = {}
    todo = []
    try:
        for item in items:
            key = item.path if isinstance(item, Artifact) else str(item)
            summary.order.setdefault(key, len(summary.order))
            stamps[key] = stamp(item) if out is not None or key in done else {}
            earlier = done.get(key)
            if earlier is not None and stamps[key] and earlier.get("stamp") == stamps[key]:
                summary.add(earlier, resumed=True)
                if stream is not None and not same_file:  # a new file holds the whole fleet too
                    stream.write_line(earlier)
            else:
                todo.append(item)
        for entry, verdicts in check_targets(todo, config, executor=executor, env=env, expanded=True, targets=targets):
            data = entry.model_dump(mode="json")
            data["targets"] = verdicts
            summary.add(data, resumed=False)
            if stream is not None:
                stream.write(entry, stamps.get(entry.artifact.path) or stamp_of_source(entry), verdicts)
            if on_entry is not None:
                on_entry(entry)
    finally:
        if stream is not None:
            stream.close()
    return summary


@contextmanager
def executor_for(dask: str | None, jobs: int) -> Iterator[Executor | None]:
    """A Dask cluster's executor (``--dask ADDRESS``), a pool of ``jobs`` forked processes, or None (here)."""
    if dask:
        try:
            from distributed import Client
        except ImportError:
            raise RemoteError(dask, "--dask needs the distributed package", "pip install 'kcompat[dask]'") from None
        with Client(dask, timeout=30) as client:
            yield client.get_executor()
    elif jobs > 1 and "fork" in multiprocessing.get_all_start_methods():
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
            yield pool
    else:
        yield None


def stamp_of_source(entry: ArtifactReport) -> dict[str, Any]:
    """A remote artifact's stamp from what its check read (its path may have been written differently)."""
    source = entry.artifact.source
    if source is None:
        return {}
    return {"size": source.object_size, "mtime": source.mtime, "etag": source.etag}
