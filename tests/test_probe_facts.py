"""The probe's release facts: accepted constructor values, Keras 3 op classes, optimizer slots, loader behaviour."""

from __future__ import annotations

import importlib
import sys
import textwrap

import pytest

from kcompat.env import PROBE_VERSION, get_environment
from tests.helpers import ROOT

PROBE_DIR = ROOT / "kcompat" / "env" / "probe_script"


@pytest.fixture()
def accepted(tmp_path, monkeypatch):
    """kcp_accepted.accepted_values, and a way to make a throwaway module of classes to read."""
    monkeypatch.syspath_prepend(str(PROBE_DIR))
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("kcp_accepted")

    def build(source: str):
        name = f"kc_accepted_case_{len(list(tmp_path.iterdir()))}"
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        return importlib.import_module(name)

    yield module.accepted_values, build
    for name in [n for n in sys.modules if n.startswith("kc_accepted_case_")]:
        del sys.modules[name]


def test_a_literal_check_in_init_gives_the_accepted_values(accepted):
    accepted_values, build = accepted
    mod = build('''
        class Attention:
            def __init__(self, use_scale=False, score_mode="dot"):
                self.score_mode = score_mode
                if self.score_mode not in ["dot", "concat"]:
                    raise ValueError("bad score_mode")
    ''')
    assert accepted_values(mod.Attention) == {"score_mode": ["dot", "concat"]}


def test_values_handed_on_to_super_and_to_a_module_helper_are_followed(accepted):
    accepted_values, build = accepted
    mod = build('''
        def normalize_padding(value):
            padding = value.lower()
            if padding not in {"valid", "same", "causal"}:
                raise ValueError(padding)
            return padding

        class Conv:
            def __init__(self, rank, padding="valid", data_format=None):
                self.padding = normalize_padding(padding)
                allowed = ("channels_first", "channels_last")
                if data_format not in allowed:
                    raise ValueError(data_format)

        class Conv2D(Conv):
            def __init__(self, filters, padding="valid", data_format=None, **kwargs):
                super().__init__(rank=2, padding=padding, data_format=data_format, **kwargs)
    ''')
    found = accepted_values(mod.Conv2D)
    assert sorted(found["padding"]) == ["causal", "same", "valid"]
    assert found["data_format"] == ["channels_first", "channels_last"]


def test_a_reading_kept_for_one_function_is_never_given_to_another_that_reuses_its_id(accepted):
    # CPython reuses an object's id once it is freed; the probe keeps each function's parse by the id
    # of its code object. Simulate the reuse: file A's reading under B's id.
    accepted_values, build = accepted
    probe = sys.modules["kcp_accepted"]
    mod_a = build('''
        class A:
            def __init__(self, mode="x"):
                if mode not in ("x", "y"):
                    raise ValueError(mode)
    ''')
    mod_b = build('''
        class B:
            def __init__(self, kind="p"):
                if kind not in ("p", "q"):
                    raise ValueError(kind)
    ''')
    assert accepted_values(mod_a.A) == {"mode": ["x", "y"]}
    code_a, code_b = mod_a.A.__init__.__code__, mod_b.B.__init__.__code__
    probe._PARSED[id(code_b)] = probe._PARSED[id(code_a)]
    assert accepted_values(mod_b.B) == {"kind": ["p", "q"]}


def test_a_check_that_does_not_raise_or_tests_no_argument_gives_nothing(accepted):
    accepted_values, build = accepted
    mod = build('''
        MODES = ("a", "b")

        class Lenient:
            def __init__(self, mode="a", other=1):
                if mode not in MODES:
                    mode = "a"  # silently replaced, not refused
                if "x" not in MODES:
                    raise ValueError()
    ''')
    assert accepted_values(mod.Lenient) == {}


@pytest.mark.slow
def test_a_real_probe_records_the_release_facts():
    env = get_environment(refresh=True)
    assert env.probe_version == PROBE_VERSION == "5"
    # TF's op definitions: Conv2D declares T, strides and padding without defaults, the rest with one;
    # XlaCallModule gained defaults for dim_args_spec after TF 2.12 (KC608).
    assert env.ops_required["Conv2D"] == ["T", "padding", "strides"]
    assert "dim_args_spec" in env.ops["XlaCallModule"] and "dim_args_spec" not in env.ops_required["XlaCallModule"]
    assert "NoOp" not in env.ops_required  # no attrs at all
    assert env.find_class("Attention", "layer").accepted["score_mode"] == ["dot", "concat"]
    assert env.find_class("Conv2D", "layer").accepted["data_format"] == ["channels_first", "channels_last"]
    add = env.find_op("Add", "keras.src.ops.numpy")
    assert add is not None and add.kind == "op"
    adam = [c for c in env.keras_classes if c.name == "Adam" and c.kind == "optimizer"][0]
    assert adam.slots and any(s.endswith("w_momentum") for s in adam.slots)
    keras = env.loaders["keras"]
    assert keras.keras_ext_writes == "zip" and keras.h5_safe_mode is True
    assert keras.h5_honours_compile_false is True  # Keras 3.3 and later pass compile on to the .h5 loader
    assert keras.keras_zip_weight_paths[0].startswith("layers/conv2d/vars/")
    assert keras.savedmodel_plain.startswith("ValueError")  # Keras 3 load_model refuses a SavedModel
    assert env.loaders["tf_keras"].savedmodel_plain == "ok"
    # tf_keras resolves an activation string through its module's globals, which hold tf.nn's relu6 too
    tf_keras_activations = {c.name for c in env.tf_keras_classes if c.kind == "activation"}
    assert {"relu6", "relu", "softmax"} <= tf_keras_activations
