"""`kcompat check` as a fleet run: `-o jsonl=PATH`, `--resume PATH` or `--dask ADDRESS`.

Each artifact's report goes to the JSONL file as it finishes; the terminal gets a summary (counts
per code and per loader verdict) instead of every finding. The exit code follows the usual rules
over the whole fleet, the artifacts `--resume` skipped included.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from kcompat.cli.common import UsageError, resolve_targets


def wanted(args: argparse.Namespace, outputs: list[tuple[str, Path]]) -> bool:
    return bool(getattr(args, "resume", None) or getattr(args, "dask", None)
                or any(fmt == "jsonl" and str(path) != "-" for fmt, path in outputs))


def run(args: argparse.Namespace, config: Any, outputs: list[tuple[str, Path]], env: Any, env_info: dict) -> int:
    from kcompat.api import fleet
    from kcompat.model import Report
    from kcompat.pipeline.parallel import default_jobs
    from kcompat.report import WRITERS, write
    from kcompat.sources import RemoteError

    out = next((path for fmt, path in outputs if fmt == "jsonl" and str(path) != "-"), None)
    resume = Path(args.resume) if args.resume else None
    if resume is not None and out is None:
        out = resume  # --resume alone goes on writing the same file
    pages = [path for fmt, path in outputs if fmt == "html"]  # in a fleet run, html is the fleet page
    others = [(fmt, path) for fmt, path in outputs if fmt not in ("jsonl", "html")]
    collected: list = []
    jobs = config.jobs or (1 if config.load.enabled else default_jobs())
    targets: tuple[str, ...] = ()
    if len(config.target) > 1 or (config.target and resolve_targets(config.target[:1], warn=lambda t: None)[1:]):
        targets = tuple(dict.fromkeys(name for _, name in resolve_targets(config.target, warn=lambda t: None)))
    try:
        with fleet.executor_for(args.dask, jobs) as executor:
            summary = fleet.run(args.paths, config, env=env, out=out, resume=resume, executor=executor,
                                on_entry=collected.append if others else None, rows=bool(pages), targets=targets)
    except RemoteError as exc:
        raise UsageError(f"{exc.cause}; {exc.fix}") from None
    except OSError as exc:
        raise UsageError(f"--dask {args.dask}: {exc}") from None
    if others:  # the other formats want one Report: only these hold every artifact in memory
        # in the order of the paths, as a run with no JSONL gives it, not in the order the workers finished
        collected.sort(key=lambda entry: summary.order.get(entry.artifact.path, len(summary.order)))
        report = Report(tool_version=_version(), started_at="", duration_s=0.0, fail_on=config.fail_on,
                        environment=env_info, artifacts=collected, exit_code=1 if summary.failing else 0)
        for fmt, path in others:
            if str(path) == "-":
                print(WRITERS[fmt](report))
            else:
                write(fmt, report, path)
    for path in pages:
        from kcompat.report.fleet_html import render

        page = render(summary)
        if str(path) == "-":
            print(page)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(page, "utf-8")
    if not args.quiet:
        for line in summary.lines():
            print(line, file=sys.stdout)
        if out is not None:
            print(f"  one JSON line per artifact: {out}")
    return 0 if args.exit_zero else (1 if summary.failing else 0)


def _version() -> str:
    from kcompat import __version__

    return __version__
