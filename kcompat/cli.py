"""Command line: `kcompat check|rules|explain|schema|env`. Exit 0 clean, 1 findings, 2 usage or internal error."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from kcompat import __version__
from kcompat.config import RunConfig
from kcompat.model import Severity
from kcompat.report import WRITERS

DEFAULT_JSON = "reports/kcompat-report.json"


class UsageError(Exception):
    pass


def parse_outputs(values: list[str]) -> list[tuple[str, Path]]:
    outputs = []
    for value in values:
        fmt, sep, path = value.partition("=")
        if not sep or not path or fmt not in WRITERS:
            raise UsageError(f"-o expects FORMAT=PATH with FORMAT one of {', '.join(WRITERS)}; got {value!r}")
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
    p.add_argument("--load", dest="load", action="store_true", default=False, help="also run the guarded load")
    p.add_argument("--no-load", dest="load", action="store_false", help="static checks only (the default)")
    p.add_argument("-q", "--quiet", action="store_true", help="print findings only")
    p.add_argument("-v", "--verbose", action="store_true", help="print each artifact's facts too")


def split(values: list[str]) -> list[str]:
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


def run_check(args: argparse.Namespace) -> int:
    from kcompat.report import text, write
    from kcompat.runner import check_paths

    outputs = parse_outputs(args.output)
    if args.json:
        outputs.append(("json", Path(args.json)))
    if not outputs and not args.no_report:
        outputs.append(("json", Path(DEFAULT_JSON)))
    config = RunConfig(select=split(args.select), ignore=split(args.ignore), fail_on=args.fail_on or Severity.error)
    config.load.enabled = args.load
    report = check_paths(args.paths, config)
    for fmt, path in outputs:
        write(fmt, report, path)
    print(text.render(report, verbose=args.verbose, quiet=args.quiet))
    return 0 if args.exit_zero else report.exit_code


def run_rules_list(args: argparse.Namespace) -> int:
    from kcompat.catalog import load_catalog

    for rule in load_catalog().values():
        if args.family and not rule.code.startswith(f"KC{args.family[0]}"):
            continue
        print(f"{rule.code}  {rule.name:<32} {rule.severity.value:<8} {rule.title}")
    return 0


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
    p.add_argument("--family", metavar="DIGIT", help="only one family, e.g. 1 for KC1xx")
    p = sub.add_parser("explain", help="print a rule's documentation")
    p.add_argument("rule", metavar="CODE|NAME")
    sub.add_parser("schema", help="print the JSON Schema of the JSON report")
    return parser


COMMANDS = {"check": run_check, "rules": run_rules_list, "explain": run_explain, "schema": run_schema}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors and 0 on --help
        return int(exc.code or 0)
    try:
        return COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"kcompat: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 2
    except Exception as exc:  # an internal error is exit 2 with one line, not a traceback
        print(f"kcompat: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
