"""KC601-KC603, KC606 and KC609: SavedModel signatures and the object graph. Static, no TF import."""

from __future__ import annotations

from collections.abc import Iterator

from kcompat.checks.base import Hit, saved_model_facts
from kcompat.model import Artifact, Signature

INIT_OP = "__saved_model_init_op"



def _callable(facts) -> list[Signature]:
    return [s for s in facts.signatures if s.key != INIT_OP]


def _spec(tensors) -> str:
    def one(name, t):
        shape = "?" if t.shape is None else "(" + ", ".join("None" if d is None else str(d) for d in t.shape) + ")"
        return f"{name}: {t.dtype}{shape}"
    return ", ".join(one(k, v) for k, v in tensors.items()) or "none"


def no_serving_signature(artifact: Artifact, env) -> Iterator[Hit]:
    facts = saved_model_facts(artifact)
    if facts is None or any(s.key == "serving_default" for s in facts.signatures):
        return
    others = [s.key for s in _callable(facts)]
    if others:
        first = others[0]
        message = (f"no 'serving_default' signature, only {others}: TF Serving, "
                   f"TFSMLayer(path, call_endpoint='serving_default') and loaded.signatures['serving_default'] "
                   "fail with KeyError: 'serving_default'")
        fix = (f"layer = keras.layers.TFSMLayer(path, call_endpoint={first!r})\n"
               f"# or: tf.saved_model.load(path).signatures[{first!r}](...)\n"
               f"# or serve it by name: saved_model_cli show --dir {artifact.path} --all")
    else:
        message = ("the SavedModel has no callable signature at all (only __saved_model_init_op): the model was "
                   "saved before it was traced, so there is nothing to serve and TFSMLayer has no endpoint")
        fix = ("Call the model once on real inputs (or build it with an input shape), then save again with a "
               "signature: tf.saved_model.save(model, path, signatures=tf.function(model.call).get_concrete_function("
               "tf.TensorSpec([None, ...], tf.float32))), or in Keras 3: model.export(path)")
    yield Hit(message, location="saved_model.pb", fix=fix,
              evidence={"signatures": [s.key for s in facts.signatures]}, key="serving_default")


def signature_facts(artifact: Artifact, env) -> Iterator[Hit]:
    facts = saved_model_facts(artifact)
    if facts is None:
        return
    sigs = _callable(facts)
    if not sigs:
        return
    parts = [f"{s.key}({_spec(s.inputs)}) -> {_spec(s.outputs)}" for s in sigs]
    yield Hit(
        "signatures: " + "; ".join(parts), location="saved_model.pb",
        fix="Feed each input by its name and dtype: tf.saved_model.load(path).signatures[KEY](**inputs)",
        evidence={s.key: {"method_name": s.method_name,
                          "inputs": {k: v.model_dump() for k, v in s.inputs.items()},
                          "outputs": {k: v.model_dump() for k, v in s.outputs.items()}} for s in sigs},
        key="signatures")


def tfsmlayer_multi_input(artifact: Artifact, env) -> Iterator[Hit]:
    facts = saved_model_facts(artifact)
    if facts is None:
        return
    keys = {s.key for s in facts.signatures}
    for sig in _callable(facts):
        if sig.key != "serving_default" or len(sig.inputs) < 2:
            continue
        names = list(sig.inputs)
        kwargs = ", ".join(f"{n}={n}" for n in names)
        if "serve" in keys:  # a Keras 3 model.export(): its 'serve' endpoint takes the inputs positionally
            fix = (f"layer = keras.layers.TFSMLayer(path, call_endpoint='serve')\n"
                   f"outputs = layer([{', '.join(names)}])")
        else:
            fix = (f"serving = tf.saved_model.load(path).signatures['serving_default']\n"
                   f"outputs = serving({kwargs})  # keyword arguments, by signature input name")
        yield Hit(
            f"signature {sig.key!r} takes {len(names)} named inputs ({', '.join(names)}): a TFSMLayer call passes "
            "its input as one positional argument, so layer([a, b]) and layer({...}) both fail with 'Binding inputs "
            "to tf.function failed due to `too many positional arguments`' and layer(a, b) with 'got multiple "
            "values for argument 'training''",
            location=f"signature_def[{sig.key}]", fix=fix,
            evidence={"signature": sig.key, "inputs": names}, key=sig.key)


def optimizer_slots_savedmodel(artifact: Artifact, env) -> Iterator[Hit]:
    facts = saved_model_facts(artifact)
    if facts is None or not facts.slot_variable_count:
        return
    yield Hit(
        f"the object graph carries {facts.slot_variable_count} optimizer slot variables of a legacy Keras optimizer "
        "(object 'optimizer'); they are not needed for inference. tf.saved_model.load restores them through a "
        "Keras 2 optimizer: TF 2.12-2.15 have one inside, later TF only with tf_keras installed (KC607 where it "
        "is not)",
        location="saved_model.pb:object_graph_def",
        fix=("Save an inference-only copy without the optimizer: under the producing Keras, "
             "model.save(path, include_optimizer=False)"),
        evidence={"slot_variables": facts.slot_variable_count}, key="slots")


def savedmodel_slots_need_tf_keras(artifact: Artifact, env) -> Iterator[Hit]:
    facts = saved_model_facts(artifact)
    tf = env.tensorflow_major_minor
    if facts is None or not facts.slot_variable_count or tf is None or tf < (2, 16) or env.versions.get("tf_keras"):
        return
    yield Hit(
        f"the object graph carries {facts.slot_variable_count} slot variables of a legacy Keras 2 optimizer; "
        f"TensorFlow {env.versions.get('tensorflow')} has no Keras 2 inside and tf_keras is not installed, so "
        "tf.saved_model.load revives the optimizer as a plain object and fails restoring its slots with "
        "\"'_UserObject' object has no attribute 'add_slot'\"",
        location="saved_model.pb:object_graph_def",
        fix=("pip install tf_keras (the version matching TensorFlow) in the serving environment; or save an "
             "inference-only copy under the producing Keras: model.save(path, include_optimizer=False)"),
        evidence={"slot_variables": facts.slot_variable_count, "tensorflow": env.versions.get("tensorflow")},
        key="slots-no-tf-keras")


def signature_unfed_placeholder(artifact: Artifact, env) -> Iterator[Hit]:
    facts = saved_model_facts(artifact)
    if facts is None:
        return
    for sig in _callable(facts):
        names = sig.unfed_placeholders
        if not names:
            continue
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        yield Hit(
            f"signature {sig.key!r} computes its outputs from placeholder(s) {shown} that are not among its inputs "
            f"({', '.join(sig.inputs) or 'none'}): tf.saved_model.load of this TF1 SavedModel prunes the graph to "
            "each signature and raises UnliftableError: 'A SavedModel signature needs an input for each "
            "placeholder the signature's outputs use', and TFSMLayer loads it the same way",
            location=f"signature_def[{sig.key}]",
            fix=("# TF1 semantics, feeding the placeholder by name:\n"
                 "with tf.compat.v1.Session(graph=tf.Graph()) as sess:\n"
                 f"    tf.compat.v1.saved_model.loader.load(sess, ['serve'], {artifact.path!r})\n"
                 f"    sess.run('OUTPUT:0', feed_dict={{'INPUT:0': x, '{names[0]}:0': value}})\n"
                 "# or export again with the placeholder as a signature input, or as "
                 "tf.compat.v1.placeholder_with_default"),
            evidence={"signature": sig.key, "placeholders": names, "inputs": list(sig.inputs)},
            key=sig.key)

