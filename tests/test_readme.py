"""The README tells the truth: its rule table is the catalog, and its quick start is two commands."""

from __future__ import annotations

import re

from kcompat.catalog import load_catalog
from kcompat.cli.rules import rules_markdown
from tests.helpers import ROOT

README = (ROOT / "README.md").read_text()


def test_rule_table_matches_the_catalog():
    table = re.search(r"<!-- rules:start -->\n(.*?)\n?<!-- rules:end -->", README, re.S).group(1).strip()
    expected = rules_markdown(list(load_catalog().values()))
    assert table == expected, "regenerate with: PYTHONPATH=. python tests/test_readme.py"


def test_quick_start_is_two_commands_and_ci_runs_the_second():
    block = re.search(r"## Quick start.*?```\n(.*?)```", README, re.S).group(1).strip().splitlines()
    assert len(block) == 2
    assert block[1] in (ROOT / ".ci" / "run").read_text()
    for path in re.findall(r"fixtures/\S+", block[0]):
        assert (ROOT / path).exists(), path


if __name__ == "__main__":
    text = rules_markdown(list(load_catalog().values()))
    new = re.sub(r"<!-- rules:start -->.*?<!-- rules:end -->", f"<!-- rules:start -->\n{text}\n<!-- rules:end -->", README, flags=re.S)
    (ROOT / "README.md").write_text(new)
