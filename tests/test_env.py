"""Tests for kcompat.env: real probes in real interpreters, no mocks.

Tests marked ``slow`` run the probe in the interpreter running pytest, which must have
TensorFlow / Keras / tf_keras installed (the project .venv). The fast tests probe a
bare venv made with ``python -m venv``, which has none of them.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
import time
import venv
from importlib import metadata
from pathlib import Path

import pytest

import kcompat.env as kenv
from kcompat.env import (
    Environment,
    EnvironmentProbeError,
    ProfileError,
    get_environment,
    load_profile,
    save_profile,
)
from kcompat.env import cache as env_cache
from kcompat.cli.env import main as env_main

ENV_DIR = Path(kenv.__file__).parent
REPO = ENV_DIR.parent.parent
TF_NAMES = ("tensorflow", "keras", "tf_keras")
TIMINGS: dict[str, float] = {}


def _installed(name: str) -> str | None:
    for candidate in (name, name.replace("_", "-")):
        try:
            return metadata.version(candidate)
        except metadata.PackageNotFoundError:
            continue
    return None


HAS_TF = all(_installed(n) for n in TF_NAMES)
needs_tf = pytest.mark.skipif(not HAS_TF, reason="tensorflow, keras and tf_keras must be installed here")


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    """A private cache folder for the whole module (KCOMPAT_CACHE_DIR)."""
    path = tmp_path_factory.mktemp("kcompat-cache")
    old = os.environ.get("KCOMPAT_CACHE_DIR")
    os.environ["KCOMPAT_CACHE_DIR"] = str(path)
    yield path
    if old is None:
        os.environ.pop("KCOMPAT_CACHE_DIR", None)
    else:
        os.environ["KCOMPAT_CACHE_DIR"] = old


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory) -> str:
    """A fresh venv without TensorFlow, Keras or numpy."""
    root = tmp_path_factory.mktemp("bare-venv")
    venv.EnvBuilder(with_pip=False, symlinks=(os.name != "nt")).create(root)
    python = root / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    assert python.exists()
    return str(python)


@pytest.fixture(scope="module")
def live_env(cache_dir) -> Environment:
    """A cold probe of the interpreter running the tests."""
    started = time.monotonic()
    env = get_environment(refresh=True)
    TIMINGS["cold"] = time.monotonic() - started
    return env


@pytest.fixture(scope="module")
def reference() -> dict:
    """Ground truth computed independently in a subprocess with TF / Keras imported."""
    code = textwrap.dedent(
        """
        import inspect, json, os
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
        import keras, tf_keras
        import tensorflow as tf
        def params(cls):
            out = []
            for i, p in enumerate(inspect.signature(cls.__init__).parameters.values()):
                if i == 0:
                    continue
                if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
                    out.append(p.name)
            return out
        print(json.dumps({
            "keras": {n: params(getattr(keras.layers, n)) for n in ("Dense", "DepthwiseConv2D", "Conv2D")},
            "tf_keras": {n: params(getattr(tf_keras.layers, n)) for n in ("Dense", "DepthwiseConv2D")},
            "raw_ops": sorted(n for n in dir(tf.raw_ops) if not n.startswith("_")),
            "devices": [d.name for d in tf.config.list_physical_devices()],
        }))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- import boundary


def test_importing_kcompat_env_does_not_import_tf():
    code = (
        "import sys, kcompat.env, kcompat.cli.env, kcompat.env.cache, kcompat.env.profile, "
        "kcompat.env.probe, kcompat.env.model\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf_keras', 'jax', 'torch'))\n"
        "print(bad)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


PROBE_DIR = ENV_DIR / "probe_script"  # the probe: a folder run by path in the target interpreter
PROBE_FILES = sorted(PROBE_DIR.glob("*.py"))


def test_only_probe_script_names_tf_in_imports():
    """No module of kcompat/env outside the probe folder imports TF/Keras, even lazily."""
    offenders = []
    for path in sorted(ENV_DIR.rglob("*.py")):
        if PROBE_DIR in path.parents:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                "import_module",
                "__import__",
            ):
                names = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            for name in names:
                if name.split(".")[0] in TF_NAMES:
                    offenders.append(f"{path.relative_to(ENV_DIR)}:{node.lineno} {name}")
    assert offenders == []


