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
    from kcompat.cli import fleet

    if fleet.wanted(args, outputs):  # -o jsonl=PATH, --resume or --dask: stream, then summarise
        return fleet.run(args, config, outputs, env, env_info)
    with Progress() as progress:  # stderr, and only when stderr is a terminal
        report = check_paths(gate.artifact_paths(args.paths), config, env=env, env_info=env_info, progress=progress)
    if env_info.get("source") == "release":
        add_target_matrix(report, args.paths, config, env_info)
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
    if env_info.get("source") == "release":
        print(target_line(env_info, report), file=summary)
    return 0 if args.exit_zero else report.exit_code


def target_line(env_info: dict, report) -> str:
    """The one line that names the recorded release the check was judged against."""
    versions = ", ".join(f"{k} {v}" for k, v in env_info["versions"].items() if v and k in ("tensorflow", "keras", "tf_keras"))
    why = f" ({env_info['fallback']})" if env_info.get("fallback") else ""
    more = f"; {len(report.matrix[0].rows)} targets in the matrix above" if report.matrix else ""
    return f"target: recorded release {env_info['release']} ({versions}){why}{more}"


def add_target_matrix(report, paths: list[str], config, env_info: dict) -> None:
    """With several --target releases, the release x loader matrix of every artifact (exit 1 if one fails)."""
    from kcompat.cli.common import resolve_targets
    from kcompat.pipeline.matrix import build_matrix
    from kcompat.releases.store import environment as release_environment
    from kcompat.releases.store import position as store_position
    from kcompat.report import matrix as matrix_text

    pairs = resolve_targets(config.target, warn=lambda text: None)  # warned once already
    names = sorted(dict.fromkeys(name for _, name in pairs), key=store_position)
    report.targets = [{"spec": s, "release": n} for s, n in pairs]
    if len(names) < 2:
        return
    report.matrix = build_matrix(paths, [(n, release_environment(n)) for n in names], config)
    if any(r.loaders and not any(c["ok"] for c in r.loaders.values()) for m in report.matrix for r in m.rows):
        report.exit_code = 1
    print(matrix_text.render(report))

