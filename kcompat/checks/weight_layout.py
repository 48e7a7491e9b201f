"""KC212 keras-weight-layout: a .keras weights file laid out for another Keras (groups named the old way,
counted the old way, or joined with Windows backslashes)."""

from __future__ import annotations

from collections.abc import Iterator

from kcompat.checks import _resolve as R
from kcompat.checks._layout_names import LEGACY, misnamed
from kcompat.checks.base import Hit
from kcompat.env.model import Environment
from kcompat.model import Artifact, Format


def _layer_root(paths: list[str]) -> str | None:
    """The group a .keras weights file keeps its layers under: 'layers' or '_layer_checkpoint_dependencies'."""
    # A compiled model's file also has metrics/ and optimizer/ groups: only the layers' group tells the layout.
    roots = {p.split("/", 1)[0] for p in paths if "/vars/" in p} & {"layers", LEGACY}
    return roots.pop() if len(roots) == 1 else None


def _windows_layout(artifact: Artifact, env: Environment) -> Iterator[Hit]:
    """tf.keras 2.13+ and tf_keras join a layer's path with os.path.join, so on Windows its group is one
    HDF5 name with a backslash, 'layers\\conv1d', which only a Keras 2 on Windows looks up (Keras 3
    writes and reads '/' everywhere: saving_lib's .replace("\\", "/"))."""
    groups = {w.name.split("/", 1)[0] for w in artifact.weights if "\\" in w.name.split("/", 1)[0]}
    if not groups or (R.keras_major(env) == 2 and env.platform.lower().startswith("win")):
        return
    names = {g.split("\\")[-1] for g in groups}
    first = next((layer.name for layer in artifact.layers if layer.name in names), sorted(names)[0])
    yield Hit(
        f"the weights file was written on Windows: its groups are named like 'layers\\{first}' (one HDF5 name "
        f"holding a backslash) where {R.keras_label(env)} reads 'layers/{first}', so it finds no variables and "
        f"loading raises \"Layer '{first}' expected N variables, but received 0 variables during loading\"",
        location="model.weights.h5", key="windows",
        evidence={"groups": sorted(groups)[:20]},
        fix="Load it on Windows with the Keras that wrote it and save it again as .h5; or, in a copy of "
            "model.weights.h5, move each group 'layers\\<name>' to 'layers/<name>' (h5py: f.move(old, new)) and "
            "zip the copy back with config.json and metadata.json",
    )


def _legacy_names(artifact: Artifact, env: Environment) -> Iterator[Hit]:
    """Keras 3 reads a tf.keras 2.12-2.14 layout by its own names for the groups, which differ from the
    file's from a model's second layer with weights of one class on (see _layout_names)."""
    config = artifact.config.get("config") if isinstance(artifact.config, dict) else None
    layers = config.get("layers") if isinstance(config, dict) else None
    missed = misnamed(layers, [w.name for w in artifact.weights]) if isinstance(layers, list) else []
    if not missed:
        return
    name, wanted, saved = missed[0]
    yield Hit(
        f"the weights file keeps its layers under '{LEGACY}/' with the names tf.keras 2.12-2.14 gave them, "
        f"counting each layer with weights twice: {R.keras_label(env)} looks there by its own count, so "
        f"'{name}' is '{wanted}' to it and '{saved}' in the file ({len(missed)} layer(s) so): loading raises "
        f"\"A total of {len(missed)} objects could not be loaded ... Layer '{name}' expected N variables, but "
        f"received 0 variables during loading\"",
        location="model.weights.h5", key="legacy-names",
        evidence={"layers": [{"layer": n, "keras3_group": w, "file_group": s} for n, w, s in missed[:20]]},
        fix="Load it with tf.keras 2.12-2.14 and save it again there as .h5 (model.save('model.h5')), which "
            "Keras 3 reads by layer name; or rebuild the model in code and copy the weights over",
    )


def keras_weight_layout(artifact: Artifact, env: Environment) -> Iterator[Hit]:
    if artifact.format not in (Format.keras_zip, Format.keras_dir) or not artifact.weights:
        return
    yield from _windows_layout(artifact, env)
    facts = env.loaders.get("tf_keras" if R.framework(env) == "tf_keras" else "keras")
    target = _layer_root(facts.keras_zip_weight_paths) if facts else None
    saved = _layer_root([w.name for w in artifact.weights])
    if target is None or saved is None or saved == target:
        return
    if saved == LEGACY and R.framework(env) != "tf_keras" and R.keras_major(env) == 3:
        yield from _legacy_names(artifact, env)  # every Keras 3 (3.0.5-3.15.1 read) looks there too
        return
    first = next(w.name.split("/")[1] for w in artifact.weights if w.name.startswith(saved + "/"))
    yield Hit(
        f"the weights file keeps its layers under '{saved}/', but {R.keras_label(env)} looks for them under "
        f"'{target}/' (tf.keras 2.12-2.14 write and read '_layer_checkpoint_dependencies/', tf.keras 2.15 and "
        f"tf_keras 'layers/'): loading raises "
        f"\"Layer '{first}' expected N variables, but received 0 variables during loading\"",
        location="model.weights.h5", key="layout",
        evidence={"saved_root": saved, "target_root": target},
        fix="Load it under the Keras that wrote it and save it again there as .h5 (model.save('model.h5')), "
            "which the target reads by layer name; or rebuild the model in code and copy the weights over",
    )