def test_probe_script_uses_only_stdlib_and_introspected_packages():
    """Every file of the probe folder: stdlib, the introspected packages, and its own kcp_* siblings."""
    assert PROBE_DIR / "__main__.py" in PROBE_FILES
    siblings = {p.stem for p in PROBE_FILES if p.name != "__main__.py"}
    for stem in siblings:  # run by path, the folder is first on sys.path: no sibling may shadow a module
        assert stem.startswith("kcp_") and stem not in sys.stdlib_module_names, stem
    allowed = set(sys.stdlib_module_names) | set(TF_NAMES) | {"pkg_resources"} | siblings
    for path in PROBE_FILES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    assert alias.name.split(".")[0] in allowed, (path.name, alias.name)
                    assert alias.name.split(".")[0] != "kcompat", (path.name, alias.name)
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0, (path.name, "relative import")  # siblings import as top-level modules
                assert node.module.split(".")[0] in allowed, (path.name, node.module)
                assert node.module.split(".")[0] != "kcompat", (path.name, node.module)


def test_probe_script_parses_as_python_38():
    """Target interpreters can be older than kcompat's own Python."""
    assert PROBE_FILES
    for path in PROBE_FILES:
        ast.parse(path.read_text(encoding="utf-8"), str(path), feature_version=(3, 8))


def test_probe_version_constants_agree():
    text = (PROBE_DIR / "__main__.py").read_text(encoding="utf-8")
    assert f'PROBE_VERSION = "{kenv.PROBE_VERSION}"' in text


# ---------------------------------------------------------------- model helpers


def _env(**kw) -> Environment:
    base = {"python": "3.11.7", "python_executable": "/x/python", "platform": "Linux"}
    base.update(kw)
    return Environment.model_validate(base)


def test_keras_major_helpers():
    env = _env(versions={"tensorflow": "2.21.0", "keras": "3.15.1", "tf_keras": "2.21.0"})
    assert env.keras_major == 3
    assert env.tf_keras_major == 3
    legacy = _env(
        versions={"tensorflow": "2.21.0", "keras": "3.15.1", "tf_keras": "2.21.0"},
        tf_use_legacy_keras=True,
    )
    assert legacy.tf_keras_major == 2
    no_tf_keras = _env(versions={"tensorflow": "2.21.0", "keras": "3.15.1"}, tf_use_legacy_keras=True)
    assert no_tf_keras.tf_keras_major == 3
    old = _env(versions={"tensorflow": "2.15.1", "keras": "2.15.0"})
    assert (old.keras_major, old.tf_keras_major) == (2, 2)
    none = _env()
    assert (none.keras_major, none.tf_keras_major) == (None, None)


# ---------------------------------------------------------------- bare venv (fast)


def test_bare_venv_snapshot_has_null_tf(cache_dir, bare_python):
    env = get_environment(python=bare_python, refresh=True)
    assert env.source == "probe"
    assert env.versions["tensorflow"] is None
    assert env.versions["keras"] is None
    assert env.versions["tf_keras"] is None
    assert env.ops == {} and env.keras_classes == [] and env.devices == []
    assert "tensorflow not installed" in env.errors
    assert env.python_executable.startswith(str(Path(bare_python).parent.parent))
    assert env.keras_major is None and env.tf_keras_major is None
    assert "tensorflow" not in env.available_backends
    assert env.fingerprint and Path(env.cache_path).exists()


def test_cache_hit_and_invalidation(cache_dir, bare_python, tmp_path):
    first = get_environment(python=bare_python, refresh=True)
    started = time.monotonic()
    again = get_environment(python=bare_python)
    elapsed = time.monotonic() - started
    assert again.from_cache and again.fingerprint == first.fingerprint
    assert elapsed < 1.0
    assert again.model_dump(exclude={"source", "cache_path"}) == first.model_dump(exclude={"source", "cache_path"})
    # A different custom-objects list is a different key, so it probes again.
    other = get_environment(python=bare_python, custom_objects=["json"])
    assert not other.from_cache and other.fingerprint != first.fingerprint
    # Installing a distribution changes the fingerprint.
    site = next(Path(bare_python).parent.parent.glob("lib/python*/site-packages"))
    fake = site / "kcompat_fake_dist-1.0.dist-info"
    fake.mkdir()
    (fake / "METADATA").write_text("Metadata-Version: 2.1\nName: kcompat-fake-dist\nVersion: 1.0\n")
    try:
        changed = get_environment(python=bare_python)
        assert not changed.from_cache and changed.fingerprint != first.fingerprint
    finally:
        for f in fake.iterdir():
            f.unlink()
        fake.rmdir()
    assert get_environment(python=bare_python).from_cache


