"""The catalog itself: codes, names, fixed doc sections, a check per rule, and cases."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from kcompat.catalog import DOC_SECTIONS, Rule, front_matter, load_catalog

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

RULES = list(load_catalog().values())


def test_catalog_is_not_empty_and_codes_are_unique():
    assert len(RULES) >= 19
    assert len({r.name for r in RULES}) == len(RULES)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_rule_doc_has_every_section(rule):
    missing = [s for s in DOC_SECTIONS if not rule.sections.get(s)]
    assert not missing, f"{rule.source} lacks sections {missing}"
    assert list(rule.sections)[: len(DOC_SECTIONS)] == list(DOC_SECTIONS), "sections are in the fixed order"
    assert rule.doc.startswith(f"# {rule.code} {rule.name}")
    assert "```" in rule.sections["How to fix"] or len(rule.sections["How to fix"]) > 20


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_front_matter_reads_as_tomllib_reads_it(rule):
    text = Path(rule.source).read_text("utf-8").split("+++\n")[1]
    assert front_matter(text) == tomllib.loads(text)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_rule_fields_have_their_declared_types(rule):
    # records are not validated when a doc is read at start-up; pydantic checks every field's type here
    assert Rule.model_validate(rule.model_dump()) == rule


@pytest.mark.parametrize("text", [
    'breaks = [\n  "keras",\n]\ncode = "KC100"',  # a multi-line array
    "title = 'literal \\d'",  # a literal string
    "order = 1.5",  # a float
    "order = 1_000",
    "stage = 1979-05-27",
    "fix = { a = 1 }",
    "code = \"KC100\"\ncode = \"KC101\"",  # a key twice: tomllib refuses
    "fix = null",
    "name = \"\\U0001F600\"",  # an escape JSON does not have
    "title = \"x\" trailing",
])
def test_front_matter_hands_any_other_toml_to_tomllib(text):
    try:
        expected = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        with pytest.raises(tomllib.TOMLDecodeError):
            front_matter(text)
        return
    assert front_matter(text) == expected


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_rule_file_is_named_after_code_and_family(rule):
    path = Path(rule.source)
    assert path.name == f"{rule.code}-{rule.name}.md"
    assert path.parent.name.startswith(rule.code[2])


@pytest.mark.parametrize("rule", [r for r in RULES if r.check], ids=lambda r: r.code)
def test_rule_has_check_and_both_kinds_of_case(rule):
    assert callable(rule.function())
    cases = tomllib.loads(Path(rule.source.replace(".md", ".cases.toml")).read_text())["case"]
    expects = {c["expect"] for c in cases}
    assert expects == {"pass", "fail"}, f"{rule.code} needs at least one passing and one failing case"


def test_codes_are_never_reused():
    retired = Path(__file__).parent.parent / "rules" / "RETIRED"
    old = set(re.findall(r"KC\d{3}", retired.read_text())) if retired.exists() else set()
    assert not old & {r.code for r in RULES}


REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_references_are_public_links(rule):
    """Users have the docs (`kcompat explain`), not our notes: every reference is a public URL, or a file
    this repository ships (README.md#section)."""
    lines = [line for line in rule.sections["References"].splitlines() if line.strip()]
    assert lines, f"{rule.source} lists no reference"

    def shipped(line: str) -> bool:
        match = re.match(r"^- ([\w./-]+\.md)(#[\w-]+)?$", line)
        return bool(match) and (REPO / match.group(1)).is_file()

    bad = [line for line in lines if not re.match(r"^- <?https?://\S+", line) and not shipped(line)]
    assert not bad, f"{rule.source}: references that are not public links: {bad}"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_doc_names_no_file_outside_the_repository(rule):
    named = set(re.findall(r"(?<![\w/.-])([\w-]+\.md)\b", rule.doc))
    outside = {name for name in named if not any(REPO.glob(f"**/{name}"))}
    assert not outside, f"{rule.source} names files users do not have: {sorted(outside)}"
