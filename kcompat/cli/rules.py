"""`kcompat rules`, `kcompat explain` and `kcompat schema`: the catalog and the report's contract."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from kcompat.cli.common import UsageError


def run_rules_list(args: argparse.Namespace) -> int:
    from kcompat.catalog import load_catalog

    from kcompat.pipeline.gate import family_digit

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


EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning)):\s?(.*)$", re.M)
FORMAT_WORDS = {"saved-model": "a SavedModel", "tf-checkpoint": "a TF checkpoint", "lfs-pointer": "a git-LFS pointer",
                "empty": "an empty file", "unknown": "a file of unknown format", "json-config": "a JSON model config",
                "keras-zip": "a .keras archive", "keras-dir": "an unzipped .keras directory", "hdf5-model": "an HDF5 model"}


def error_text(args: argparse.Namespace) -> str | None:
    """The error to explain: --from FILE, stdin ('-'), or the argument when it is not a code or a name."""
    if args.source:
        try:
            return Path(args.source).read_text("utf-8", "replace")
        except OSError as exc:
            raise UsageError(f"--from {args.source}: {exc.strerror or exc}") from None
    if args.rule == "-" or args.rule is None:
        return sys.stdin.read()
    return None


def split_exception(text: str) -> tuple[str | None, str]:
    """(exception type, message) of an error or the last exception of a traceback."""
    matches = list(EXCEPTION_LINE.finditer(text))
    if not matches:
        return None, text.strip()
    last = matches[-1]
    return last.group(1).rsplit(".", 1)[-1], text[last.start(2):].strip()


def run_explain(args: argparse.Namespace) -> int:
    from kcompat.catalog import load_catalog, lookup

    text = error_text(args)
    rule = lookup(args.rule) if text is None else None
    if rule is not None:
        print(f"{rule.code} {rule.name} ({rule.severity.value}): {rule.title}\n")
        print(rule.doc.split("\n", 1)[1].strip() if rule.doc.startswith("# ") else rule.doc)
        return 0
    if text is None:
        if re.fullmatch(r"KC\d{3}|[a-z0-9]+(-[a-z0-9]+)+", args.rule.strip()):
            raise UsageError(f"no rule with code or name {args.rule!r}; see `kcompat rules`")
        text = args.rule
    if not text.strip():
        raise UsageError("nothing to explain: give a rule code or name, an error message, --from FILE, or - for stdin")
    return explain_error(text, load_catalog())


def explain_error(text: str, catalog) -> int:
    from kcompat.load.classify import FALLBACK, candidates

    exception, message = split_exception(text)
    found = candidates(message, exception_type=exception)
    if found == [(FALLBACK, None)]:
        print(f"not recognised: {exception or 'this error'} matches no rule. Run `kcompat check PATH` on the model "
              "for every cause kcompat knows, or `kcompat check --load PATH` to reproduce it in isolation.")
        return 1
    for n, (code, formats) in enumerate(found):
        rule = catalog[code]
        when = f" (when the file is {' or '.join(FORMAT_WORDS.get(f, f) for f in formats)})" if formats else ""
        print(f"{'' if n == 0 else 'or: '}{rule.code} {rule.name}{when}: {rule.title}")
        why = rule.sections.get("Why it breaks", "").strip().split("\n\n")[0]
        print(f"  why: {' '.join(why.split())}")
        print(f"  fix: {rule.fix}")
        print(f"  more: kcompat explain {rule.code}")
    return 0


def run_schema(args: argparse.Namespace) -> int:
    from kcompat.report import json_report

    print(json_report.schema())
    return 0

