"""Command line: `kcompat check|rules|explain|schema|env`. Exit 0 clean, 1 findings, 2 usage or internal error."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from kcompat import __version__
from kcompat.config import RunConfig
from kcompat.model import Severity
from kcompat.report import WRITERS
from kcompat import settings
from kcompat.settings import ConfigError

DEFAULT_JSON = "reports/kcompat-report.json"


class UsageError(Exception):
    pass


def parse_outputs(values: list[str]) -> list[tuple[str, Path]]:
    outputs = []
    for value in values:
        fmt, sep, path = value.partition("=")
        path = path if sep else "-"  # a bare FORMAT (e.g. `-o github`) writes to stdout, like FORMAT=-
        if not path or fmt not in WRITERS:
            raise UsageError(f"-o expects FORMAT=PATH, FORMAT=- or FORMAT with FORMAT one of {', '.join(WRITERS)}; got {value!r}")
        outputs.append((fmt, Path(path)))
    return outputs


def add_check_parser(sub) -> None:
    p = sub.add_parser("check", help="check saved models statically (and with --load, by a guarded load)")
    p.add_argument("paths", nargs="+", metavar="PATH", help="model files, SavedModel dirs, checkpoints or folders")
    p.add_argument("-o", "--output", action="append", default=[], metavar="FORMAT=PATH",
                   help=f"write a report; repeatable (formats: {', '.join(WRITERS)})")
    p.add_argument("--json", metavar="PATH", help="shorthand for -o json=PATH")
    p.add_argument("--no-report", action="store_true", help=f"do not write the default {DEFAULT_JSON}")
    p.add_argument("--fail-on", choices=[s.value for s in Severity], default=None,
                   help="lowest severity that makes the exit code 1 (default: error)")
    p.add_argument("--exit-zero", action="store_true", help="always exit 0 unless there is a usage or internal error")
    p.add_argument("--select", action="append", default=[], metavar="CODE", help="only these rules (code, prefix or name; comma-separated)")
    p.add_argument("--ignore", action="append", default=[], metavar="CODE", help="skip these rules (code, prefix or name)")
    p.add_argument("--load", dest="load", action="store_true", default=None, help="also run the guarded load")
    p.add_argument("--no-load", dest="load", action="store_false", help="static checks only (the default)")
    p.add_argument("--unsafe", action="store_true", default=None,
                   help="let the guarded load deserialize Lambda bytecode (safe_mode=False); trusted files only")
    p.add_argument("--strategy", action="append", default=[], metavar="NAME",
                   help="guarded-load strategies: default, one-device-cpu, one-device-gpu, mirrored, multi-worker; repeatable")
    p.add_argument("--loader", action="append", default=[], metavar="NAME",
                   help="guarded-load loaders: keras, tf_keras, tf_saved_model, tfsmlayer, config+weights; repeatable")
    p.add_argument("--timeout", type=float, metavar="S", help="per-attempt guarded-load timeout in seconds (default 120)")
    p.add_argument("--memory-mb", type=int, metavar="MB", help="per-attempt resident memory cap (default 4096)")
    p.add_argument("--inputs", metavar="NPZ", help="model inputs for the guarded load (default: generated from the input spec)")
    p.add_argument("--arch", metavar="PATH", help="architecture (model.to_json() file, .keras or .h5) for a weights-only file or checkpoint")
    p.add_argument("--python", metavar="PATH", help="check against this interpreter's environment (default: the current one)")
    p.add_argument("--profile", metavar="FILE|NAME", help="check against a declared target profile instead of probing (see `kcompat env --list-profiles`)")
    p.add_argument("--custom-objects", action="append", default=[], metavar="MODULE",
                   help="import MODULE in the probe so the classes it registers count as resolvable; repeatable")
    p.add_argument("--no-env", action="store_true", help="do not probe an environment; environment rules are skipped")
    p.add_argument("--refresh-env", action="store_true", help="re-probe the environment instead of using the cache")
    p.add_argument("-q", "--quiet", action="store_true", help="print findings only")
    p.add_argument("-v", "--verbose", action="store_true", help="print each artifact's facts too")
    p.add_argument("--color", choices=["auto", "always", "never"], default="auto",
                   help="colour the terminal summary (auto: only on a terminal with NO_COLOR unset)")
    settings.add_arguments(p)  # --config, --isolated, --baseline


def split(values: list[str]) -> list[str]:
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


def run_check(args: argparse.Namespace) -> int:
    from kcompat.report import text, write
    from kcompat.report.progress import Progress
    from kcompat.runner import check_paths

    from kcompat import gate
    from kcompat.baseline import apply_baseline

    config = settings.resolve(args).config  # default < config file < command line (-o and --json are in outputs)
    outputs = parse_outputs(config.outputs)
    if not outputs and not args.no_report:
        outputs.append(("json", Path(DEFAULT_JSON)))
    env, env_info = (None, {"skipped": "--no-env"}) if args.no_env else environment(config, args.refresh_env)
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
        print(line, file=summary)
    return 0 if args.exit_zero else report.exit_code


def environment(config: RunConfig, refresh: bool = False):
    """The Environment to check against, and its summary for the report; (None, why) if it cannot be had."""
    from kcompat.env import EnvironmentProbeError, ProfileError, get_environment
    from kcompat.env.targets import resolve_profile

    try:
        env = get_environment(python=config.python, custom_objects=config.custom_objects,
                              profile=resolve_profile(config.profile) if config.profile else None, refresh=refresh)
    except (EnvironmentProbeError, ProfileError) as exc:
        return None, {"error": str(exc).splitlines()[0]}
    info = {"python": env.python, "python_executable": env.python_executable, "versions": env.versions,
            "keras_backend": env.keras_backend, "tf_use_legacy_keras": env.tf_use_legacy_keras,
            "devices": [d.name for d in env.devices], "source": env.source, "errors": env.errors,
            "custom_object_modules": env.custom_object_modules}
    return env, info


def run_env(argv: list[str]) -> int:
    from kcompat.env.cli import main as env_main

    try:
        return env_main(argv)
    except SystemExit as exc:  # the env parser's usage errors and --help
        return int(exc.code or 0)


def run_rules_list(args: argparse.Namespace) -> int:
    from kcompat.catalog import load_catalog

    from kcompat.gate import family_digit

    try:
        family = family_digit(args.family) if args.family else None
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    rules = [r for r in load_catalog().values() if not family or r.code.startswith(f"KC{family}")]
    if args.markdown:
        print(rules_markdown(rules))
        return 0
    for rule in rules:
        print(f"{rule.code}  {rule.name:<32} {rule.severity.value:<8} {rule.title}")
    return 0


def rules_markdown(rules) -> str:
    lines = ["| code | name | severity | what it flags |", "|---|---|---|---|"]
    lines += [f"| {r.code} | `{r.name}` | {r.severity.value} | {r.title} |" for r in rules]
    return "\n".join(lines)


def run_explain(args: argparse.Namespace) -> int:
    from kcompat.catalog import lookup

    rule = lookup(args.rule)
    if rule is None:
        raise UsageError(f"no rule with code or name {args.rule!r}; see `kcompat rules`")
    print(f"{rule.code} {rule.name} ({rule.severity.value}): {rule.title}\n")
    print(rule.doc.split("\n", 1)[1].strip() if rule.doc.startswith("# ") else rule.doc)
    return 0


def run_schema(args: argparse.Namespace) -> int:
    from kcompat.report import json_report

    print(json_report.schema())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kcompat", description=__doc__)
    parser.add_argument("--version", action="version", version=f"kcompat {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    add_check_parser(sub)
    p = sub.add_parser("rules", help="list the rule catalog")
    p.add_argument("--family", metavar="DIGIT|NAME", help="only one family: 1, 1xx, KC1 or a word of its name (integrity, versions, ops...)")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table (the README's rule table)")
    p = sub.add_parser("explain", help="print a rule's documentation")
    p.add_argument("rule", metavar="CODE|NAME")
    sub.add_parser("schema", help="print the JSON Schema of the JSON report")
    sub.add_parser("env", help="probe and show the environment snapshot (kcompat env --help)", add_help=False)
    settings.add_config_parser(sub, add_check_parser)
    from kcompat.baseline import add_baseline_parser

    add_baseline_parser(sub, add_check_parser)
    return parser


def run_baseline(args: argparse.Namespace) -> int:
    from kcompat.baseline import run_baseline as record

    return record(args)


COMMANDS = {"check": run_check, "rules": run_rules_list, "explain": run_explain, "schema": run_schema,
            "config": settings.run_config, "baseline": run_baseline}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = None if argv[:1] == ["env"] else parser.parse_args(argv)  # env owns its own parser
    except SystemExit as exc:  # argparse exits 2 on usage errors and 0 on --help
        return int(exc.code or 0)
    try:
        if args is None:
            return run_env(argv[1:])
        return COMMANDS[args.command](args)
    except (UsageError, ConfigError) as exc:
        print(f"kcompat: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 2
    except BrokenPipeError:  # e.g. `kcompat rules | head`
        sys.stdout = open(os.devnull, "w")
        return 0
    except Exception as exc:  # an internal error is exit 2 with one line, not a traceback
        print(f"kcompat: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


def main_load(argv: Sequence[str] | None = None) -> int:
    """`kcompat-load PATH...`: `kcompat check --load PATH...` (the console script of the kcompat-load hook)."""
    return main(["check", "--load", *(sys.argv[1:] if argv is None else argv)])


def exit_fast(code: int) -> None:
    """Exit without the interpreter's teardown, which costs ~30-40 ms (a tenth of a check) in
    unloading pydantic and the rules. By now every file this process wrote is closed."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, OSError):
        pass
    os._exit(code)


def run() -> None:
    """The ``kcompat`` console script: :func:`main`, then a fast exit."""
    exit_fast(main())


def run_load() -> None:
    """The ``kcompat-load`` console script."""
    exit_fast(main_load())


if __name__ == "__main__":
    run()
