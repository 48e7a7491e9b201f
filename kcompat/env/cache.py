"""On-disk cache of environment snapshots.

The key is a sha256 over: the interpreter path (as given, made absolute, plus its
realpath and the ``sys.prefix`` it reports, because venv interpreters are symlinks to
one shared binary), the sorted ``name==version`` list of distributions on its
``sys.path``, the sorted custom-objects modules (with the stat of their files), the
environment variables and the settings of ``keras.json`` that change what the probe sees, and
``PROBE_VERSION``. ``keras.json`` counts by its settings over Keras's defaults, not its bytes: the
first ``import keras`` on a machine writes the defaults, which the probe saw already, and a key
over the file's presence changed in the middle of a run (a fresh probe where the cache was warm).
The installed distributions are read by a tiny ``python -c`` in the
target that lists ``*.dist-info`` folder names; it never imports TensorFlow.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from kcompat.env.model import PROBE_VERSION, Environment
from kcompat.model import sha256

# Environment variables that change what the probe reports.
KEY_ENV_VARS = (
    "KERAS_BACKEND",
    "KERAS_HOME",
    "TF_USE_LEGACY_KERAS",
    "CUDA_VISIBLE_DEVICES",
    "PYTHONPATH",
)

# Runs in the target interpreter. Standard library only; must stay fast (no metadata
# parsing, no imports of installed packages): it lists dist-info folder names on sys.path,
# reads keras.json and stats the custom-objects modules' files.
_FINGERPRINT_CODE = r"""
import json, os, sys


def facts(mods, path):
    dists = set()
    for entry in path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for n in names:
            if n.endswith(".dist-info"):
                stem = n[: -len(".dist-info")]
                name, _, version = stem.partition("-")
                dists.add("%s==%s" % (name.lower().replace("-", "_").replace(".", "_"), version))
            elif n.endswith(".egg-info") or n.endswith(".egg-link"):
                dists.add(n.lower())
    base = os.environ.get("KERAS_HOME")
    if not base:
        home = os.path.expanduser("~")
        base = os.path.join(home if os.access(home, os.W_OK) else "/tmp", ".keras")
    kj = None
    try:
        with open(os.path.join(base, "keras.json"), "rb") as fh:
            kj = fh.read().decode("utf-8", "replace")
    except OSError:
        pass
    files = {}
    for mod in mods:
        parts = mod.split(".")
        for entry in path + [os.getcwd()]:
            root = os.path.join(entry or ".", *parts)
            hit = None
            for cand in (root + ".py", os.path.join(root, "__init__.py")):
                if os.path.isfile(cand):
                    hit = cand
                    break
            if hit:
                st = os.stat(hit)
                files[mod] = [os.path.abspath(hit), st.st_size, st.st_mtime_ns]
                break
    return {"executable": sys.executable, "prefix": sys.prefix, "version": sys.version,
            "path": path, "dists": sorted(dists), "keras_json": kj, "modules": files}


if __name__ == "__main__":
    print(json.dumps(facts(json.loads(sys.argv[1]), sys.path)))
"""


# What Keras 3 and tf_keras write to a missing keras.json on import, and assume while it is missing.
KERAS_JSON_DEFAULTS = {"floatx": "float32", "epsilon": 1e-07, "backend": "tensorflow", "image_data_format": "channels_last"}


def keras_settings(text: str | None) -> str:
    """The settings a keras.json gives (the defaults when there is none); the raw text if it does not parse."""
    if text is None:
        return json.dumps(KERAS_JSON_DEFAULTS, sort_keys=True)
    try:
        data = json.loads(text)
    except ValueError:
        return text
    if not isinstance(data, dict):
        return text
    return json.dumps({**KERAS_JSON_DEFAULTS, **data}, sort_keys=True)


class FingerprintError(RuntimeError):
    def __init__(self, message: str, stderr: str = "") -> None:
        super().__init__(message)
        self.stderr = stderr


def cache_dir() -> Path:
    env = os.environ.get("KCOMPAT_CACHE_DIR")
    if env:
        return Path(env)
    return Path.home() / ".cache" / "kcompat" / "env"


def interpreter_facts(python: str, custom_objects: Sequence[str] = (), timeout: float = 30) -> dict:
    """What the cache key needs to know about the target, from a fast subprocess.

    When the target is this very interpreter the same code runs in-process (a subprocess costs
    ~35 ms, a third of a warm check's environment stage), over the path a ``python -c`` of it
    would see: this process's, with the script's directory as ``''``.
    """
    if os.path.abspath(python) == os.path.abspath(sys.executable):
        scope: dict = {"__name__": "kcompat_fingerprint"}
        exec(_FINGERPRINT_CODE, scope)  # noqa: S102 - our own constant code
        return scope["facts"](sorted(custom_objects), [""] + sys.path[1:])
    import subprocess

    try:
        proc = subprocess.run(
            [python, "-c", _FINGERPRINT_CODE, json.dumps(sorted(custom_objects))],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise FingerprintError(f"could not run {python}: {exc}") from exc
    if proc.returncode != 0:
        raise FingerprintError(
            f"{python} exited with status {proc.returncode} while fingerprinting",
            proc.stderr,
        )
    try:
        return json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError) as exc:
        raise FingerprintError(f"{python} printed no fingerprint", proc.stderr) from exc


def fingerprint(
    python: str,
    custom_objects: Sequence[str] = (),
    *,
    hide_devices: bool = False,
    facts: dict | None = None,
) -> str:
    """The cache key for probing ``python`` with ``custom_objects``."""
    payload = key_inputs(python, custom_objects, hide_devices=hide_devices, facts=facts)
    blob = json.dumps(payload, sort_keys=True).encode()
    return sha256(blob).hexdigest()


def key_inputs(
    python: str,
    custom_objects: Sequence[str] = (),
    *,
    hide_devices: bool = False,
    facts: dict | None = None,
) -> dict:
    """Everything the cache key covers, by name: what to compare when two keys differ."""
    if facts is None:
        facts = interpreter_facts(python, custom_objects)
    return {
        "probe_version": PROBE_VERSION,
        "interpreter": os.path.abspath(python),
        "realpath": os.path.realpath(python),
        "executable": facts.get("executable"),
        "prefix": facts.get("prefix"),
        "python_version": facts.get("version"),
        "sys_path": facts.get("path"),
        "dists": facts.get("dists"),
        "keras_json": keras_settings(facts.get("keras_json")),
        "custom_objects": sorted(custom_objects),
        "custom_object_files": facts.get("modules"),
        "env": {name: os.environ.get(name) for name in KEY_ENV_VARS},
        "hide_devices": hide_devices,
        "cwd": os.getcwd() if custom_objects else None,
    }


def cache_path(key: str, directory: Path | None = None) -> Path:
    return (directory or cache_dir()) / f"{key}.json"


def load(key: str, directory: Path | None = None) -> Environment | None:
    """The cached snapshot for ``key``, or None when absent, unreadable or stale."""
    path = cache_path(key, directory)
    try:
        text = path.read_text(encoding="utf-8")
        # kcompat wrote this file under a key that includes PROBE_VERSION: converted, not validated again
        env = Environment.from_data(json.loads(text))
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None
    if env.probe_version != PROBE_VERSION or env.fingerprint != key:
        return None
    return env.model_copy(update={"source": "cache", "cache_path": str(path)})


def store(env: Environment, directory: Path | None = None) -> Path:
    """Write ``env`` under its fingerprint atomically (temp file + rename)."""
    path = cache_path(env.fingerprint, directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = env.model_copy(update={"source": "probe", "cache_path": None}).model_dump_json()
    import tempfile

    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path
