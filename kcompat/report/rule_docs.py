"""Rule docs for the HTML report: a tiny Markdown subset turned into blocks of spans.

The blocks are plain data; the template escapes every value it prints.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

INLINE_RE = re.compile(r"`([^`]+)`|\[([^\]]+)\]\((https?://[^)\s]+)\)|(https?://[^\s)>\]]+)")


def spans(text: str) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    pos = 0
    for m in INLINE_RE.finditer(text):
        if m.start() > pos:
            out.append({"kind": "text", "text": text[pos:m.start()]})
        if m.group(1) is not None:
            out.append({"kind": "code", "text": m.group(1)})
        elif m.group(2) is not None:
            out.append({"kind": "link", "text": m.group(2), "href": m.group(3)})
        else:
            out.append({"kind": "link", "text": m.group(4), "href": m.group(4)})
        pos = m.end()
    if pos < len(text):
        out.append({"kind": "text", "text": text[pos:]})
    return out


def markdown_blocks(doc: str) -> list[dict[str, Any]]:
    """Headings (##, ###), fenced code, bullet lists and paragraphs; the top '# ' title is dropped."""
    blocks: list[dict[str, Any]] = []
    para: list[str] = []
    items: list[str] = []

    def flush() -> None:
        if para:
            blocks.append({"kind": "p", "spans": spans(" ".join(para))})
            para.clear()
        if items:
            blocks.append({"kind": "ul", "entries": [spans(i) for i in items]})
            items.clear()

    lines = doc.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith("```"):
            flush()
            code: list[str] = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith("```"):
                code.append(lines[i])
                i += 1
            blocks.append({"kind": "pre", "text": "\n".join(code)})
        elif stripped.startswith("# "):
            flush()
        elif stripped.startswith("#"):
            flush()
            blocks.append({"kind": "h", "text": stripped.lstrip("#").strip()})
        elif stripped.startswith(("- ", "* ")):
            if para:
                flush()
            items.append(stripped[2:].strip())
        elif not stripped:
            flush()
        elif items and line.startswith("  "):
            items[-1] += " " + stripped
        else:
            if items:
                flush()
            para.append(stripped)
        i += 1
    flush()
    return blocks


def rule_views(codes: Iterable[str]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from kcompat.catalog import load_catalog

    catalog = load_catalog()
    docs = []
    found = {}
    for code in sorted(set(codes)):
        rule = catalog.get(code)
        if rule is None:
            continue
        found[code] = rule
        docs.append({"code": rule.code, "name": rule.name, "anchor": rule.anchor, "title": rule.title,
                     "severity": rule.severity.value, "family": rule.family, "blocks": markdown_blocks(rule.doc)})
    return docs, found
