"""Environment probe: release facts the rules read beyond the class walk.

Keras 3 op classes (``keras.src.ops.*``), accepted constructor values (kcp_accepted), optimizer
slot layouts, and loader behaviour. All are read from the installed library: op classes by walking
``keras.src.ops``, slot layouts by building each optimizer for one variable, loader behaviour by
saving and loading tiny models the probe makes itself in a temporary folder (never a user's file).

Part of the environment probe (run by folder path in the target interpreter): standard library plus
what it introspects, and it must parse as Python 3.8.
"""

import importlib
import inspect
import os
import pkgutil
import shutil
import sys
import tempfile

from kcp_accepted import accepted_values
from kcp_versions import _err


def _outcome(exc):
    text = str(exc).strip()
    return "%s: %s" % (type(exc).__name__, (text.splitlines()[0] if text else "")[:160])


# ----------------------------------------------------------------- Keras 3 ops


def op_classes(pkg, walker, errors):
    """Every ``Operation`` subclass defined in ``<pkg>.src.ops.*`` (Keras 3 only)."""
    try:
        base = importlib.import_module(pkg + ".src.ops.operation").Operation
        ops_pkg = importlib.import_module(pkg + ".src.ops")
    except Exception:
        return []
    for info in sorted(pkgutil.iter_modules(ops_pkg.__path__), key=lambda i: i.name):
        if info.name.endswith("_test"):
            continue
        name = "%s.src.ops.%s" % (pkg, info.name)
        try:
            mod = importlib.import_module(name)
        except Exception as exc:
            _err(errors, "could not import %s" % name, exc)
            continue
        for attr, obj in sorted(vars(mod).items()):
            if inspect.isclass(obj) and obj is not base and obj.__module__ == name:
                try:
                    if issubclass(obj, base):
                        walker.add(obj, attr, "op", force_kind="op")
                except TypeError:
                    pass
    return walker.result()


# ----------------------------------------------------------------- optimizer slots


def _variable(pkg, tf):
    mod = importlib.import_module(pkg)
    if hasattr(mod, "Variable") and not pkg.startswith("tf_keras"):
        try:
            return mod.Variable("zeros", shape=(2,), dtype="float32", name="w")  # Keras 3
        except Exception:
            pass
    return tf.Variable(tf.zeros([2]), name="w")


def slot_layout(cls, pkg, tf):
    """Names of the variables an optimizer holds once built for one variable named ``w``."""
    opt = cls()
    var = _variable(pkg, tf)
    if hasattr(opt, "build") and not hasattr(opt, "_create_all_weights"):
        opt.build([var])
    elif hasattr(opt, "_create_all_weights"):  # Keras 2 legacy OptimizerV2
        opt._create_all_weights([var])
        _ = opt.iterations
    else:
        opt.build([var])
    variables = opt.variables
    if callable(variables):
        variables = variables()
    return [str(getattr(v, "path", None) or v.name) for v in variables]


def optimizer_slots(pkg, entries, tf, errors):
    """{(name, module): slot names} for the optimizer classes among ``entries``."""
    out = {}
    for entry in entries:
        if entry["kind"] != "optimizer" or entry["obj_type"] != "class" or not entry["module"]:
            continue
        key = (entry["name"], entry["module"])
        if key in out:
            continue
        try:
            cls = getattr(importlib.import_module(entry["module"]), entry["qualname"] or entry["name"])
            out[key] = slot_layout(cls, pkg, tf)
        except Exception:
            out[key] = None  # abstract, or needs arguments (LossScaleOptimizer)
    return out


# ----------------------------------------------------------------- loader behaviour


def _magic(path):
    with open(path, "rb") as fh:
        head = fh.read(8)
    if head.startswith(b"PK"):
        return "zip"
    if head.startswith(b"\x89HDF"):
        return "hdf5"
    return "other"


def _h5_paths(path):
    # Keras wrote the file with h5py, so it is loaded already; the probe imports nothing beyond
    # the standard library and the packages it introspects.
    h5py = sys.modules["h5py"]
    found = []
    with h5py.File(path, "r") as fh:
        fh.visititems(lambda name, obj: found.append(name) if isinstance(obj, h5py.Dataset) else None)
    return sorted(found)


def kcompat_probe_loss(y_true, y_pred):
    return (y_true - y_pred) ** 2


