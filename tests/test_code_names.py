"""Global names of a marshalled Lambda, read without unmarshalling it (kcompat.checks._code_names).

The expected names come from the lambdas' source in fixtures/producers/_k3_backends.py (LAMBDAS), and the
payloads from the real files those producers saved under Keras 3.15 / Python 3.11.
"""

from __future__ import annotations

import base64
import json
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kcompat.checks._code_names import global_names
from tests.helpers import ROOT

FIXTURES = ROOT / "fixtures"
# name in LAMBDAS -> the module-level names its source reads
SOURCE_GLOBALS = {"lambda_plain": [], "lambda_ops": ["keras"], "lambda_jnp": ["jnp"], "lambda_jax_nn": ["jax"],
                  "lambda_torch": ["torch"]}


def lambda_code(path) -> str:
    with zipfile.ZipFile(path) as z:
        config = json.loads(z.read("config.json"))
    (layer,) = [x for x in config["config"]["layers"] if x["class_name"] == "Lambda"]
    return layer["config"]["function"]["config"]["code"]


CASES = [(p, SOURCE_GLOBALS[p.stem]) for producer in ("keras3.15-jax", "keras3.3-jax", "keras3.15-torch")
         for p in sorted((FIXTURES / producer).glob("lambda_*.keras"))]


@pytest.mark.parametrize(("path", "expected"), CASES, ids=[f"{p.parent.name}/{p.name}" for p, _ in CASES])
def test_global_names_of_real_lambdas(path, expected):
    assert global_names(lambda_code(path)) == expected


def test_attribute_names_are_not_globals():
    names = global_names(lambda_code(FIXTURES / "keras3.15-jax" / "lambda_jax_nn.keras"))
    assert "nn" not in names and "relu" not in names


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_damaged_payloads_never_raise(data):
    raw = bytearray(base64.b64decode(lambda_code(FIXTURES / "keras3.15-jax" / "lambda_jnp.keras")))
    for _ in range(data.draw(st.integers(1, 4))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(raw)))
    result = global_names(base64.b64encode(bytes(raw[:cut])).decode())
    assert result is None or all(isinstance(n, str) for n in result)
