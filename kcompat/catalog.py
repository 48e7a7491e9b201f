"""The rule catalog: one Markdown file per rule under rules/, with TOML front matter.

The catalog is the registry: each rule file names its check function, so adding a rule
means writing its check, its doc and its cases, and nothing else.
"""

from __future__ import annotations

import importlib
import json
import re
import sys
from functools import lru_cache
from pathlib import Path
from typing import Callable

from kcompat.record import Field, Record, validator

from kcompat.model import Severity

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DOC_SECTIONS = ("What it flags", "Why it breaks", "Example message", "How to fix", "References")
CODE_RE = re.compile(r"^KC[1-8]\d\d$")
NAME_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
FAMILIES = {
    "1": "format and integrity", "2": "versions", "3": "custom objects and layer arguments",
    "4": "optimizer and training config", "5": "backend, dtype and device", "6": "signatures and ops",
    "7": "unsafe content", "8": "guarded-load results",
}
CHECKS_PACKAGE = "kcompat.checks"
# When in a load a rule's error is hit: loaders read the file, decide its format, rebuild the model from
# its config layer by layer, restore weights, compile, then run. The first error a load raises is the
# earliest stage's, so reports list errors in this order ("To fix the first error" is the one a real
# load meets first). A rule's `stage` front-matter key overrides its family's default.
STAGES = ("file", "format", "config", "weights", "compile", "run")
FAMILY_STAGE = {"1": "file", "2": "format", "3": "config", "4": "compile", "5": "config", "6": "run",
                "7": "config", "8": "run"}


class Rule(Record, frozen=True, extra="forbid"):
    code: str
    name: str
    severity: Severity
    title: str
    check: str | None = None  # "module:function" inside kcompat.checks; None for guarded-load codes
    fixer: str | None = None  # "module:function" inside kcompat.checks that rewrites a copy (kcompat fix)
    needs_env: bool = False
    # Loaders this rule's error findings say will fail: keras, keras-nocompile, tf_keras, tf_saved_model, tfsmlayer.
    breaks: list[str] = Field(default_factory=list)
    stage: str = ""  # one of STAGES; empty: the family's default (FAMILY_STAGE)
    order: int = 50  # within one stage and one layer, lower is met first (e.g. a layer's dtype before its arguments)
    # The error is about handing the artifact to a model loader (a weights file to load_model): for an
    # artifact not meant for one (weights, checkpoints), it is a warning. See pipeline/intent.py.
    loader_mismatch: bool = False
    fix: str = ""
    doc: str = ""
    sections: dict[str, str] = Field(default_factory=dict)
    source: str = ""

    @staticmethod
    @validator("code")
    def _code(value: str) -> str:
        if not CODE_RE.match(value):
            raise ValueError(f"rule code {value!r} is not KC plus three digits with a family 1-8")
        return value

    @staticmethod
    @validator("name")
    def _name(value: str) -> str:
        if not NAME_RE.match(value):
            raise ValueError(f"rule name {value!r} is not kebab-case")
        return value

    @staticmethod
    @validator("stage")
    def _stage(value: str) -> str:
        if value and value not in STAGES:
            raise ValueError(f"stage {value!r} is not one of {', '.join(STAGES)}")
        return value

    @property
    def stage_rank(self) -> int:
        return STAGES.index(self.stage or FAMILY_STAGE[self.code[2]])

    @property
    def family(self) -> str:
        return FAMILIES[self.code[2]]

    @property
    def anchor(self) -> str:
        return f"{self.code.lower()}-{self.name}"

    def function(self) -> Callable | None:
        return _resolve(self.check)

    def fixer_function(self) -> Callable | None:
        return _resolve(self.fixer)


@lru_cache(maxsize=None)
def _resolve(target: str | None) -> Callable | None:
    if not target:
        return None
    module, _, func = target.partition(":")
    return getattr(importlib.import_module(f"{CHECKS_PACKAGE}.{module}"), func)


def rules_dir() -> Path:
    packaged = Path(__file__).parent / "_rules"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parent.parent / "rules"


_LINE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*) = (.+)")
_DECODE = json.JSONDecoder().raw_decode


def front_matter(text: str) -> dict:
    """A rule doc's TOML front matter. Its lines are ``key = value`` with values that read the same as JSON
    (strings, booleans, integers, arrays of strings), which json reads ~10x faster than tomllib: 89 docs
    are read at the start of every check. Any other line goes to tomllib, whole."""
    data: dict = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.fullmatch(line)
        if match is None or match[1] in data:
            return tomllib.loads(text)
        try:
            value, end = _DECODE(match[2])
        except ValueError:
            return tomllib.loads(text)
        rest = match[2][end:].strip()
        if (rest and not rest.startswith("#")) or value is None or isinstance(value, (float, dict)) or (
                isinstance(value, list) and not all(isinstance(v, str) for v in value)):
            return tomllib.loads(text)
        data[match[1]] = value
    return data


def parse_rule(path: Path) -> Rule:
    text = path.read_text("utf-8")
    match = re.match(r"\A\+\+\+\n(.*?)\n\+\+\+\n(.*)\Z", text, re.S)
    if not match:
        raise ValueError(f"{path}: missing +++ TOML front matter")
    meta = front_matter(match.group(1))
    body = match.group(2)
    parts = re.split(r"^## (.+)\n", body, flags=re.M)  # [preamble, title, text, title, text, ...]
    sections = {title.strip(): text.strip() for title, text in zip(parts[1::2], parts[2::2])}
    return Rule(**meta, doc=body.strip(), sections=sections, source=str(path))


@lru_cache(maxsize=4)
def load_catalog(directory: Path | None = None) -> dict[str, Rule]:
    rules: dict[str, Rule] = {}
    for path in sorted((directory or rules_dir()).glob("*/KC*.md")):
        rule = parse_rule(path)
        if rule.code in rules:
            raise ValueError(f"duplicate rule code {rule.code} in {path} and {rules[rule.code].source}")
        rules[rule.code] = rule
    return rules


def lookup(key: str, catalog: dict[str, Rule] | None = None) -> Rule | None:
    catalog = catalog or load_catalog()
    key_upper = key.upper()
    if key_upper in catalog:
        return catalog[key_upper]
    return next((r for r in catalog.values() if r.name == key.lower()), None)
