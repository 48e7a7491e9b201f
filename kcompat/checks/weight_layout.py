"""KC212 keras-weight-layout: a .keras weights file laid out for another Keras (groups under the old root,
counted another way, or joined with Windows backslashes)."""

from __future__ import annotations

from collections.abc import Iterator

from kcompat.checks import _resolve as R
from kcompat.checks._layout_names import LEGACY, counts_twice, misnamed
from kcompat.checks.base import Hit
from kcompat.env.model import Environment
from kcompat.model import Artifact, Format


def _layer_root(paths: list[str]) -> str | None:
    """The group a .keras weights file keeps its layers under: 'layers' or '_layer_checkpoint_dependencies'."""
    # A compiled model's file also has metrics/ and optimizer/ groups: only the layers' group tells the layout.
    roots = {p.split("/", 1)[0] for p in paths if "/vars/" in p} & {"layers", LEGACY}
    return roots.pop() if len(roots) == 1 else None


def target_root(env: Environment) -> str | None:
    """The group the target's Keras reads a .keras's layers from, as its probe saw it write one."""
    facts = env.loaders.get("tf_keras" if R.framework(env) == "tf_keras" else "keras")
    return _layer_root(facts.keras_zip_weight_paths) if facts else None


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


def _reader_counts_twice(env: Environment) -> bool:
    """tf.keras 2.12 and 2.13 count each layer with weights twice when they name its group (see _layout_names)."""
    return R.framework(env) == "keras" and R.keras_major(env) == 2 and not R.keras_at_least(env, (2, 14))


def _legacy_names(artifact: Artifact, env: Environment) -> Iterator[Hit]:
    """A reader of '_layer_checkpoint_dependencies/' (tf.keras 2.12-2.14, and Keras 3 when 'layers/' is
    missing) finds a layer by its own count, which differs from the file's from a model's second layer with
    weights of one class on when one of them counted each such layer twice (see _layout_names)."""
    config = artifact.config.get("config") if isinstance(artifact.config, dict) else None
    layers = config.get("layers") if isinstance(config, dict) else None
    paths = [w.name for w in artifact.weights]
    twice = counts_twice(layers, paths) if isinstance(layers, list) else None
    target_twice = _reader_counts_twice(env)
    if twice is None or twice == target_twice:
        return
    missed = misnamed(layers, paths, twice, target_twice)
    if not missed:
        return
    name, wanted, saved = missed[0]
    way = {True: "twice (as tf.keras 2.12-2.13 named them)", False: "once (as tf.keras 2.14 named them)"}
    yield Hit(
        f"the weights file keeps its layers under '{LEGACY}/' counting each layer with weights {way[twice]}, and "
        f"{R.keras_label(env)} looks there counting {'twice' if target_twice else 'once'}, so '{name}' is "
        f"'{wanted}' to it and '{saved}' in the file ({len(missed)} layer(s) so): loading raises "
        f"\"{'A total of ' + str(len(missed)) + ' objects could not be loaded ... ' if R.keras_major(env) == 3 else ''}"
        f"Layer '{name}' expected N variables, but received 0 variables during loading\"",
        location="model.weights.h5", key="legacy-names",
        evidence={"layers": [{"layer": n, "target_group": w, "file_group": s} for n, w, s in missed[:20]],
                  "file_counts_twice": twice},
        fix=("kcompat fix model.keras: a copy with each layer's group moved to 'layers/' under the name later Keras "
             "count (proven by its weights); or " if R.keras_major(env) == 3 else "") +
            "load it with the Keras that wrote it and save it again there as .h5, which every Keras reads by layer name",
    )


def keras_weight_layout(artifact: Artifact, env: Environment) -> Iterator[Hit]:
    if artifact.format not in (Format.keras_zip, Format.keras_dir) or not artifact.weights:
        return
    yield from _windows_layout(artifact, env)
    target = target_root(env)
    saved = _layer_root([w.name for w in artifact.weights])
    if target is None or saved is None:
        return
    if saved == LEGACY and (target == LEGACY or (R.framework(env) != "tf_keras" and R.keras_major(env) == 3)):
        yield from _legacy_names(artifact, env)  # every Keras 3 (3.0.5-3.15.1 read) looks there too
        return
    if saved == target:
        return
    first = next(w.name.split("/")[1] for w in artifact.weights if w.name.startswith(saved + "/"))
    yield Hit(
        f"the weights file keeps its layers under '{saved}/', but {R.keras_label(env)} looks for them under "
        f"'{target}/' (tf.keras 2.12-2.14 write and read '_layer_checkpoint_dependencies/', tf.keras 2.15 and "
        f"tf_keras 'layers/'): loading raises "
        f"\"Layer '{first}' expected N variables, but received 0 variables during loading\"",
        location="model.weights.h5", key="layout",
        evidence={"saved_root": saved, "target_root": target},
        fix=("kcompat fix model.keras: a copy with each layer's group moved to 'layers/' under the name the target "
             "counts (proven by its weights); or " if saved == LEGACY else "") +
            "load it under the Keras that wrote it and save it again there as .h5 (model.save('model.h5')), "
            "which the target reads by layer name",
    )
