"""The HTML report: one self-contained, offline, printable file.

Everything the page shows is prepared here as plain view-model dicts; the jinja2 templates
under ``templates/`` only loop and branch over them, with autoescape on for every value.
The only raw (unescaped) text in the page is the static CSS and JS shipped beside the
templates; a Content-Security-Policy pins that one script by hash, forbids every other
script and every network fetch, so the file works offline and a hostile string that got
past escaping still could not run.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from kcompat.model import FIX_STATUS_WORDS, Artifact, ArtifactReport, Finding, Layer, Report, Severity
from kcompat.report.html_grid import loads_grid
from kcompat.report.matrix import grid as release_grid
from kcompat.report.rule_docs import rule_views

TEMPLATES = Path(__file__).parent / "templates"

# ---------------------------------------------------------------------------------------
# Verdicts

VERDICTS = {
    "ship": {"label": "ship", "sentence": "no error or warning findings"},
    "fix": {"label": "fix first", "sentence": "warnings to fix; the load should still work"},
    "cannot": {"label": "cannot load here", "sentence": "at least one error: the load fails or gives wrong results here"},
}
SEVERITY_LABELS = {Severity.error: "Errors", Severity.warning: "Warnings", Severity.info: "Info"}


def verdict(entry: ArtifactReport) -> str:
    """'cannot' with any error finding, 'fix' with any warning, else 'ship'."""
    severities = {f.severity for f in entry.findings}
    if Severity.error in severities:
        return "cannot"
    if Severity.warning in severities:
        return "fix"
    return "ship"


# ---------------------------------------------------------------------------------------
# Custom layers
#
# Heuristic (documented in docs/README.md): a layer is custom when
#   1. its registered_name contains '>' (Keras 3 'package>Name' registration), or
#   2. its module is set and its top-level package is not keras / tf_keras (or
#      tensorflow's bundled keras), or
#   3. it has no module (Keras 1/2 configs) and its class name is not a known built-in.

BUILTIN_PACKAGES = ("keras", "tf_keras")
BUILTIN_MODULE_PREFIXES = ("tensorflow.keras", "tensorflow.python.keras")
BUILTIN_CLASSES = frozenset("""
Activation ActivityRegularization Add AdditiveAttention AlphaDropout Attention Average AveragePooling1D
AveragePooling2D AveragePooling3D AvgPool1D AvgPool2D AvgPool3D BatchNormalization Bidirectional CategoryEncoding
CenterCrop Concatenate Conv1D Conv1DTranspose Conv2D Conv2DTranspose Conv3D Conv3DTranspose ConvLSTM1D ConvLSTM2D
ConvLSTM3D Convolution1D Convolution2D Convolution3D Cropping1D Cropping2D Cropping3D Dense DenseFeatures
DepthwiseConv1D DepthwiseConv2D Discretization Dot Dropout EinsumDense ELU Embedding Flatten Functional GaussianDropout
GaussianNoise GlobalAveragePooling1D GlobalAveragePooling2D GlobalAveragePooling3D GlobalAvgPool1D GlobalAvgPool2D
GlobalAvgPool3D GlobalMaxPool1D GlobalMaxPool2D GlobalMaxPool3D GlobalMaxPooling1D GlobalMaxPooling2D
GlobalMaxPooling3D GroupNormalization GroupQueryAttention GRU GRUCell HashedCrossing Hashing Identity InputLayer
InputSpec IntegerLookup Lambda LayerNormalization LeakyReLU LocallyConnected1D LocallyConnected2D LSTM LSTMCell
Masking Maximum MaxPool1D MaxPool2D MaxPool3D MaxPooling1D MaxPooling2D MaxPooling3D Minimum Model
MultiHeadAttention Multiply Normalization Permute PReLU RandomBrightness RandomContrast RandomCrop RandomFlip
RandomHeight RandomRotation RandomTranslation RandomWidth RandomZoom ReLU RepeatVector Rescaling Reshape Resizing
RNN SeparableConv1D SeparableConv2D SeparableConvolution1D SeparableConvolution2D Sequential SimpleRNN
SimpleRNNCell Softmax SpatialDropout1D SpatialDropout2D SpatialDropout3D SpectralNormalization StackedRNNCells
StringLookup Subtract TextVectorization TFOpLambda SlicingOpLambda ThresholdedReLU TimeDistributed TorchModuleWrapper
UnitNormalization UpSampling1D UpSampling2D UpSampling3D Wrapper ZeroPadding1D ZeroPadding2D ZeroPadding3D
""".split())


def is_custom(layer: Layer) -> bool:
    if layer.registered_name and ">" in layer.registered_name:
        return True
    if layer.module:
        top = layer.module.split(".", 1)[0]
        return not (top in BUILTIN_PACKAGES or layer.module.startswith(BUILTIN_MODULE_PREFIXES))
    return layer.class_name not in BUILTIN_CLASSES


# ---------------------------------------------------------------------------------------
# Facts


def human_bytes(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} bytes"


def saved_by(artifact: Artifact) -> str:
    parts = []
    if artifact.keras_version:
        parts.append(f"Keras {artifact.keras_version}")
    sm = artifact.saved_model
    tf_version = artifact.tensorflow_version or (sm.tensorflow_version if sm else None)
    if tf_version:
        parts.append(f"TensorFlow {tf_version}")
    if artifact.backend:
        parts.append(f"backend {artifact.backend}")
    if artifact.date_saved:
        parts.append(f"on {artifact.date_saved}")
    return ", ".join(parts)


def shape_text(shape: list[int | None] | None) -> str:
    if shape is None:
        return "unknown rank"
    return "(" + ", ".join("None" if d is None or d < 0 else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def signature_views(artifact: Artifact) -> list[dict[str, Any]]:
    if not artifact.saved_model:
        return []
    out = []
    for sig in artifact.saved_model.signatures:
        def tensors(specs: dict) -> list[dict[str, str]]:
            return [{"key": key, "name": spec.name or "", "dtype": spec.dtype, "shape": shape_text(spec.shape)}
                    for key, spec in specs.items()]
        out.append({"key": sig.key, "method": sig.method_name, "inputs": tensors(sig.inputs),
                    "outputs": tensors(sig.outputs)})
    return out


def fact_rows(artifact: Artifact) -> list[dict[str, str]]:
    rows = [("format", artifact.format.value), ("size", human_bytes(artifact.size_bytes) if artifact.size_bytes else "")]
    rows.append(("saved by", saved_by(artifact)))
    if artifact.model_class:
        rows.append(("model", f"{artifact.model_class}" + (f" ({artifact.model_module})" if artifact.model_module else "")))
    if artifact.keras_major:
        rows.append(("config generation", f"Keras {artifact.keras_major}"))
    if artifact.training and artifact.training.optimizer_class:
        rows.append(("optimizer", artifact.training.optimizer_class))
    if artifact.weights:
        rows.append(("weights", f"{len(artifact.weights)} tensors"))
    if artifact.optimizer_weight_count:
        rows.append(("optimizer state", f"{artifact.optimizer_weight_count} tensors"))
    if artifact.members:
        shown = ", ".join(artifact.members[:8]) + (f", … ({len(artifact.members)} in all)" if len(artifact.members) > 8 else "")
        rows.append(("members", shown))
    sm = artifact.saved_model
    if sm:
        if sm.tags:
            rows.append(("tags", "; ".join(",".join(t) for t in sm.tags)))
        rows.append(("ops used", str(len(sm.ops))))
        if sm.variable_count:
            rows.append(("variables", str(sm.variable_count)))
        rows.append(("keras metadata", "yes" if sm.has_keras_metadata else "no"))
    if artifact.checkpoint_keys:
        rows.append(("checkpoint keys", str(len(artifact.checkpoint_keys))))
    skipped = artifact.notes.get("skipped_rules")
    if isinstance(skipped, list) and skipped:
        rows.append(("rules skipped", ", ".join(sorted({str(s.get("code")) for s in skipped if isinstance(s, dict)}))))
    return [{"label": k, "value": v} for k, v in rows if v]


def layer_views(artifact: Artifact) -> list[dict[str, Any]]:
    return [{"path": layer.path, "class_name": layer.class_name, "module": layer.module or "",
             "registered_name": layer.registered_name or "", "wrapper_key": layer.wrapper_key or "",
             "custom": is_custom(layer)} for layer in artifact.layers]


def finding_view(finding: Finding, rules: dict[str, Any]) -> dict[str, Any]:
    rule = rules.get(finding.code)
    return {"code": finding.code, "name": finding.name, "severity": finding.severity.value,
            "message": finding.message, "location": finding.location or "", "fix": finding.fix or "",
            "anchor": rule.anchor if rule else "", "title": rule.title if rule else "",
            "fingerprint": finding.fingerprint, "fix_repeated": False}


def counts_of(findings: list[Finding]) -> dict[str, int]:
    return {s.value: sum(f.severity is s for f in findings) for s in Severity}


def counts_text(counts: dict[str, int]) -> str:
    parts = [f"{counts['error']} error{'s' if counts['error'] != 1 else ''}",
             f"{counts['warning']} warning{'s' if counts['warning'] != 1 else ''}",
             f"{counts['info']} info"]
    return ", ".join(parts)


def artifact_view(index: int, entry: ArtifactReport, rules: dict[str, Any]) -> dict[str, Any]:
    a = entry.artifact
    key = verdict(entry)
    counts = counts_of(entry.findings)
    groups = []
    seen_fixes: set[str] = set()
    for severity in (Severity.error, Severity.warning, Severity.info):
        members = [finding_view(f, rules) for f in entry.findings if f.severity is severity]
        for view in members:  # the same fix again (one per unresolved object, say) is shown once
            view["fix_repeated"] = bool(view["fix"]) and view["fix"] in seen_fixes
            seen_fixes.add(view["fix"])
        if members:
            groups.append({"severity": severity.value, "label": SEVERITY_LABELS[severity], "findings": members})
    layers = layer_views(a)
    ops_missing = [{"op": str(f.evidence.get("op") or "?"), "location": f.location or "", "message": f.message}
                   for f in entry.findings if f.code == "KC604"]
    disagreements = [finding_view(f, rules) for f in entry.findings if f.code == "KC808"]
    return {
        "id": f"artifact-{index}", "number": index, "path": a.path, "format": a.format.value,
        "verdict": {"key": key, **VERDICTS[key]}, "counts": counts, "counts_text": counts_text(counts),
        "facts": fact_rows(a), "layers": layers, "custom_count": sum(l["custom"] for l in layers),
        "layers_open": len(layers) <= 40, "signatures": signature_views(a), "ops_missing": ops_missing,
        "groups": groups, "grid": loads_grid(entry.loads), "disagreements": disagreements,
        "fixes": [fix_view(fx) for fx in entry.fixes],
    }


def fix_view(fx: Any) -> dict[str, Any]:
    proof = fx.proof or {}
    facts = [(k, str(proof[k])) for k in ("original_loader", "copy_loader", "max_abs_diff", "max_rel_diff", "why")
             if proof.get(k) is not None]
    return {"said": FIX_STATUS_WORDS.get(fx.status, fx.status), "output": fx.output, "changes": fx.changes,
            "not_fixed": fx.not_fixed, "proof": {"status": proof.get("status"), "facts": facts} if proof else None}


# ---------------------------------------------------------------------------------------
# Environment: key facts first, anything else generically; big collections become counts.

ENV_FIRST = ("python", "platform", "versions", "keras_backend", "tf_use_legacy_keras", "available_backends",
             "devices", "custom_objects", "custom_object_modules", "ops", "keras_classes", "tf_keras_classes",
             "errors", "source", "probe_seconds", "python_executable")
ENV_LIST_MAX = 10


def is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def env_value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if is_scalar(value):
        return "" if value is None else str(value)
    if isinstance(value, dict):
        if len(value) <= ENV_LIST_MAX and all(is_scalar(v) for v in value.values()):
            return ", ".join(f"{k} {v if v is not None else '—'}" for k, v in value.items())
        return f"{len(value)} entries"
    if isinstance(value, list):
        names = [v.get("name") if isinstance(v, dict) else v for v in value]
        if len(value) <= ENV_LIST_MAX and all(is_scalar(n) for n in names):
            return ", ".join(str(n) for n in names)
        return f"{len(value)} items"
    return str(value)


def env_rows(environment: dict[str, Any] | None) -> list[dict[str, str]]:
    if not environment:
        return []
    keys = [k for k in ENV_FIRST if k in environment] + [k for k in environment if k not in ENV_FIRST]
    rows = []
    for key in keys:
        value = env_value(environment[key])
        if value not in ("", "0 entries", "0 items"):
            rows.append({"label": key.replace("_", " "), "value": value})
    return rows


# ---------------------------------------------------------------------------------------


def build_view(report: Report) -> dict[str, Any]:
    codes = [f.code for f in report.findings]
    docs, rules = rule_views(codes)
    artifacts = [artifact_view(i, entry, rules) for i, entry in enumerate(report.artifacts, 1)]
    verdict_counts = {k: sum(a["verdict"]["key"] == k for a in artifacts) for k in VERDICTS}
    counts = counts_of(report.findings)
    return {
        "tool": report.tool, "tool_version": report.tool_version, "started_at": report.started_at,
        "duration": f"{report.duration_s:.2f} s", "fail_on": report.fail_on.value, "exit_code": report.exit_code,
        "outcome": "fail" if report.exit_code else "pass",
        "counts": counts, "counts_text": counts_text(counts),
        "verdict_counts": [{"key": k, "label": VERDICTS[k]["label"], "count": n} for k, n in verdict_counts.items()],
        "artifacts": artifacts, "show_index": len(artifacts) > 1, "environment": env_rows(report.environment),
        "rule_docs": docs, "matrices": [release_grid(m) for m in report.matrix],
    }


@lru_cache(maxsize=1)
def _env() -> Environment:
    return Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, undefined=StrictUndefined,
                       trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


@lru_cache(maxsize=1)
def _assets() -> tuple[Markup, Markup, str]:
    css = (TEMPLATES / "report.css").read_text("utf-8")
    js = (TEMPLATES / "report.js").read_text("utf-8")
    if "</" in css or "</" in js:  # static files, but keep the raw-text elements closed where we close them
        raise ValueError("report.css / report.js must not contain '</'")
    digest = base64.b64encode(hashlib.sha256(js.encode("utf-8")).digest()).decode("ascii")
    return Markup(css), Markup(js), f"'sha256-{digest}'"


def render(report: Report) -> str:
    css, js, script_hash = _assets()
    csp = (f"default-src 'none'; style-src 'unsafe-inline'; script-src {script_hash}; img-src data:; "
           "base-uri 'none'; form-action 'none'")
    return _env().get_template("report.html.j2").render(r=build_view(report), css=css, js=js, csp=csp)
