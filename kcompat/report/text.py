"""The terminal summary: one line per finding, grouped per artifact."""

from __future__ import annotations

from kcompat.model import Artifact, Report, Severity


def saved_by(artifact: Artifact) -> str:
    parts = []
    if artifact.keras_version:
        parts.append(f"Keras {artifact.keras_version}")
    if artifact.tensorflow_version:
        parts.append(f"TF {artifact.tensorflow_version}")
    if artifact.backend:
        parts.append(f"backend {artifact.backend}")
    return ("saved by " + ", ".join(parts)) if parts else ""


def facts(artifact: Artifact) -> list[str]:
    lines = []
    if artifact.model_class:
        lines.append(f"    model: {artifact.model_class}, {len(artifact.layers)} layers")
    if artifact.saved_model:
        sigs = ", ".join(s.key for s in artifact.saved_model.signatures) or "none"
        lines.append(f"    signatures: {sigs}; ops: {len(artifact.saved_model.ops)}")
    return lines


def render(report: Report, verbose: bool = False, quiet: bool = False) -> str:
    out: list[str] = []
    for entry in report.artifacts:
        a = entry.artifact
        if not quiet:
            out.append(f"{a.path}  [{a.format.value}]  {saved_by(a)}".rstrip())
            if verbose:
                out.extend(facts(a))
        for f in entry.findings:
            where = f" at {f.location}" if f.location else ""
            prefix = f"{a.path}: " if quiet else "  "
            out.append(f"{prefix}{f.code} {f.severity.value} {f.name}{where}: {f.message}")
            if f.fix and not quiet:
                out.append(f"      fix: {f.fix}")
    if not quiet:
        counts = {s: sum(f.severity is s for f in report.findings) for s in Severity}
        verdict = "FAIL" if report.exit_code == 1 else "ok"
        out.append(
            f"{len(report.artifacts)} artifact(s): {counts[Severity.error]} error(s), "
            f"{counts[Severity.warning]} warning(s), {counts[Severity.info]} info "
            f"in {report.duration_s:.2f}s; {verdict} (fail-on {report.fail_on.value})"
        )
    return "\n".join(out)
