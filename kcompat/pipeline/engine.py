"""Run the selected rules over each Artifact and collect Findings."""

from __future__ import annotations

import fnmatch
from typing import Any

from kcompat.catalog import STAGES, Rule, load_catalog
from kcompat.checks.base import Hit
from kcompat.config import RunConfig
from kcompat.model import Artifact, Finding, Severity, sha256


def matches(rule: Rule, selectors: list[str]) -> bool:
    return any(rule.code.startswith(s.upper()) or rule.name == s.lower() for s in selectors)


def selected_rules(config: RunConfig, catalog: dict[str, Rule] | None = None) -> list[Rule]:
    catalog = catalog or load_catalog()
    rules = [r for r in catalog.values() if not config.select or matches(r, config.select)]
    return [r for r in rules if not matches(r, config.ignore)]


def severity_for(rule: Rule, config: RunConfig, hit: Hit | None = None) -> Severity:
    """The user's override first, then what the check said of this finding, then the rule's default."""
    own = Severity(hit.severity) if hit is not None and hit.severity else None
    return config.severity.get(rule.code) or config.severity.get(rule.name) or own or rule.severity


def path_ignored(rule: Rule, path: str, config: RunConfig) -> bool:
    return any(
        fnmatch.fnmatch(path, pattern) and matches(rule, codes)
        for pattern, codes in config.per_path_ignores.items()
    )


def fingerprint(code: str, key: str) -> str:
    """Identity of a finding within its artifact; the path is matched beside it, however it was typed."""
    return sha256(f"{code}\0{key}".encode()).hexdigest()[:16]


def make_finding(rule: Rule, artifact: Artifact, hit: Hit, config: RunConfig) -> Finding:
    key = hit.key or hit.location or ""
    locations = hit.evidence.get("locations") if hit.group else None
    return Finding(
        code=rule.code, name=rule.name, severity=severity_for(rule, config, hit), message=hit.message,
        path=artifact.path, location=hit.location, fix=hit.fix or rule.fix or None,
        evidence=hit.evidence, fingerprint=fingerprint(rule.code, key),
        locations=list(locations) if isinstance(locations, list) else ([hit.location] if hit.location else []),
    )


def shorten(names: list[str], most: int = 3) -> str:
    return ", ".join(names) if len(names) <= most else f"{', '.join(names[:most - 1])} … {names[-1]}"


def grouped(hits: list[Hit]) -> list[Hit]:
    """One hit per cause: a rule's hits that share a group become one, which keeps every location."""
    out: list[Hit] = []
    groups: dict[str, list[Hit]] = {}
    for hit in hits:
        if hit.group is None:
            out.append(hit)
        elif hit.group not in groups:
            groups[hit.group] = [hit]
            out.append(hit)
        else:
            groups[hit.group].append(hit)
    for name, members in groups.items():
        if len(members) == 1:
            continue
        first = members[0]
        locations = [h.location for h in members if h.location]
        template = first.group_message or "{n} places ({locations}): " + first.message
        index = next(i for i, h in enumerate(out) if h is first)
        evidence = {**first.evidence, "locations": locations}
        if any("breaks" not in h.evidence for h in members):  # the group breaks what any member breaks
            evidence.pop("breaks", None)
        else:
            evidence["breaks"] = sorted({b for h in members for b in h.evidence["breaks"]})
        out[index] = Hit(template.format(n=len(members), locations=shorten(locations)), location=first.location,
                         fix=first.fix, evidence=evidence, key=f"group:{name}",
                         severity=first.severity, group=name)
    return out


def env_missing(env: Any) -> str | None:
    """Why environment rules cannot judge here, so that they skip instead of reporting false errors."""
    if env is None:
        return "no environment snapshot; pass --python or --profile"
    if not any(env.versions.get(k) for k in ("keras", "tensorflow", "tf_keras")):
        return f"neither TensorFlow nor Keras is installed in {env.python_executable}; pass --python or --profile"
    return None


def run_rules(artifact: Artifact, env: Any, config: RunConfig, rules: list[Rule]) -> tuple[list[Finding], list[dict]]:
    """Findings, plus the rules skipped for this artifact with the reason."""
    findings: list[Finding] = []
    skipped: list[dict] = []
    for rule in rules:
        check = rule.function()
        if check is None or path_ignored(rule, artifact.path, config):
            continue
        reason = env_missing(env) if rule.needs_env else None
        if reason:
            skipped.append({"code": rule.code, "reason": reason})
            continue
        try:
            hits = list(check(artifact, env))
        except Exception as exc:  # a rule bug is reported, never a traceback
            hits = []
            skipped.append({"code": rule.code, "reason": f"rule raised {type(exc).__name__}: {exc}"})
        findings.extend(make_finding(rule, artifact, hit, config) for hit in grouped(hits))
    sort_findings(findings, artifact)
    return findings, skipped


def layer_position(artifact: Artifact | None, location: str | None) -> int:
    """Where in the model config a location lies: loaders rebuild layers in config order."""
    if artifact is None or not location or location == "<model>":
        return -1
    for index, layer in enumerate(artifact.layers):
        if location == layer.path or location.startswith((layer.path + ".", layer.path + "[")):
            return index
    return len(artifact.layers)


def sort_findings(findings: list[Finding], artifact: Artifact | None = None) -> None:
    """Errors first, each severity in the order a load meets them (stage, then position in the config),
    then by code and location: the order every report shows."""
    catalog = load_catalog()

    def stage(code: str) -> tuple[int, int]:
        rule = catalog.get(code)
        return (rule.stage_rank, rule.order) if rule else (len(STAGES), 0)

    findings.sort(key=lambda f: (-f.severity.rank, stage(f.code)[0], layer_position(artifact, f.location),
                                 stage(f.code)[1], f.code, f.location or ""))
