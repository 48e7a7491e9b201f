"""Command line: `kcompat check|rules|explain|schema|env|config|baseline|targets|matrix`.

Exit 0 clean, 1 findings, 2 usage or internal error. Each subcommand lives in its own module here;
they share the `check` flags and the environment lookup in `common`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

# kcompat's own models use no pydantic plugin, and looking for plugins reads the entry points of every
# installed distribution when the first model is built: ~10-20 ms of a run that writes JSON or reads a config file.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

from kcompat import __version__  # noqa: E402 - after the variable above
from kcompat.cli.baseline import add_baseline_parser, run_baseline
from kcompat.cli.check import run_check
from kcompat.cli.common import UsageError, add_check_parser
from kcompat.cli.config import add_config_parser, run_config
from kcompat.cli.fix import add_fix_parser, run_fix
from kcompat.cli.matrix import add_matrix_parser, run_matrix
from kcompat.cli.rules import run_explain, run_rules_list, run_schema
from kcompat.cli.targets import add_targets_parser, run_targets
from kcompat.config.settings import ConfigError


class _Outlines:
    """The subparsers for a run of ``command``: every other subcommand gets its name and no flags.

    Building every subcommand's flags took ~3 ms of each run; a usage error or --help of the command
    being run shows only its own parser, and a run of no known command builds them all.
    """

    def __init__(self, sub, command: str) -> None:
        self.sub, self.command = sub, command

    def add_parser(self, name: str, **kwargs):
        if name == self.command:
            return self.sub.add_parser(name, **kwargs)
        outline = self.sub.add_parser(name, help=kwargs.get("help"), add_help=False)
        outline.add_argument = lambda *args, **kwargs: None
        return outline


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``kcompat`` parser; with ``command``, only that subcommand's flags (see ``_Outlines``)."""
    parser = argparse.ArgumentParser(prog="kcompat", description=__doc__)
    parser.add_argument("--version", action="version", version=f"kcompat {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    if command is not None:
        sub = _Outlines(sub, command)
    add_check_parser(sub)
    p = sub.add_parser("rules", help="list the rule catalog")
    p.add_argument("--family", metavar="DIGIT|NAME", help="only one family: 1, 1xx, KC1 or a word of its name (integrity, versions, ops...)")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table (the README's rule table)")
    p = sub.add_parser("explain", help="print a rule's documentation, or explain an error message or traceback",
                       description="With a rule code or name, print its documentation. With an error message or a "
                                   "whole traceback (as the argument, --from FILE, or - for stdin), name the rule "
                                   "that explains it, its cause and its fix.")
    p.add_argument("rule", nargs="?", metavar="CODE|NAME|ERROR", help="a rule code or name, an error message, or -")
    p.add_argument("--from", dest="source", metavar="FILE", help="read the error or traceback from FILE")
    sub.add_parser("schema", help="print the JSON Schema of the JSON report")
    sub.add_parser("env", help="probe and show the environment snapshot (kcompat env --help)", add_help=False)
    add_config_parser(sub)
    add_baseline_parser(sub)
    add_fix_parser(sub)
    add_targets_parser(sub)
    add_matrix_parser(sub)
    return parser


def run_env(argv: list[str]) -> int:
    from kcompat.cli.env import main as env_main

    try:
        return env_main(argv)
    except SystemExit as exc:  # the env parser's usage errors and --help
        return int(exc.code or 0)


COMMANDS = {"check": run_check, "rules": run_rules_list, "explain": run_explain, "schema": run_schema,
            "config": run_config, "baseline": run_baseline, "fix": run_fix, "targets": run_targets, "matrix": run_matrix}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(argv[0] if argv and argv[0] in COMMANDS else None)
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
