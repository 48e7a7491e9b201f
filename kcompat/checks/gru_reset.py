"""KC225: a GRU saved before Keras had reset_after, which every later Keras takes as True."""

from __future__ import annotations

from collections.abc import Iterator

from kcompat.checks import _resolve as R
from kcompat.checks.base import Hit, Rewrite
from kcompat.env.model import Environment
from kcompat.model import Artifact

GRUS = {"GRU", "GRUCell"}


def _units(config: dict) -> int | None:
    units = config.get("units")
    return units if isinstance(units, int) and units > 0 else None


def legacy_gru_reset_after(artifact: Artifact, env: Environment) -> Iterator[Hit]:
    if not artifact.weights:
        return  # a config alone (model_from_json) builds whatever GRU the target defaults to
    for layer in artifact.layers:
        # a Keras 1 GRU (output_dim, separate W_z/U_z... weights) is KC501's
        if layer.class_name not in GRUS or "reset_after" in layer.config or "units" not in layer.config:
            continue
        units = _units(layer.config)
        expects = f"(2, {3 * units})" if units else "(2, 3 x units)"
        saved = f"({3 * units},)" if units else "(3 x units,)"
        yield Hit(
            f"{layer.class_name} '{layer.name}' has no reset_after: Keras {artifact.keras_version or 'before 2.1.5'} "
            f"had none, and its GRU kept one bias of shape {saved}; {R.keras_label(env)}'s GRU defaults to "
            f"reset_after=True, whose bias has shape {expects}, so loading the weights fails with \"Shape mismatch "
            f"... Weight expects shape {expects}. Received saved weight with shape {saved}\"",
            location=layer.path, evidence={"units": units}, group="reset_after",
            group_message="{n} GRU layers ({locations}) have no reset_after, as before Keras 2.1.5: "
                          f"{R.keras_label(env)} builds them with reset_after=True, whose bias has another shape, so "
                          "loading the weights fails with \"Shape mismatch ... Weight expects shape (2, 3 x units)\"",
            fix="kcompat fix writes a copy with reset_after=False on the layer, the GRU these weights were trained "
                "for (Keras 3 and tf_keras both build it)")


def fix_legacy_gru_reset_after(rewrite: Rewrite, artifact: Artifact, env, findings=()) -> None:
    """reset_after=False is the GRU of Keras before 2.1.5: the same weights, the same computation."""
    from kcompat.checks._rewrite import layer_dicts, layer_name

    for layer, _siblings in list(layer_dicts(rewrite.model, None if rewrite.model is None else [])):
        config = layer.get("config") if isinstance(layer, dict) else None
        if layer.get("class_name") in GRUS and isinstance(config, dict) and "reset_after" not in config:
            config["reset_after"] = False
            rewrite.change(f"{layer.get('class_name')} '{layer_name(layer)}': reset_after=False (the GRU before Keras 2.1.5)")
