"""`kcompat baseline PATH... [--baseline FILE]`: record today's findings (the logic is in pipeline.baseline)."""

from __future__ import annotations

from pathlib import Path

from kcompat.cli.validate import check_environment, check_names
from kcompat.cli.common import add_check_flags, environment
from kcompat.config import settings
from kcompat.config.settings import DEFAULT_BASELINE
from kcompat.pipeline import gate
from kcompat.pipeline.baseline import write_baseline



def add_baseline_parser(sub) -> None:
    p = sub.add_parser("baseline", help="record the current findings so that `check --baseline` fails only on new ones",
                       description="Runs the same checks as `kcompat check` (same flags) and writes every finding "
                                   "to the baseline file, replacing it. Commit the file.")
    add_check_flags(p, paths_required=True)


def default_path(resolved) -> Path:
    if resolved.config.baseline:
        return Path(resolved.config.baseline)
    return (resolved.file.root if resolved.file else Path.cwd()) / DEFAULT_BASELINE


def run_baseline(args) -> int:
    from kcompat.pipeline.runner import check_paths

    resolved = settings.resolve(args)
    config = resolved.config
    path = default_path(resolved)
    check_names(config)
    env, env_info = (None, {"skipped": "--no-env"}) if args.no_env else environment(config, args.refresh_env)
    check_environment(config, env, env_info)
    report = check_paths(gate.artifact_paths(args.paths), config, env=env, env_info=env_info)
    count = write_baseline(report, path)
    skipped = gate.skipped_line(report)
    if skipped and not args.quiet:
        print(skipped)
    print(f"kcompat: recorded {count} finding(s) from {len(report.artifacts)} artifact(s) in {settings.display(path.resolve())}")
    return 0
