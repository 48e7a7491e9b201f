"""Facts read statically from models really saved by the installed TensorFlow and Keras."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from kcompat.artifacts import read_artifact
from tests.helpers import ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    folder = tmp_path_factory.mktemp("real")
    proc = subprocess.run([sys.executable, str(ROOT / "tests" / "data" / "make_models.py"), str(folder)],
                          capture_output=True, text=True, timeout=900, env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return folder, json.loads(proc.stdout.strip().splitlines()[-1])


def test_every_format_is_named_correctly(saved):
    folder, truth = saved
    for name, expected in truth["files"].items():
        artifact = read_artifact(folder / name)
        assert artifact.format.value == expected["format"], name
        assert not artifact.problems, (name, artifact.problems)


def test_saved_by_versions_and_layer_tree(saved):
    folder, truth = saved
    for name, expected in truth["files"].items():
        if "layers" not in expected or expected["format"] == "json-config":
            continue
        artifact = read_artifact(folder / name)
        assert artifact.keras_version == truth["keras"], name
        assert artifact.model_class == expected["model_class"].replace("Model", "Functional") or \
            artifact.model_class == expected["model_class"], name
        # Sequential.layers leaves out the InputLayer that its config lists; Functional keeps it.
        top = [layer.class_name for layer in artifact.layers if "/" not in layer.path and layer.class_name != "InputLayer"]
        assert top == [c for c in expected["layers"] if c != "InputLayer"], name


def test_nested_and_wrapped_layers_are_in_the_tree(saved):
    folder, _ = saved
    layers = {layer.path: layer for layer in read_artifact(folder / "nested.keras").layers}
    assert layers["head"].class_name == "Sequential"
    assert [layers[p].class_name for p in layers if p.startswith("head/") and layers[p].class_name != "InputLayer"] == ["Dense", "Dense"]
    assert any(p.startswith("td/") and layers[p].class_name == "Dense" for p in layers)
    wrapped = [p for p in layers if p.startswith("bidirectional/")]
    assert {layers[p].class_name for p in wrapped} == {"LSTM"} and len(wrapped) == 2
    assert {layers[p].wrapper_key for p in wrapped} == {"layer", "backward_layer"}


def test_training_config_and_weights_inventory(saved):
    folder, truth = saved
    # Keras 3.15 leaves the optimizer out of a .keras compile_config when it was passed as an
    # instance and the model was trained, so only the .h5 training_config is asserted to name it.
    assert read_artifact(folder / "simple.h5").training.optimizer_class == truth["files"]["simple.h5"]["optimizer"]
    assert read_artifact(folder / "nested.keras").training.optimizer_class == "Adam"
    for name in ("simple.h5", "simple.keras"):
        artifact = read_artifact(folder / name)
        assert artifact.training.loss == "mse"
        assert sorted(w.shape for w in artifact.weights) == [[2], [3], [3, 2], [4, 3]]
        assert artifact.optimizer_weight_count and artifact.optimizer_weight_count > 4
    assert len(read_artifact(folder / "simple.weights.h5").weights) == truth["files"]["simple.weights.h5"]["weight_count"]


def test_signatures_match_what_tensorflow_loads(saved):
    folder, truth = saved
    for name in ("simple_export", "adder_sm"):
        artifact = read_artifact(folder / name)
        keys = sorted(s.key for s in artifact.saved_model.signatures if not s.key.startswith("__"))
        assert keys == truth["files"][name]["signatures"], name
        assert artifact.saved_model.tensorflow_version == truth["tensorflow"]
        assert artifact.saved_model.tags == [["serve"]]
        assert artifact.saved_model.fingerprint is not None
    add = next(s for s in read_artifact(folder / "adder_sm").saved_model.signatures if s.key == "add_two")
    assert {k: [v.dtype, v.shape] for k, v in add.inputs.items()} == truth["files"]["adder_sm"]["inputs"]
    assert "AddV2" in read_artifact(folder / "adder_sm").saved_model.ops
    assert "MatMul" in read_artifact(folder / "simple_export").saved_model.ops


def test_checkpoint_inventory(saved):
    folder, _ = saved
    artifact = read_artifact(folder / "ckpt")
    shapes = sorted(w.shape for w in artifact.weights if "VARIABLE_VALUE" in w.name)
    assert [4, 3] in shapes and [3, 2] in shapes
