"""`kcompat rules`, `kcompat explain` and `kcompat schema`: the catalog and the report's contract."""

from __future__ import annotations

import argparse

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

