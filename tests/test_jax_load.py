"""The guarded load under Keras 3's JAX backend (kcompat.load.jax_load): a healthy model saved under JAX
loads with one device and with keras.distribution.DataParallel over 2 CPU devices, and the outputs
agree with each other and with the TensorFlow-backend load of the same file.

Needs an interpreter with keras and jax: this one when it has jax, else KCOMPAT_JAX_PYTHON, else the
observation venv of fixtures/README.md (~/.cache/kcompat-backends-venv).
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

from kcompat.load.jax_load import run_backend_matrix
from tests.helpers import ROOT

pytestmark = pytest.mark.slow


def jax_python() -> str | None:
    if importlib.util.find_spec("jax") and importlib.util.find_spec("keras"):
        return sys.executable
    for candidate in (os.environ.get("KCOMPAT_JAX_PYTHON"),
                      str(Path.home() / ".cache" / "kcompat-backends-venv" / "bin" / "python")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@pytest.fixture(scope="module")
def matrix(tmp_path_factory):
    python = jax_python()
    if python is None:
        pytest.skip("no interpreter with keras and jax (set KCOMPAT_JAX_PYTHON)")
    path = ROOT / "fixtures" / "keras3.15-jax" / "seq_compiled.keras"
    return run_backend_matrix(str(path), "keras-zip", python=python, devices=2, tensorflow_python=sys.executable,
                              work_dir=str(tmp_path_factory.mktemp("jaxload")))


def test_one_device_and_data_parallel_load_and_agree(matrix):
    one = matrix.get("keras", "jax/one-device")
    parallel = matrix.get("keras", "jax/data-parallel")
    assert one.status == "ok" and one.num_replicas == 1, one
    assert parallel.status == "ok", parallel
    assert parallel.num_replicas == 2 and "mesh [2]" in parallel.note, parallel
    assert parallel.agrees is True and parallel.max_abs_diff is not None, parallel
    assert matrix.reference == "keras/jax/one-device"


def test_tensorflow_backend_load_agrees_with_jax(matrix):
    tf = matrix.get("keras", "tensorflow/one-device")
    assert tf.status == "ok", tf
    assert tf.agrees is True, (tf.max_abs_diff, tf.note)


def test_a_failing_load_is_classified(tmp_path):
    """A Lambda file is refused under safe_mode in the JAX worker too, classified as KC701, not a crash."""
    python = jax_python()
    if python is None:
        pytest.skip("no interpreter with keras and jax (set KCOMPAT_JAX_PYTHON)")
    path = ROOT / "fixtures" / "keras3.15-jax" / "lambda_jnp.keras"
    m = run_backend_matrix(str(path), "keras-zip", python=python, devices=2, work_dir=str(tmp_path))
    statuses = {(a.strategy, a.loader): (a.status, a.code) for a in m.attempts}
    assert statuses[("jax/one-device", "keras")] == ("refused-unsafe", "KC701"), statuses
    assert statuses[("jax/data-parallel", "keras")] == ("refused-unsafe", "KC701"), statuses
    assert m.reference is None


def test_check_load_under_keras_backend_jax(tmp_path):
    """`KERAS_BACKEND=jax kcompat check --load --python <jax interpreter>` runs the JAX matrix, not the
    tf.distribute one: one device and DataParallel over 2 CPU devices, outputs agreeing."""
    import json
    import subprocess

    python = jax_python()
    if python is None:
        pytest.skip("no interpreter with keras and jax (set KCOMPAT_JAX_PYTHON)")
    out = tmp_path / "report.json"
    env = dict(os.environ, KERAS_BACKEND="jax")
    proc = subprocess.run([sys.executable, "-m", "kcompat", "check", "--load", "--python", python, "--json", str(out),
                           str(ROOT / "fixtures" / "keras3.15-jax" / "seq_compiled.keras")],
                          capture_output=True, text=True, env=env, cwd=str(ROOT), timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    loads = {(a["strategy"], a["loader"]): a for a in json.loads(out.read_text())["artifacts"][0]["loads"]}
    assert loads[("jax/one-device", "keras")]["status"] == "ok"
    parallel = loads[("jax/data-parallel", "keras")]
    assert parallel["status"] == "ok" and parallel["num_replicas"] == 2 and parallel["agrees"] is True


def test_trusted_lambdas_under_jax_and_tensorflow(tmp_path):
    """With safe_mode off (a trusted file), a Lambda that reads `jnp` loads and fails at its first call
    under both backends (KC505: Keras 3 gives a rebuilt lambda its own module's globals), while the
    lambda `t * 2.0` runs under both with agreeing outputs."""
    python = jax_python()
    if python is None:
        pytest.skip("no interpreter with keras and jax (set KCOMPAT_JAX_PYTHON)")
    folder = ROOT / "fixtures" / "keras3.15-jax"
    bound = run_backend_matrix(str(folder / "lambda_jnp.keras"), "keras-zip", python=python, unsafe=True,
                               tensorflow_python=sys.executable, work_dir=str(tmp_path / "jnp"))
    assert {(a.status, a.code, a.loaded) for a in bound.attempts} == {("error", "KC505", True)}
    assert len(bound.attempts) == 6
    plain = run_backend_matrix(str(folder / "lambda_plain.keras"), "keras-zip", python=python, unsafe=True,
                               tensorflow_python=sys.executable, work_dir=str(tmp_path / "plain"))
    assert all(a.status == "ok" for a in plain.attempts)
    assert all(a.agrees for a in plain.attempts if a.note != "the reference")