def test_corrupt_cache_file_reprobes(cache_dir, bare_python):
    env = get_environment(python=bare_python)
    Path(env_cache.cache_path(env.fingerprint)).write_text("{not json", encoding="utf-8")
    again = get_environment(python=bare_python)
    assert again.source == "probe"
    assert get_environment(python=bare_python).from_cache


def test_fingerprint_is_fast_and_stable(bare_python):
    started = time.monotonic()
    a = env_cache.fingerprint(bare_python)
    elapsed = time.monotonic() - started
    assert a == env_cache.fingerprint(bare_python)
    assert a != env_cache.fingerprint(bare_python, ["mymod"])
    assert a != env_cache.fingerprint(bare_python, hide_devices=True)
    assert elapsed < 1.0  # typically ~0.03 s: one `python -c` that lists dist-info names


def test_fingerprint_of_tf_interpreter_does_not_import_tf():
    facts = env_cache.interpreter_facts(sys.executable)
    if HAS_TF:
        assert any(d.startswith("tensorflow==") for d in facts["dists"])
    started = time.monotonic()
    env_cache.fingerprint(sys.executable)
    assert time.monotonic() - started < 1.0  # importing TF alone takes seconds


def test_missing_interpreter_raises(cache_dir, tmp_path):
    with pytest.raises(EnvironmentProbeError, match="not found"):
        get_environment(python=str(tmp_path / "no" / "python"))
    with pytest.raises(EnvironmentProbeError):
        get_environment(python="kcompat-no-such-python-3.99")


def test_crashing_interpreter_raises_with_stderr_tail(cache_dir, tmp_path):
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho 'boom: the interpreter is broken' >&2\nexit 3\n")
    fake.chmod(0o755)
    with pytest.raises(EnvironmentProbeError) as info:
        get_environment(python=str(fake))
    assert "boom: the interpreter is broken" in str(info.value)


def test_cli_exit_2_on_probe_failure(cache_dir, tmp_path, capsys):
    rc = env_main(["--python", str(tmp_path / "missing-python")])
    out, err = capsys.readouterr()
    assert rc == 2
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and "not found" in err


def test_cli_json_and_profiles_roundtrip(cache_dir, bare_python, tmp_path, capsys):
    profile = tmp_path / "target.json"
    assert env_main(["--python", bare_python, "--json", "--save-profile", str(profile)]) == 0
    out, _ = capsys.readouterr()
    printed = Environment.model_validate_json(out)
    assert printed.versions["tensorflow"] is None
    loaded = load_profile(profile)
    assert loaded.source == "profile"
    assert loaded.fingerprint == printed.fingerprint
    assert env_main(["--profile", str(profile)]) == 0
    out, _ = capsys.readouterr()
    assert "declared profile" in out and "tensorflow=-" in out
    assert get_environment(profile=str(profile)).python_executable == printed.python_executable


def test_cli_summary(cache_dir, bare_python, capsys):
    assert env_main(["--python", bare_python]) == 0
    out, _ = capsys.readouterr()
    assert "versions" in out and "ops         0" in out and "cache=" in out


