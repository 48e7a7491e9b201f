"""The static verdict: which loaders the findings say will fail, per loader.

Each rule's catalog entry lists the loaders its error findings break (`breaks`); a finding may
narrow that with `evidence["breaks"]`. The tf_keras loader is judged by running the rules again
against the environment as tf_keras sees it: its own classes and Keras 2 version.
"""

from __future__ import annotations

from typing import Any

from kcompat.catalog import Rule, load_catalog
from kcompat.checks._resolve import framework
from kcompat.checks.loaders import compiles_anyway
from kcompat.model import Artifact, Finding, Format, Severity
from kcompat.record import Record
from kcompat.pipeline.engine import run_rules

LOADERS = ("keras", "keras-nocompile", "tf_keras", "tf_saved_model", "tfsmlayer")
APPLICABLE = {
    "hdf5-model": ("keras", "keras-nocompile", "tf_keras"),
    "keras-zip": ("keras", "keras-nocompile", "tf_keras"),
    "keras-dir": ("keras", "keras-nocompile", "tf_keras"),
    "saved-model": LOADERS,
    # Not meant for a model loader (see pipeline/intent.py), but what each would do is still a fact.
    "hdf5-weights": ("keras", "keras-nocompile", "tf_keras"),
    "hdf5-weights-v3": ("keras", "keras-nocompile", "tf_keras"),
    "tf-checkpoint": LOADERS,
    "json-config": ("keras", "tf_keras"),  # keras.models.model_from_json, tf_keras.models.model_from_json
}


class Prediction(Record):
    loader: str
    ok: bool
    codes: list[str]


def tf_keras_view(env: Any) -> Any:
    """The environment as `tf_keras.models.load_model` sees it, or None without tf_keras."""
    if env is None or not env.versions.get("tf_keras"):
        return None
    # A shallow copy: rules only read the environment, and a deep copy of ~900 classes costs ~80 ms.
    return env.model_copy(update={"versions": {**env.versions, "keras": env.versions["tf_keras"]},
                                  "keras_classes": env.tf_keras_classes, "tf_use_legacy_keras": True})


def keras_view(env: Any) -> Any:
    """The environment as `keras.saving.load_model` sees it where the target's own Keras is tf_keras, else None.

    TF_USE_LEGACY_KERAS=1 makes `tf.keras` tf_keras, and the rules judge such a target as tf_keras; the
    `keras` package beside it is still Keras 3, and the keras loaders of the verdict are its.
    """
    if env is None or framework(env) != "tf_keras":
        return None
    return env.model_copy(update={"tf_use_legacy_keras": False})


def breaks(finding: Finding, catalog: dict[str, Rule]) -> list[str]:
    if finding.severity is not Severity.error:
        return []
    explicit = finding.evidence.get("breaks")
    if isinstance(explicit, list):
        return explicit
    rule = catalog.get(finding.code)
    return list(rule.breaks) if rule else []


def predict(artifact: Artifact, findings: list[Finding], tf_keras_findings: list[Finding] | None,
            env: Any = None) -> list[Prediction]:
    catalog = load_catalog()
    # A target whose load_model compiles a .h5 regardless (KC213) meets the compile errors with compile=False too.
    compiling = artifact.format is Format.hdf5_model and compiles_anyway(env)
    out = []
    for loader in APPLICABLE.get(artifact.format.value, ()):
        pool = tf_keras_findings if loader == "tf_keras" else findings
        if pool is None:
            continue
        # In the tf_keras view, what breaks "the Keras loader" breaks tf_keras.
        wanted = {loader, "keras"} if loader == "tf_keras" or (loader == "keras-nocompile" and compiling) else {loader}
        # In the order a load meets them (the pool is sorted so): the first is what this loader raises.
        codes = list(dict.fromkeys(f.code for f in pool if wanted & set(breaks(f, catalog))))
        out.append(Prediction(loader=loader, ok=not codes, codes=codes))
    return out


def judge(artifact: Artifact, findings: list[Finding], env: Any, tf_keras_env: Any, config: Any,
          rules: list) -> tuple[list[Prediction], list[Finding] | None]:
    """The verdict per loader, and the findings as tf_keras sees the file (None without tf_keras).

    ``findings`` are the rules run against ``env``; each loader that sees another Keras than the
    target's own (tf_keras beside Keras 3, or Keras 3 beside a TF_USE_LEGACY_KERAS target) is judged
    by the rules run again against its view of the environment.
    """
    tf_keras_findings = run_rules(artifact, tf_keras_env, config, rules)[0] if tf_keras_env else None
    view = keras_view(env)
    keras_findings = run_rules(artifact, view, config, rules)[0] if view is not None else findings
    return predict(artifact, keras_findings, tf_keras_findings, view or env), tf_keras_findings
