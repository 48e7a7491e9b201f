"""Turn a guarded-load matrix into findings in the static rules' language, and compare verdicts.

Parent side only: the load itself runs in kcompat.load's subprocesses.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from kcompat.catalog import load_catalog
from kcompat.config import RunConfig
from kcompat.pipeline.engine import fingerprint, severity_for
from kcompat.model import Artifact, Finding, Severity
from kcompat.pipeline.verdict import Prediction



def describe(attempt: Any) -> str:
    if attempt.signal:
        return f"crashed with {attempt.signal}"
    if attempt.status == "timeout":
        return "no result before the timeout; killed"
    if attempt.status == "oom":
        return "memory cap reached; killed"
    if attempt.status == "ok" and attempt.agrees is False:
        return f"outputs differ: max abs diff {attempt.max_abs_diff:.3g}, max rel diff {attempt.max_rel_diff:.3g}"
    head = f"{attempt.exception_type}: " if attempt.exception_type else ""
    return f"{head}{attempt.message or attempt.status}"


def alternative_loaders(env: Any) -> set[str]:
    """Loaders other than the target's own Keras: their failures matter less when that one works."""
    if env is not None and env.tf_use_legacy_keras and env.versions.get("tf_keras"):
        return {"keras", "keras-nocompile"}
    return {"tf_keras"}


def meant_for(loader: str, meant: list[str] | None) -> bool:
    if meant is None:
        return True
    return loader in meant or (not meant and loader == "config+weights")  # weights: their restore path


def load_findings(artifact: Artifact, matrix: Any, static: list[Finding], config: RunConfig,
                  alternative: set[str] = frozenset(), meant: list[str] | None = None) -> list[Finding]:
    """One finding per code; a code the static rules already reported is marked confirmed instead.

    A failure seen only with an alternative loader (tf_keras under a Keras 3 target) is a warning; one
    seen only with loaders the artifact is not meant for (``meant``) is a fact (info), so a healthy
    model's load is quiet. KC809 is about the user's own training under MultiWorkerMirroredStrategy: a
    warning only when they asked for that strategy."""
    catalog = load_catalog()
    grouped: dict[str, list[Any]] = defaultdict(list)
    for attempt in matrix.attempts:
        if attempt.code and attempt.status not in ("skipped",):
            grouped[attempt.code].append(attempt)
    static_codes = {f.code for f in static}
    out: list[Finding] = []
    for code, attempts in sorted(grouped.items()):
        where = ", ".join(f"{a.loader}/{a.strategy}" for a in attempts)
        if code in static_codes:
            for finding in static:
                if finding.code == code:
                    finding.evidence["confirmed_by_load"] = where
            continue
        rule = catalog.get(code) or catalog["KC801"]
        first = attempts[0]
        severity = severity_for(rule, config)
        only_alternative = all(a.loader in alternative for a in attempts)
        not_meant = not any(meant_for(a.loader, meant) for a in attempts)
        asked_mwms = "multi-worker" in (config.load.strategies or [])
        note = ""
        if not config.severity.get(rule.code):
            if not_meant:
                severity = Severity.info
                note = f" (only with loaders this artifact is not meant for; it is meant for {', '.join(meant) or 'its restore path'})"
            elif code == "KC809" and not asked_mwms:
                severity = Severity.info
                note = " (your own training under MultiWorkerMirroredStrategy would hit this; --strategy multi-worker makes it a warning)"
            elif only_alternative and severity is Severity.error:
                severity = Severity.warning
                note = " (only with an alternative loader; the target's own loader is judged separately)"
        out.append(Finding(
            code=rule.code, name=rule.name, severity=severity,
            message=f"{first.loader}/{first.strategy}: {describe(first)}{note}", path=artifact.path, location=where,
            fix=rule.fix or None, fingerprint=fingerprint(rule.code, "load"),
            evidence={"attempts": len(attempts), "traceback_tail": first.traceback_tail,
                      "stdout_tail": first.stdout_tail, "signal": first.signal},
        ))
    return out


def disagreements(artifact: Artifact, matrix: Any, predictions: list[Prediction], config: RunConfig) -> list[Finding]:
    """KC808 for each loader whose default-strategy outcome contradicts the static verdict."""
    rule = load_catalog()["KC808"]
    real = {a.loader: a for a in matrix.attempts if a.strategy == "default" and a.status != "skipped"}
    out = []
    for prediction in predictions:
        attempt = real.get(prediction.loader)  # the verdict and the load name loaders alike
        if attempt is None or attempt.status == "refused-unsafe":
            continue
        loaded = attempt.loaded  # the static verdict is about loading; running it is judged separately
        if loaded == prediction.ok:
            continue
        said = "loads" if prediction.ok else f"fails ({', '.join(prediction.codes)})"
        got = "loaded" if loaded else describe(attempt)
        out.append(Finding(
            code=rule.code, name=rule.name, severity=severity_for(rule, config),
            message=f"{prediction.loader}: static verdict '{said}', real load '{got}'",
            path=artifact.path, location=prediction.loader, fix=rule.fix or None,
            fingerprint=fingerprint(rule.code, prediction.loader),
            evidence={"static": prediction.model_dump(), "real_status": attempt.status, "real_code": attempt.code},
        ))
    return out