def test_bad_profile(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"python": 3}')
    with pytest.raises(ProfileError):
        load_profile(bad)
    with pytest.raises(ProfileError):
        load_profile(tmp_path / "absent.json")
    assert env_main(["--profile", str(bad)]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_save_profile_from_constructed_env(tmp_path):
    env = _env(versions={"tensorflow": "2.15.1", "keras": "2.15.0"}, ops={"MatMul": ["T"]})
    path = save_profile(env, tmp_path / "sub" / "p.json")
    back = load_profile(path)
    assert back.ops == {"MatMul": ["T"]} and back.tf_keras_major == 2


# ---------------------------------------------------------------- live TF probe (slow)


@pytest.mark.slow
@needs_tf
def test_live_probe_reports_installed_versions(live_env):
    for name in ("tensorflow", "keras", "tf_keras", "h5py", "numpy", "protobuf"):
        assert live_env.versions[name] == _installed(name), name
    assert live_env.python == ".".join(map(str, sys.version_info[:3]))
    assert live_env.python_executable == sys.executable
    assert live_env.keras_major == int(_installed("keras").split(".")[0])
    assert "tensorflow" in live_env.available_backends
    assert not [e for e in live_env.errors if "not installed" in e or "failed" in e], live_env.errors
    expected_backend = os.environ.get("KERAS_BACKEND") or (live_env.keras_json or {}).get("backend") or "tensorflow"
    assert live_env.keras_backend == expected_backend
    assert live_env.tf_use_legacy_keras == (os.environ.get("TF_USE_LEGACY_KERAS") in ("1", "true", "True"))
    print(f"cold probe: {TIMINGS['cold']:.2f}s (probe_seconds={live_env.probe_seconds})")
    assert live_env.probe_seconds < 60


@pytest.mark.slow
@needs_tf
def test_live_probe_ops(live_env, reference):
    assert "transpose_a" in live_env.ops["MatMul"]
    assert live_env.ops["MatMul"] == sorted(live_env.ops["MatMul"])
    assert "KcompatMadeUpOp" not in live_env.ops
    # The registry is a superset of tf.raw_ops (it also holds internal ops).
    assert set(reference["raw_ops"]) <= set(live_env.ops)


@pytest.mark.slow
@needs_tf
def test_live_probe_devices(live_env, reference):
    assert [d.name for d in live_env.devices] == reference["devices"]
    assert any(d.device_type == "CPU" for d in live_env.devices)


@pytest.mark.slow
@needs_tf
def test_live_probe_keras_classes_match_signatures(live_env, reference):
    for framework, pool in (("keras", live_env.keras_classes), ("tf_keras", live_env.tf_keras_classes)):
        for name, params in reference[framework].items():
            entry = live_env.find_class(name, "layer", framework=framework)
            assert entry is not None, (framework, name)
            assert entry.params == params, (framework, name)
            assert entry.framework == framework
            assert entry.module.startswith(f"{framework}.src.")
    dense = live_env.find_class("Dense", "layer")
    assert "units" in dense.params and dense.var_kwargs
    assert dense.module == "keras.src.layers.core.dense"
    assert "keras.layers.Dense" in dense.api_names
    if live_env.keras_major == 3:
        depthwise = live_env.find_class("DepthwiseConv2D", "layer")
        assert "groups" not in depthwise.params
        assert "groups" not in depthwise.base_params


@pytest.mark.slow
@needs_tf
def test_live_probe_covers_deserializable_families(live_env):
    kinds = {c.kind for c in live_env.keras_classes}
    assert {
        "layer",
        "model",
        "optimizer",
        "loss",
        "metric",
        "activation",
        "initializer",
        "regularizer",
        "constraint",
        "dtype_policy",
    } <= kinds
    names = {(c.kind, c.name) for c in live_env.keras_classes}
    for expected in [
        ("model", "Functional"),
        ("model", "Sequential"),
        ("model", "Model"),
        ("optimizer", "Adam"),
        ("loss", "mse"),  # string alias from ALL_OBJECTS_DICT
        ("activation", "relu"),
        ("dtype_policy", "DTypePolicy"),
        ("layer", "InputLayer"),
    ]:
        assert expected in names, expected
    relu = live_env.find_class("relu", "activation")
    assert relu.obj_type == "function"
    tk = live_env.tf_keras_classes
    legacy_adam = [c for c in tk if c.name == "Adam" and c.module and ".legacy." in c.module]
    assert legacy_adam, "tf_keras legacy optimizers must be listed"
    assert {c.name for c in tk if c.kind == "dtype_policy"} >= {"Policy"}
    assert ("model", "Functional") in {(c.kind, c.name) for c in tk}


@pytest.mark.slow
@needs_tf
def test_live_probe_cache_hit(live_env):
    # How fast a hit is, against a cold probe, is benchmarks/bench_env_cache.py's to measure.
    again = get_environment()
    assert again.from_cache, "second call must come from the cache"
    assert again.fingerprint == live_env.fingerprint
    assert "tensorflow" not in sys.modules


@pytest.mark.slow
@needs_tf
@pytest.mark.parametrize("framework", ["keras", "tf_keras"])
def test_cache_key_survives_the_first_import_writing_keras_json(framework, tmp_path, monkeypatch):
    """The first import of Keras on a machine writes keras.json; the key must not change with it (issue 16:
    on a fresh clone an earlier test's import wrote it, and the cache missed)."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    before = env_cache.fingerprint(sys.executable)
    subprocess.run([sys.executable, "-c", f"import {framework}"], check=True, capture_output=True,
                   env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert (tmp_path / "keras.json").is_file()  # the import did write it
    assert env_cache.fingerprint(sys.executable) == before


def test_cache_key_follows_keras_json_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    absent = env_cache.fingerprint(sys.executable)
    (tmp_path / "keras.json").write_text(json.dumps({"backend": "jax"}))
    jax = env_cache.fingerprint(sys.executable)
    (tmp_path / "keras.json").write_text(json.dumps({"image_data_format": "channels_first"}, indent=8))
    channels_first = env_cache.fingerprint(sys.executable)
    (tmp_path / "keras.json").write_text("{not json")
    broken = env_cache.fingerprint(sys.executable)
    assert len({absent, jax, channels_first, broken}) == 4


def test_cache_key_guard_names_a_leaked_variable(monkeypatch):
    from tests.conftest import key_drift

    before = env_cache.key_inputs(sys.executable)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "leaked-by-a-test")
    drift = key_drift(before, env_cache.key_inputs(sys.executable))
    assert list(drift) == ["env"]
    assert drift["env"][1]["CUDA_VISIBLE_DEVICES"] == "leaked-by-a-test"


@pytest.mark.slow
@needs_tf
def test_live_probe_custom_objects(cache_dir, tmp_path, monkeypatch):
    (tmp_path / "kcompat_test_customs.py").write_text(
        textwrap.dedent(
            """
            import keras

            @keras.saving.register_keras_serializable(package="MyPkg")
            class Scale(keras.layers.Layer):
                def __init__(self, factor=1.0, **kwargs):
                    super().__init__(**kwargs)
                    self.factor = factor

                def call(self, x):
                    return x * self.factor

            @keras.saving.register_keras_serializable(package="MyPkg")
            def my_activation(x):
                return x

            import tf_keras

            @tf_keras.saving.register_keras_serializable(package="Legacy")
            class OldScale(tf_keras.layers.Layer):
                def __init__(self, factor=1.0, **kwargs):
                    super().__init__(**kwargs)
                    self.factor = factor
            """
        )
    )
    monkeypatch.chdir(tmp_path)
    env = get_environment(custom_objects=["kcompat_test_customs"])
    registered = {c.registered_name: c for c in env.custom_objects}
    assert "MyPkg>Scale" in registered, env.custom_objects
    scale = registered["MyPkg>Scale"]
    assert scale.name == "Scale" and scale.kind == "layer" and scale.framework == "keras"
    assert scale.params == ["factor"] and scale.var_kwargs
    assert scale.module == "kcompat_test_customs"
    assert registered["MyPkg>my_activation"].obj_type == "function"
    old = registered["Legacy>OldScale"]
    assert old.framework == "tf_keras" and old.kind == "layer" and old.name == "OldScale"
    assert env.custom_object_modules == ["kcompat_test_customs"]
    # A probe without the module reports no custom objects (modules only imported when asked).
    assert get_environment().custom_objects == []


@pytest.mark.slow
@needs_tf
def test_live_probe_bad_custom_module_is_reported(cache_dir):
    env = get_environment(custom_objects=["kcompat_no_such_module_xyz"])
    assert any("kcompat_no_such_module_xyz" in e for e in env.errors)
    assert env.custom_objects == []


@pytest.mark.slow
@needs_tf
def test_live_probe_legacy_keras_flag(cache_dir, monkeypatch, live_env):
    monkeypatch.setenv("TF_USE_LEGACY_KERAS", "1")
    env = get_environment()
    assert not env.from_cache and env.fingerprint != live_env.fingerprint
    assert env.tf_use_legacy_keras is True
    assert env.tf_keras_major == 2
    assert env.keras_major == live_env.keras_major


@pytest.mark.slow
@needs_tf
def test_live_probe_keras_backend_from_env(cache_dir, monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "numpy")
    env = get_environment()
    assert env.keras_backend == "numpy"


def test_fingerprint_facts_taken_in_process_match_the_subprocess_ones():
    # A check whose target is its own interpreter takes the facts in-process; the cache key must
    # come out as a `python -c` of the same code in that interpreter would make it.
    code = ("import json, sys\nfrom kcompat.env import cache\n"
            "print(json.dumps(cache.interpreter_facts(sys.executable, ['json', 'kcompat.cli'])))")
    inproc = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    sub = json.loads(subprocess.run([sys.executable, "-c", env_cache._FINGERPRINT_CODE, json.dumps(["json", "kcompat.cli"])],
                                    capture_output=True, text=True, check=True).stdout)
    assert inproc == sub
    assert inproc["dists"] and set(inproc["modules"]) == {"json", "kcompat.cli"}
