"""Environment probe: installed distribution versions, keras.json, importability, and error records.

Part of the environment probe (run by folder path in the target interpreter): standard library plus
what it introspects, and it must parse as Python 3.8.
"""

import importlib
import importlib.util
import json
import os

TRACKED = ("tensorflow", "keras", "tf_keras", "h5py", "numpy", "protobuf")
DIST_NAMES = {"tf_keras": ("tf_keras", "tf-keras")}
BACKENDS = ("tensorflow", "jax", "torch", "numpy")


def _err(errors, what, exc):
    errors.append("%s: %s: %s" % (what, type(exc).__name__, str(exc).strip().splitlines()[0] if str(exc).strip() else ""))


def dist_version(name):
    try:
        from importlib import metadata
    except ImportError:  # Python < 3.8
        try:
            import pkg_resources

            for candidate in DIST_NAMES.get(name, (name,)):
                try:
                    return pkg_resources.get_distribution(candidate).version
                except Exception:
                    pass
        except Exception:
            pass
        return None
    for candidate in DIST_NAMES.get(name, (name,)):
        try:
            return metadata.version(candidate)
        except Exception:
            continue
    return None


def keras_dir():
    # Same rule as keras/src/backend/config.py.
    if "KERAS_HOME" in os.environ:
        return os.environ["KERAS_HOME"]
    base = os.path.expanduser("~")
    if not os.access(base, os.W_OK):
        base = "/tmp"
    return os.path.join(base, ".keras")


def read_keras_json(errors):
    path = os.path.expanduser(os.path.join(keras_dir(), "keras.json"))
    if not os.path.exists(path):
        return None
    try:
        with open(path) as fh:
            data = json.load(fh)
        return data if isinstance(data, dict) else None
    except Exception as exc:
        _err(errors, "could not read %s" % path, exc)
        return None


def find_spec_safe(name):
    try:
        return importlib.util.find_spec(name) is not None
    except Exception:
        return False
