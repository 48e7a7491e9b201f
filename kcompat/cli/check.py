"""`kcompat check PATH...`: the gate. Exit 0 clean, 1 findings at or above --fail-on."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kcompat.cli.validate import check_environment, check_names
from kcompat.cli.common import DEFAULT_JSON, UsageError, environment
from kcompat.config import settings
from kcompat.report import WRITERS


def parse_outputs(values: list[str]) -> list[tuple[str, Path]]:
    outputs = []
    for value in values:
        fmt, sep, path = value.partition("=")
        path = path if sep else "-"  # a bare FORMAT (e.g. `-o github`) writes to stdout, like FORMAT=-
        if not path or fmt not in WRITERS:
            raise UsageError(f"-o expects FORMAT=PATH, FORMAT=- or FORMAT with FORMAT one of {', '.join(WRITERS)}; got {value!r}")
        outputs.append((fmt, Path(path)))
    return outputs



def run_check(args: argparse.Namespace) -> int:
    from kcompat.report import text, write
    from kcompat.report.progress import Progress
    from kcompat.pipeline.runner import check_paths

    from kcompat.pipeline import gate
    from kcompat.pipeline.baseline import apply_baseline

    config = settings.resolve(args).config  # default < config file < command line (-o and --json are in outputs)
    outputs = parse_outputs(config.outputs)
    if not outputs and not args.no_report:
        outputs.append(("json", Path(DEFAULT_JSON)))
    check_names(config)
    env, env_info = (None, {"skipped": "--no-env"}) if args.no_env else environment(config, args.refresh_env)
    check_environment(config, env, env_info)
    with Progress() as progress:  # stderr, and only when stderr is a terminal
        report = check_paths(gate.artifact_paths(args.paths), config, env=env, env_info=env_info, progress=progress)
    baseline = apply_baseline(report, Path(config.baseline), config.fail_on) if config.baseline else None
    if baseline is not None and "baseline" in type(report).model_fields:
        report.baseline = baseline.summary()
    summary = sys.stderr if any(str(p) == "-" and f not in ("github", "text") for f, p in outputs) else sys.stdout
    for fmt, path in outputs:
        if str(path) == "-":
            content = WRITERS[fmt](report)
            print(content, end="\n" if content else "")
        else:
            write(fmt, report, path)
    color = {"always": True, "never": False}.get(args.color, text.use_color(summary))
    print(text.render(report, verbose=args.verbose, quiet=args.quiet, color=color), file=summary)
    for line in gate.closing_lines(report, baseline, quiet=args.quiet):
        print(text.shown(line), file=summary)  # they name artifacts: no escape sequence may reach the terminal
    return 0 if args.exit_zero else report.exit_code

