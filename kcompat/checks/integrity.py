"""KC1xx: format and integrity. All but extension_mismatch read only the Artifact."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from kcompat.checks import _resolve as R
from kcompat.checks.base import Hit
from kcompat.checks.optimizer import in_legacy_optimizer_state
from kcompat.model import Artifact, Format


def _problems(artifact: Artifact, kind: str) -> Iterator:
    return (p for p in artifact.problems if p.kind == kind)


def path_missing(artifact: Artifact, env) -> Iterator[Hit]:
    if artifact.format is Format.missing:
        yield Hit(f"{artifact.path} does not exist", fix="Check the path; for a checkpoint, pass its prefix (the name before .index).")


def lfs_pointer(artifact: Artifact, env) -> Iterator[Hit]:
    if artifact.format is Format.lfs_pointer:
        size = artifact.notes.get("lfs_size", "?")
        yield Hit(
            f"{artifact.path} is a {artifact.size_bytes}-byte git-LFS pointer, not a model "
            f"(the real file is {size} bytes); loading it fails with 'file signature not found'",
            fix=f"git lfs install && git lfs pull --include={Path(artifact.path).name!r}",
            evidence={"oid": artifact.notes.get("lfs_oid"), "size": size},
        )


def hdf5_corrupt(artifact: Artifact, env) -> Iterator[Hit]:
    found = [(f"HDF5 {'file is truncated' if 'truncated' in p.detail else 'file cannot be opened'}: {p.detail}", p)
             for p in _problems(artifact, "hdf5-corrupt")]
    # an object libhdf5 refuses is met by every loader, unless it is the legacy optimizer state (KC406)
    found += [(f"HDF5 object {p.member} cannot be opened: {p.detail}", p)
              for p in _problems(artifact, "hdf5-object-unreadable") if not in_legacy_optimizer_state(p)]
    for message, problem in found:
        yield Hit(message, location=problem.member,
                  fix="Re-download or re-copy the file and compare its size and checksum with the source; "
                      "delete any stale copy in ~/.keras/models.",
                  evidence={"detail": problem.detail})


def zip_corrupt(artifact: Artifact, env) -> Iterator[Hit]:
    for problem in _problems(artifact, "zip-corrupt"):
        yield Hit(f"the .keras archive is damaged: {problem.detail}", location=problem.member,
                  fix="Re-download the file, or re-save the model with model.save('model.keras').")


def keras_member_missing(artifact: Artifact, env) -> Iterator[Hit]:
    for problem in _problems(artifact, "keras-member-missing"):
        yield Hit(f"{problem.member} is missing: a .keras archive needs config.json, metadata.json and model.weights.h5",
                  location=problem.member,
                  fix="Re-save the model with model.save('model.keras'); do not edit the archive by hand.")


def zip_path_traversal(artifact: Artifact, env) -> Iterator[Hit]:
    for problem in _problems(artifact, "zip-path-traversal"):
        yield Hit(f"archive member {problem.member!r} would be written outside the extraction folder",
                  location=problem.member,
                  fix="Do not load this file; it may be hostile. Obtain the model from a trusted source.")


def zip_oversized_member(artifact: Artifact, env) -> Iterator[Hit]:
    for problem in _problems(artifact, "zip-oversized-member"):
        yield Hit(f"archive member is oversized (possible zip bomb): {problem.detail}", location=problem.member,
                  fix="Do not load this file; re-export the model from its source.")


def weights_only(artifact: Artifact, env) -> Iterator[Hit]:
    if artifact.format in (Format.hdf5_weights, Format.hdf5_weights_v3):
        layout = "Keras 3 .weights.h5" if artifact.format is Format.hdf5_weights_v3 else "Keras 2 save_weights"
        yield Hit(
            f"weights-only HDF5 ({layout} layout, {len(artifact.weights)} tensors): it holds no model config, "
            "so load_model fails with 'No model found in config file'",
            fix="Build the model in code (or from its JSON config), then call model.load_weights(path).",
            evidence={"layout": layout},
        )


def checkpoint_not_model(artifact: Artifact, env) -> Iterator[Hit]:
    if artifact.format is Format.tf_checkpoint and artifact.notes.get("checkpoint_version") == "V1":
        prefix = artifact.notes["checkpoint_prefix"]
        yield Hit("a TF V1 checkpoint (one table file, as tf.compat.v1.train.Saver wrote by default before TF 0.12): "
                  "it holds weights only; no Keras loader or tf.saved_model.load reads it, and "
                  "tf.train.Checkpoint cannot restore it into a model",
                  fix=f"reader = tf.train.load_checkpoint({prefix!r}); then assign reader.get_tensor(name) to the "
                      "matching variables of a model rebuilt in code (reader.get_variable_to_shape_map() lists them)")
    elif artifact.format is Format.tf_checkpoint:
        prefix = artifact.notes.get("checkpoint_prefix", artifact.path)
        yield Hit(
            f"TF checkpoint ({len(artifact.checkpoint_keys)} tensors): it holds weights only, and Keras 3 "
            "load_model rejects it with 'File format not supported'",
            fix=f"Rebuild the model in code, then tf.train.Checkpoint(model=model).restore({prefix!r}) "
                "(or model.load_weights under the Keras that wrote it).",
        )


def savedmodel_variables_missing(artifact: Artifact, env) -> Iterator[Hit]:
    sm = artifact.saved_model
    if sm is None or sm.has_variables_dir:
        return
    if sm.variable_count:
        yield Hit(f"the object graph has {sm.variable_count} variables but variables/ is missing",
                  location="variables/", fix="Copy the whole SavedModel directory, including variables/.")
    elif not sm.object_graph_nodes and sm.graph_variables:
        # A TF1 SavedModel has no object graph: its restore op reads every graph variable from variables/.
        yield Hit(f"the graph has {sm.graph_variables} variable op(s) but variables/ is missing: restoring them "
                  "fails ('Graph execution error' / NotFoundError)",
                  location="variables/", fix="Copy the whole SavedModel directory, including variables/.")


def savedmodel_corrupt(artifact: Artifact, env) -> Iterator[Hit]:
    for problem in _problems(artifact, "savedmodel-corrupt"):
        yield Hit(problem.detail, location=problem.member,
                  fix="Re-copy the SavedModel directory from its source, or re-export it.")


def checkpoint_index_corrupt(artifact: Artifact, env) -> Iterator[Hit]:
    for kind in ("checkpoint-index-corrupt", "checkpoint-shard-missing"):
        for problem in _problems(artifact, kind):
            yield Hit(problem.detail, location=problem.member,
                      fix="Re-copy the .index and every .data-* shard together; they must come from the same save.")


TFJS_LAYERS_FIX = ("pip install tensorflowjs && tensorflowjs_converter --input_format=tfjs_layers_model "
                   "--output_format=keras {path} model.h5   # then keras.saving.load_model('model.h5')")
OUT_OF_SCOPE = {
    Format.tflite: ("a TFLite flatbuffer", "interpreter = tf.lite.Interpreter(model_path='{path}'); interpreter.allocate_tensors()"),
    Format.zip_other: ("a zip archive that is not a .keras file", "Unpack it and point kcompat at the model inside."),
    Format.tfjs_layers: ("a TF.js Layers model (model.json plus weight shards); Keras cannot load it", TFJS_LAYERS_FIX),
    Format.tfjs_graph: ("a TF.js Graph model; no converter turns it back into a Keras model",
                        "Load it in JavaScript with tf.loadGraphModel('{path}'), or convert the SavedModel it was made "
                        "from instead."),
    Format.graphdef: ("a TF1 GraphDef (a frozen graph); Keras cannot load it, and neither can tf.saved_model.load",
                      "graph_def = tf.compat.v1.GraphDef(); graph_def.ParseFromString(open('{path}', 'rb').read())\n"
                      "fn = tf.compat.v1.wrap_function(lambda: tf.compat.v1.import_graph_def(graph_def, name=''), [])"),
    Format.metagraph: ("a TF1 MetaGraphDef (.meta): the graph of a TF1 checkpoint or SessionBundle export, not a model",
                       "with tf.compat.v1.Session() as sess:\n"
                       "    saver = tf.compat.v1.train.import_meta_graph('{path}')\n"
                       "    saver.restore(sess, '{prefix}')   # the checkpoint prefix beside it"),
    Format.numpy: ("NumPy arrays, not a model", "arrays = numpy.load('{path}')  # then model.set_weights(...) on a model built in code"),
}


def format_out_of_scope(artifact: Artifact, env) -> Iterator[Hit]:
    if artifact.format not in OUT_OF_SCOPE or artifact.problems:
        return
    what, fix = OUT_OF_SCOPE[artifact.format]
    missing = artifact.notes.get("tfjs", {}).get("missing_shards") if artifact.format in (Format.tfjs_layers, Format.tfjs_graph) else None
    if missing:
        what += f"; {len(missing)} weight shard(s) it names are missing ({', '.join(missing[:3])})"
    prefix = artifact.path[: -len(".meta")] if artifact.path.endswith(".meta") else artifact.path
    yield Hit(f"{artifact.path} is {what}; kcompat does not check this format",
              fix=fix.format(path=artifact.path, prefix=prefix))


def hdf5_not_keras(artifact: Artifact, env) -> Iterator[Hit]:
    if artifact.format is Format.hdf5_other and not artifact.problems:
        yield Hit(f"{artifact.path} is an HDF5 file with neither model_config nor layer_names nor Keras 3 weight "
                  "groups: every Keras loader rejects it ('No model config found in the file')",
                  fix="Check that this is the right file: Keras writes model_config (model.save) or layer_names "
                      "(save_weights). If it holds weights saved another way, read them with h5py and assign them "
                      "with layer.set_weights on a model built in code.")


def unrecognised_file(artifact: Artifact, env) -> Iterator[Hit]:
    if artifact.format is Format.empty:
        yield Hit(f"{artifact.path} is empty (0 bytes)", fix="Re-download or re-save the model; the copy was interrupted.")
    elif artifact.format is Format.unknown and not artifact.problem("no-artifact"):
        yield Hit(f"{artifact.path} is not a format kcompat recognises (no HDF5, zip, SavedModel, checkpoint, JSON or TFLite signature)",
                  fix="Check that this is the model file; a wrong extension does not change what a file is.")


def unreadable_file(artifact: Artifact, env) -> Iterator[Hit]:
    if artifact.format is not Format.unreadable:
        return
    special = next((p.detail for p in artifact.problems if p.kind == "unreadable" and "not a regular file" in p.detail), None)
    if special:  # a FIFO, socket or device: never opened, since a read could wait for ever
        yield Hit(f"{artifact.path} cannot be read as a model: {special}",
                  fix="Point kcompat at the model file itself, not at a pipe, socket or device.")
    else:
        yield Hit(f"{artifact.path} cannot be read (permission denied)", fix=f"chmod u+r {artifact.path!r}, or run as its owner.")


def no_artifact_found(artifact: Artifact, env) -> Iterator[Hit]:
    for problem in _problems(artifact, "no-artifact"):
        yield Hit(problem.detail, fix="Point kcompat at the model file or SavedModel directory itself.")


def config_unparseable(artifact: Artifact, env) -> Iterator[Hit]:
    for problem in _problems(artifact, "config-unparseable"):
        yield Hit(problem.detail, location=problem.member, fix="Re-save the model; its stored config is damaged.")


def reader_error(artifact: Artifact, env) -> Iterator[Hit]:
    for problem in _problems(artifact, "reader-error"):
        yield Hit(f"kcompat could not read this artifact: {problem.detail}",
                  fix="Check the file is complete; if it is, report this as a kcompat bug with the file's format.")


def architecture_only(artifact: Artifact, env) -> Iterator[Hit]:
    if artifact.format is Format.json_config:
        yield Hit(f"model config JSON ({len(artifact.layers)} layers) with no weights",
                  fix="model = keras.models.model_from_json(open(path).read()); then model.load_weights(weights_path)")


# Keras 3 load_model and Model.load_weights both pick their reader by these (keras/src/saving/saving_api.py).
KERAS3_SUFFIXES = {Format.hdf5_model: (".h5", ".hdf5"), Format.hdf5_weights: (".h5", ".hdf5"), Format.keras_zip: (".keras",)}


def extension_mismatch(artifact: Artifact, env) -> Iterator[Hit]:
    """Keras 3 load_model picks its reader by file name, not content (keras/src/saving/saving_api.py)."""
    wanted = KERAS3_SUFFIXES.get(artifact.format)
    suffix = Path(artifact.path).suffix.lower()
    if R.keras_major(env) != 3 or not wanted or suffix in wanted:
        return
    kind = {Format.hdf5_model: "an HDF5 model", Format.hdf5_weights: "an HDF5 weights file"}.get(artifact.format,
                                                                                                "a .keras zip")
    says = ("'File not found: ... Please ensure the file is an accessible `.keras` zip file'" if suffix == ".keras"
            else "'File format not supported'" if suffix not in (".h5", ".hdf5")
            else "an h5py error: the zip is opened as HDF5")
    if artifact.format is Format.hdf5_weights:
        says += " (load_model and model.load_weights alike)"
    target = Path(artifact.path).with_suffix(wanted[0]).name
    yield Hit(f"{Path(artifact.path).name} is {kind} but named '{suffix or '(no suffix)'}'; "
              f"{R.keras_label(env)} chooses its reader by the name and fails with {says}",
              fix=f"cp {Path(artifact.path).name!r} {target!r} and load {target!r}",
              evidence={"suffix": suffix, "expected": list(wanted)})


def config_without_wrapper(artifact: Artifact, env) -> Iterator[Hit]:
    for problem in _problems(artifact, "config-without-wrapper"):
        cls = "keras.Sequential" if problem.detail == "Sequential" else "keras.Model"
        yield Hit(f"{artifact.path} is a model.get_config() dump, not model.to_json(): it lacks the "
                  "{class_name, config} wrapper, so model_from_json cannot tell what to build",
                  fix=f"model = {cls}.from_config(json.load(open('{artifact.path}')))   # or wrap it: "
                      f"{{\"class_name\": \"{problem.detail}\", \"config\": <this file>}}")


def zip_duplicate_member(artifact: Artifact, env) -> Iterator[Hit]:
    for problem in _problems(artifact, "zip-duplicate-member"):
        yield Hit(f"{problem.detail}: Python's zipfile (and so Keras) reads the last of them, other tools the "
                  "first, so what a scanner checked need not be what the loader runs",
                  location=problem.member,
                  fix="Do not load it unless you trust its source; re-save the model so that each member appears once.")


def fix_extension_mismatch(rewrite, artifact: Artifact, env, findings=()) -> None:
    """Write the copy under the extension Keras picks the right reader by."""
    wanted = KERAS3_SUFFIXES.get(artifact.format)
    if wanted and Path(artifact.path).suffix.lower() not in wanted:
        rewrite.suffix = wanted[0]
        rewrite.change(f"written as {wanted[0]}: the bytes are {artifact.format.value}, the name said "
                       f"{Path(artifact.path).suffix or '(no suffix)'}")
