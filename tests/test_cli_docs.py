"""Everything a user can type is documented: hook ids, subcommands, long flags and rule codes.

The flags are found by walking the real argparse parsers, so a new flag without a README line
fails here (pre-commit-hooks style: every hook in .pre-commit-hooks.yaml is in the README).
"""

from __future__ import annotations

import argparse
import re

import pytest
import yaml

from kcompat.catalog import load_catalog
from kcompat.cli import build_parser
from kcompat.cli.env import build_parser as build_env_parser
from tests.helpers import ROOT

README = ROOT / "README.md"


def hook_ids() -> list[str]:
    return [hook["id"] for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())]


def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:  # noqa: SLF001 - argparse exposes no public walker
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            return dict(action.choices)
    return {}


def long_flags(parser: argparse.ArgumentParser) -> set[str]:
    return {opt for action in parser._actions for opt in action.option_strings  # noqa: SLF001
            if opt.startswith("--") and opt != "--help"}


def commands() -> dict[str, argparse.ArgumentParser]:
    found = subparsers(build_parser())
    found["env"] = build_env_parser()  # `kcompat env` owns its own parser
    return found


def everything() -> list[tuple[str, str]]:
    """(kind, text) pairs that must appear in the docs; a flag shared by subcommands counts once."""
    items = [("hook", hook) for hook in hook_ids()]
    owners: dict[str, list[str]] = {flag: ["kcompat"] for flag in long_flags(build_parser())}
    for name, parser in sorted(commands().items()):
        items.append(("subcommand", f"kcompat {name}"))
        for flag in long_flags(parser):
            owners.setdefault(flag, []).append(name)
    items += [(f"flag of {'/'.join(names)}", flag) for flag, names in sorted(owners.items())]
    return items




def mentioned(text: str, needle: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(needle)}(?![\w-])", text) is not None


def test_the_walk_sees_the_parsers():
    names = commands()
    assert {"check", "rules", "explain", "schema", "env", "config", "baseline"} <= set(names)
    assert {"--fail-on", "--exit-zero", "--baseline", "--config", "--select"} <= long_flags(names["check"])
    assert hook_ids() == ["kcompat", "kcompat-load"]


def test_every_hook_is_a_console_script_name():
    """pre-commit-hooks style: the hook id is the console script it runs."""
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    for hook in hooks:
        assert hook["entry"].split()[0] == hook["id"], hook


@pytest.mark.parametrize(("kind", "needle"), everything(), ids=lambda v: str(v))
def test_readme_documents(kind, needle):
    assert mentioned(README.read_text("utf-8"), needle), f"README.md does not mention the {kind} {needle!r}"


def test_readme_lists_every_rule_code():
    readme = README.read_text("utf-8")
    missing = [code for code in load_catalog() if not mentioned(readme, code)]
    assert not missing, f"README.md does not list the rule codes {missing} (generate the table with `kcompat rules --markdown`)"


def test_every_rule_code_has_its_doc():
    for code, rule in load_catalog().items():
        assert mentioned(rule.doc, code), f"{rule.source} does not mention {code}"


def test_env_lists_the_shipped_profiles_and_loads_one_by_name():
    from kcompat.cli import main
    from kcompat.releases.store import index

    names = sorted(index()["aliases"])
    assert {"keras3.15-tf2.21", "tf2.15", "tf_keras2.21"} <= set(names)
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["env", "--list-profiles"]) == 0
    listed = [line.split()[0] for line in out.getvalue().splitlines()]
    assert listed == names
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["env", "--profile", "tf2.15"]) == 0
    assert "keras=2.15.0" in out.getvalue()
    assert main(["env", "--no-such-flag"]) == 2
