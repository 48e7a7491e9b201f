"""Which loaders an artifact is meant for, and what that makes of the errors that break only others.

A TF Serving export is loaded by `tf.saved_model.load` and TF Serving, never by Keras `load_model`; a
weights file by `load_weights`. An error that breaks only loaders the artifact is not meant for is a
warning that says so; the per-loader verdict stays in every report. `--loader` (the `load.loaders` key)
names the intended loaders instead.
"""

from __future__ import annotations

from kcompat.catalog import Rule
from kcompat.model import Artifact, Finding, Format, Severity
from kcompat.pipeline.verdict import breaks

# What a --loader name stands for among the verdict's loaders.
LOADER_NAMES = {"keras": ("keras", "keras-nocompile"), "tf_keras": ("tf_keras",),
                "tf_saved_model": ("tf_saved_model",), "tfsmlayer": ("tfsmlayer",), "config+weights": ()}
KERAS = ("keras", "keras-nocompile")
SERVING = ("tf_saved_model", "tfsmlayer")


def default_intended(artifact: Artifact) -> tuple[str, ...]:
    fmt = artifact.format
    if fmt is Format.saved_model:
        keras2 = artifact.saved_model is not None and artifact.saved_model.has_keras_metadata
        return SERVING + (("tf_keras",) if keras2 else ())  # a Keras 2 SavedModel also reloads as a model
    if fmt in (Format.hdf5_weights, Format.hdf5_weights_v3, Format.tf_checkpoint):
        return ()  # restored with load_weights / tf.train.Checkpoint: no model loader is meant
    return KERAS  # .keras, .h5 and JSON configs: the target's Keras (tf_keras is the Keras 2 alternative)


def intended(artifact: Artifact, loaders: list[str] | None) -> tuple[str, ...]:
    if loaders:
        return tuple(dict.fromkeys(name for loader in loaders for name in LOADER_NAMES.get(loader, (loader,))))
    return default_intended(artifact)


def describe(artifact: Artifact) -> str:
    if artifact.format is Format.saved_model:
        return "a serving export (tf.saved_model.load, TF Serving, TFSMLayer)"
    if artifact.format in (Format.hdf5_weights, Format.hdf5_weights_v3):
        return "a weights file (model.load_weights)"
    if artifact.format is Format.tf_checkpoint:
        return "a checkpoint (tf.train.Checkpoint / model.load_weights)"
    return "a Keras model"


def apply_intent(artifact: Artifact, findings: list[Finding], meant: tuple[str, ...],
                 catalog: dict[str, Rule]) -> None:
    """Errors that break only loaders the artifact is not meant for become warnings that say so."""
    for finding in findings:
        hit = breaks(finding, catalog)
        rule = catalog.get(finding.code)
        if finding.severity is not Severity.error or not hit:
            continue
        if meant and set(hit) & set(meant) or not meant and not (rule and rule.loader_mismatch):
            continue  # it breaks a loader the artifact is meant for, or the file for everyone
        finding.severity = Severity.warning
        finding.evidence = {**finding.evidence, "demoted_from": "error", "breaks": hit, "intended": list(meant)}
        only = ", ".join(hit)
        finding.message += (f" [only under {only}; this is {describe(artifact)}, meant for "
                            f"{', '.join(meant) or 'no model loader'}: pass --loader to judge it by another]")
