"""Fixers of the KC2xx version rules: rewrite a Keras 1/2 config into the form the target Keras reads.

Each edits the JSON config of a copy in place (a ``Rewrite``); none imports TF or Keras.
"""

from __future__ import annotations

from kcompat.checks import _resolve as R
from kcompat.checks._layout_names import LEGACY, counts_twice, renames
from kcompat.checks._rewrite import layer_dicts, object_dicts
from kcompat.checks.base import Rewrite
from kcompat.checks.versions import late_nested_refs, outputs_shifted
from kcompat.checks.weight_layout import target_root
from kcompat.model import Artifact


def fix_legacy_nested_node_index(rewrite: Rewrite, artifact: Artifact, env, findings=()) -> None:
    """Keras 2 counted a nested model's construction as its node 0; Keras 3 does not: one less."""
    for _, ref in list(late_nested_refs(rewrite.model, outputs_shifted(env))):
        ref[1] -= 1
        rewrite.change(f"reference to nested model {ref[0]!r}: node index {ref[1] + 1} -> {ref[1]}")


def fix_keras_internal_module(rewrite: Rewrite, artifact: Artifact, env, findings=()) -> None:
    """A module path the target lacks becomes the module the target keeps that class in."""
    existing, api = R.existing_modules(env), R.public_api(env)
    for obj in object_dicts(rewrite.model):
        module, name = obj.get("module"), obj.get("class_name")
        if not isinstance(module, str) or R.is_special(name) or name in R.POLICY_CLASSES:
            continue
        norm = R.normalise_module(module)
        if norm.split(".")[0] != "keras" or norm in existing or f"{norm}.{name}" in api:
            continue
        cls = R.find(env, name)
        if cls is None or not cls.module or R.normalise_module(cls.module) not in existing:
            rewrite.refuse(f"class {name!r} from module {module!r} is not in {R.keras_label(env)} under any module")
            continue
        obj["module"] = cls.module
        rewrite.change(f"{name}: module {module!r} -> {cls.module!r}")


def fix_sequential_list_config(rewrite: Rewrite, artifact: Artifact, env, findings=()) -> None:
    """A Sequential config that is a bare list of layers (Keras 1 to 2.2) becomes {"name", "layers"}."""
    count = 0
    for obj in list(object_dicts(rewrite.model)):
        if obj.get("class_name") == "Sequential" and isinstance(obj.get("config"), list):
            name = obj.get("name") if isinstance(obj.get("name"), str) else f"sequential{'_' + str(count) if count else ''}"
            obj["config"] = {"name": name, "layers": obj["config"]}
            count += 1
            rewrite.change(f"Sequential '{name}': bare list of layers wrapped as {{'name', 'layers'}}")


def fix_json_config_keras2(rewrite: Rewrite, artifact: Artifact, env, findings=()) -> None:
    """A Keras 2 to_json() config: name the module of every class, as Keras 3's model_from_json resolves by it."""
    model = rewrite.model
    if not isinstance(model, dict):
        return
    for obj in [model, *(layer for layer, _ in layer_dicts(model, []))]:
        if "module" in obj:
            continue
        cls = R.find(env, str(obj.get("class_name")))
        if cls is None or not cls.module:
            rewrite.refuse(f"class {obj.get('class_name')!r} is unknown to {R.keras_label(env)}")
            continue
        obj["module"] = cls.module
        obj.setdefault("registered_name", None)
    for obj in object_dicts(model.get("config")):
        if "module" not in obj and obj is not model:
            cls = R.find(env, str(obj.get("class_name")))
            if cls is not None and cls.module:
                obj["module"] = cls.module
                obj.setdefault("registered_name", None)
    model["keras_version"] = R.keras_version(env) or model.get("keras_version")
    rewrite.change(f"every class names its module, as {R.keras_label(env)} model_from_json needs; keras_version "
                   f"set to {model['keras_version']}")


def fix_keras_weight_layout(rewrite: Rewrite, artifact: Artifact, env, findings=()) -> None:
    """A .keras's weight groups move to where the target looks: a Windows save's 'layers\\conv1d' to
    'layers/conv1d'; a tf.keras 2.12-2.14 file's '_layer_checkpoint_dependencies/dense_2' to the group
    tf.keras 2.15+, tf_keras and Keras 3 name that layer by, 'layers/dense_1'. Nothing else changes. A target
    that reads '_layer_checkpoint_dependencies/' (tf.keras 2.12-2.14) is not written for."""
    weights = [w.name for w in artifact.weights]
    evidence = [f.evidence or {} for f in findings]
    if any(e.get("groups") for e in evidence):
        groups = sorted({n.split("/", 1)[0] for n in weights if "\\" in n.split("/", 1)[0]}, key=len)
        rewrite.weight_moves += [(g, g.replace("\\", "/")) for g in groups]
        rewrite.change(f"model.weights.h5: groups named with a backslash ({groups[0]!r} ...) moved to '/' paths "
                       f"({groups[0].replace(chr(92), '/')!r} ...)")
    if not any(e.get("layers") or e.get("saved_root") == LEGACY for e in evidence):
        if any(e.get("saved_root") for e in evidence):
            rewrite.refuse("the weights file is laid out for tf.keras 2.15+ and the target reads tf.keras 2.12-2.14's "
                           "layout; re-save it under the Keras that wrote it")
        return
    config = rewrite.model.get("config") if isinstance(rewrite.model, dict) else None
    layers = config.get("layers") if isinstance(config, dict) else None
    if target_root(env) == LEGACY:
        rewrite.refuse("the target reads tf.keras 2.12-2.14's layout, which kcompat fix does not write; re-save it "
                       "under the Keras that wrote it")
        return
    twice = counts_twice(layers, weights) if isinstance(layers, list) else None
    moves = renames(layers, weights, bool(twice)) if isinstance(layers, list) else []
    moved = {old for old, _ in moves}
    left = [n for n in weights if n.startswith(LEGACY + "/") and not any(n.startswith(o + "/") for o in moved)]
    if not moves or left:
        rewrite.refuse(f"the layers of the config do not account for every group under '{LEGACY}/' "
                       f"({left[0] if left else 'none found'}); re-save it under the Keras that wrote it")
        return
    rewrite.weight_moves += moves
    renamed = [(o, n) for o, n in moves if o.rsplit("/", 1)[-1] != n.rsplit("/", 1)[-1]]
    example = renamed[0] if renamed else moves[0]
    rewrite.change(f"model.weights.h5: {len(moves)} layer group(s) moved from tf.keras 2.12-2.14's '{LEGACY}/' "
                   f"to the 'layers/' paths later Keras read, named as they count ({example[0]!r} -> {example[1]!r})")
