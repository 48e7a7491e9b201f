"""SARIF 2.1.0 for code scanning: the rule catalog as tool.driver.rules, one result per finding.

Each result points at the artifact path (a relative URI when the path was given relative,
a file: URI when absolute) and, when the finding has a location (a layer path or a file
member), names it in logicalLocations. partialFingerprints carries the finding's stable
fingerprint, so code scanning tracks a finding across runs the same way the baseline does.
"""

from __future__ import annotations

import json
import posixpath
import re
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from kcompat.model import Finding, Report, Severity
from kcompat.report.matrix import sarif_properties

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
LEVELS = {Severity.error: "error", Severity.warning: "warning", Severity.info: "note"}
HELP_SECTIONS = ("What it flags", "Why it breaks", "How to fix")


def artifact_uri(path: str) -> str:
    """A URI reference for an artifact path: relative paths stay relative, percent-encoded."""
    posix = path.replace("\\", "/")
    if re.match(r"^[A-Za-z]:/", posix):  # a Windows drive path
        return "file:///" + posix[:2] + quote(posix[2:], safe="/")
    if posix.startswith("/"):
        return "file://" + quote(posixpath.normpath(posix), safe="/")
    normalised = PurePosixPath(posix).as_posix()
    return quote(normalised, safe="/")


def rule_descriptor(rule: Any) -> dict[str, Any]:
    sections = rule.sections
    text = "\n\n".join(f"{name}: {sections[name]}" for name in HELP_SECTIONS if sections.get(name))
    full = sections.get("What it flags") or rule.title
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": full},
        "help": {"text": text or rule.title, "markdown": rule.doc or rule.title},
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
        "properties": {"tags": [rule.family], "kcompat-anchor": rule.anchor},
    }


def unknown_descriptor(finding: Finding) -> dict[str, Any]:
    return {
        "id": finding.code,
        "name": finding.name,
        "shortDescription": {"text": finding.name.replace("-", " ")},
        "defaultConfiguration": {"level": LEVELS[finding.severity]},
    }


def logical_kind(finding: Finding, members: set[str]) -> str:
    return "resource" if finding.location in members else "object"


def result(finding: Finding, index: int, members: set[str]) -> dict[str, Any]:
    text = finding.message
    if finding.fix:
        text = f"{text}\nFix: {finding.fix}"
    location: dict[str, Any] = {
        "physicalLocation": {"artifactLocation": {"uri": artifact_uri(finding.path)}},
    }
    if finding.location:
        name = finding.location.rstrip("/").rsplit("/", 1)[-1] or finding.location
        location["logicalLocations"] = [{
            "name": name,
            "fullyQualifiedName": finding.location,
            "kind": logical_kind(finding, members),
        }]
    out: dict[str, Any] = {
        "ruleId": finding.code,
        "ruleIndex": index,
        "level": LEVELS[finding.severity],
        "message": {"text": text},
        "locations": [location],
        "partialFingerprints": {"kcompat/v1": finding.fingerprint},
        "properties": {"name": finding.name, "severity": finding.severity.value},
    }
    if finding.evidence:
        out["properties"]["evidence"] = finding.evidence
    return out


def build(report: Report) -> dict[str, Any]:
    from kcompat.catalog import load_catalog

    catalog = load_catalog()
    descriptors = [rule_descriptor(rule) for rule in sorted(catalog.values(), key=lambda r: r.code)]
    index = {d["id"]: i for i, d in enumerate(descriptors)}
    for finding in report.findings:
        if finding.code not in index:  # a code missing from the catalog still gets a descriptor
            index[finding.code] = len(descriptors)
            descriptors.append(unknown_descriptor(finding))
    results = []
    artifacts = []
    for entry in report.artifacts:
        a = entry.artifact
        members = set(a.members)
        artifact: dict[str, Any] = {"location": {"uri": artifact_uri(a.path)}, "roles": ["analysisTarget"],
                                    "properties": {"format": a.format.value}}
        if a.size_bytes:
            artifact["length"] = a.size_bytes
        artifacts.append(artifact)
        results.extend(result(f, index[f.code], members) for f in entry.findings)
    run: dict[str, Any] = {
        "tool": {"driver": {
            "name": report.tool,
            "version": report.tool_version,
            "semanticVersion": report.tool_version,
            "rules": descriptors,
        }},
        "invocations": [{
            "executionSuccessful": True,
            "exitCode": report.exit_code,
            "startTimeUtc": report.started_at.replace("+00:00", "Z"),
        }],
        "artifacts": artifacts,
        "results": results,
        "columnKind": "unicodeCodePoints",
        "properties": {"schema_version": report.schema_version, "fail_on": report.fail_on.value,
                       "duration_s": report.duration_s},
    }
    if report.matrix:  # kcompat matrix / check with several --target: release x loader per artifact
        run["properties"]["matrix"] = sarif_properties(report)
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def render(report: Report) -> str:
    return json.dumps(build(report), indent=2, default=str)