def _h5_honours_compile_false(keras, load_model, tmp, errors, pkg):
    """Whether load_model(.h5, compile=False) leaves the training config alone.

    The .h5 is compiled with a loss no registry knows: a loader that compiles anyway (Keras 3.0-3.2's
    load_model does not pass `compile` on to its HDF5 loader) cannot resolve it and raises.
    """
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    path = os.path.join(tmp, "compiled.h5")
    try:
        model.compile(optimizer="sgd", loss=kcompat_probe_loss)
        model.save(path)
    except Exception as exc:
        _err(errors, "%s compiled .h5 save" % pkg, exc)
        return None
    try:
        load_model(path, compile=False)
    except Exception:
        return False
    return True


def loader_facts(pkg, major, tf, errors):
    """How ``<pkg>``'s load_model behaves, found by saving and loading tiny models made here."""
    facts = {
        "load_model_params": [],
        "keras_ext_writes": None,
        "keras_zip_weight_paths": [],
        "h5_safe_mode": None,
        "h5_honours_compile_false": None,
        "savedmodel_plain": None,
    }
    try:
        keras = importlib.import_module(pkg)
        load_model = keras.models.load_model
        facts["load_model_params"] = [
            p.name for p in inspect.signature(load_model).parameters.values()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        ]
    except Exception as exc:
        _err(errors, "%s load_model" % pkg, exc)
        return facts
    tmp = tempfile.mkdtemp(prefix="kcompat-probe-")
    try:
        layers = keras.layers
        model = keras.Sequential(
            [keras.Input((4, 4, 1)), layers.Conv2D(2, 1), layers.Flatten(), layers.Dense(2)]
        )
        path = os.path.join(tmp, "m.keras")
        try:
            model.save(path)
            facts["keras_ext_writes"] = _magic(path)
            if facts["keras_ext_writes"] != "zip":  # Keras 2.12 writes HDF5 unless told
                os.remove(path)
                model.save(path, save_format="keras_v3")
            import zipfile

            with zipfile.ZipFile(path) as zf:
                zf.extract("model.weights.h5", tmp)
            facts["keras_zip_weight_paths"] = _h5_paths(os.path.join(tmp, "model.weights.h5"))
        except Exception as exc:
            _err(errors, "%s .keras save" % pkg, exc)
        if "safe_mode" in facts["load_model_params"]:
            lam = keras.Sequential([keras.Input((2,)), layers.Lambda(lambda x: x + 1.0)])
            h5 = os.path.join(tmp, "lambda.h5")
            try:
                lam.save(h5)
                try:
                    load_model(h5, safe_mode=True, compile=False)
                    facts["h5_safe_mode"] = False
                except ValueError as exc:
                    facts["h5_safe_mode"] = "safe_mode" in str(exc) or "unsafe" in str(exc).lower()
            except Exception as exc:
                _err(errors, "%s .h5 Lambda save" % pkg, exc)
        facts["h5_honours_compile_false"] = _h5_honours_compile_false(keras, load_model, tmp, errors, pkg)
        if tf is not None:
            module = tf.Module()
            module.f = tf.function(lambda x: x + 1.0, input_signature=[tf.TensorSpec([None], tf.float32)])
            sm = os.path.join(tmp, "plain_savedmodel")
            try:
                tf.saved_model.save(module, sm)
                try:
                    load_model(sm, compile=False)
                    facts["savedmodel_plain"] = "ok"
                except Exception as exc:
                    facts["savedmodel_plain"] = _outcome(exc).replace(tmp, "<tmp>")
            except Exception as exc:
                _err(errors, "tf.saved_model.save", exc)
    except Exception as exc:
        _err(errors, "%s loader facts" % pkg, exc)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return facts


# ----------------------------------------------------------------- entry point


def _class_of(entry):
    try:
        obj = getattr(importlib.import_module(entry["module"]), entry["qualname"] or entry["name"])
    except Exception:
        return None
    return obj if inspect.isclass(obj) else None


def collect(pkg, major, entries, tf, walker, errors):
    """Add ``accepted`` and ``slots`` to the walked entries; return (op classes, loader facts)."""
    for entry in entries:
        if entry["obj_type"] != "class" or not entry["module"]:
            continue
        cls = _class_of(entry)
        if cls is None:
            continue
        try:
            found = accepted_values(cls)
        except Exception:
            found = {}
        if found:
            entry["accepted"] = found
    if tf is not None:
        slots = optimizer_slots(pkg, entries, tf, errors)
        for entry in entries:
            layout = slots.get((entry["name"], entry["module"]))
            if entry["kind"] == "optimizer" and layout is not None:
                entry["slots"] = layout
    ops = op_classes(pkg, walker, errors) if major and major >= 3 else []
    return ops, loader_facts(pkg, major, tf, errors)
