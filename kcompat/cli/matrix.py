"""`kcompat matrix PATH... [--target SPEC ...]`: will it load there? Release x loader per artifact.

Default: every recorded release. Exit 1 when an artifact loads with no loader in some selected
release (so a CI job can require "loads everywhere we deploy"), 0 otherwise or with --exit-zero.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from kcompat.cli.common import add_check_flags, resolve_targets
from kcompat.config import settings


def add_matrix_parser(sub) -> None:
    p = sub.add_parser("matrix", help="release x loader table: will it load in each recorded release?")
    add_check_flags(p, paths_required=True)


def run_matrix(args: argparse.Namespace) -> int:
    from kcompat import __version__
    from kcompat.cli.check import parse_outputs
    from kcompat.model import Report
    from kcompat.pipeline.matrix import build_matrix
    from kcompat.releases import store
    from kcompat.report import matrix as matrix_text
    from kcompat.report import WRITERS

    started = time.perf_counter()
    config = settings.resolve(args).config
    specs = list(config.target)
    pairs = resolve_targets(specs) if specs else [("all", name) for name in store.names()]
    names = sorted(dict.fromkeys(name for _, name in pairs), key=store.position)  # the table's order
    releases = [(name, store.environment(name)) for name in names]
    report = Report(tool_version=__version__, started_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    duration_s=0.0, fail_on=config.fail_on,
                    targets=[{"spec": s, "release": n} for s, n in pairs])
    report.matrix = build_matrix(args.paths, releases, config)
    nowhere = [(m.path, r.release) for m in report.matrix for r in m.rows
               if r.loaders and not any(c["ok"] for c in r.loaders.values())]
    report.exit_code = 1 if nowhere else 0
    report.duration_s = round(time.perf_counter() - started, 4)
    writers = {**WRITERS, "text": matrix_text.render}  # a matrix report's text is its tables
    for fmt, path in parse_outputs(config.outputs):
        content = writers[fmt](report)
        if str(path) == "-":
            print(content)
        else:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(content + "\n", "utf-8")
    print(matrix_text.render(report), file=sys.stdout)
    return 0 if args.exit_zero else report.exit_code
