"""kcompat environment probe.

Runs INSIDE the target interpreter as ``python probe_script.py OUT.json [--custom-objects MOD]...``.
It is run by file path, because the target interpreter may not have kcompat installed,
so it uses only the standard library plus what it introspects (tensorflow, keras,
tf_keras; each optional). It writes one JSON object to OUT.json; TF's log noise on
stdout/stderr cannot corrupt it. It must stay importable by old Pythons (3.8+).

This is the only file of kcompat/env that imports TensorFlow or Keras.
"""

import os
import sys

# Running by path puts this file's folder (kcompat/env) first on sys.path, where
# profile.py / model.py / cache.py would shadow stdlib or third-party modules.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import argparse  # noqa: E402
import importlib  # noqa: E402
import importlib.util  # noqa: E402
import inspect  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402

PROBE_VERSION = "1"  # keep equal to kcompat.env.model.PROBE_VERSION
TRACKED = ("tensorflow", "keras", "tf_keras", "h5py", "numpy", "protobuf")
DIST_NAMES = {"tf_keras": ("tf_keras", "tf-keras")}
BACKENDS = ("tensorflow", "jax", "torch", "numpy")
NOT_DESERIALIZABLE = {"serialize", "deserialize", "get"}
NON_MODELING = {
    "clone_model",
    "load_model",
    "model_from_config",
    "model_from_json",
    "model_from_yaml",
    "save_model",
}


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


# ----------------------------------------------------------------- signatures


def describe_callable(obj):
    """(params, var_kwargs, base_params) of a class's __init__ or a function."""
    params, var_kwargs, base = [], False, []
    if inspect.isclass(obj):
        init = getattr(obj, "__init__", None)
        sig = _signature(init)
        if sig is not None:
            params, var_kwargs = _params(sig, drop_first=True)
        if var_kwargs:
            base = _base_params(obj, set(params))
    else:
        sig = _signature(obj)
        if sig is not None:
            params, var_kwargs = _params(sig, drop_first=False)
    return params, var_kwargs, base


def _signature(fn):
    if fn is None or fn is object.__init__:
        return None
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):
        return None


def _params(sig, drop_first):
    names, var_kwargs = [], False
    items = list(sig.parameters.values())
    if drop_first and items and items[0].kind in (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    ):
        items = items[1:]
    for p in items:
        if p.kind == inspect.Parameter.VAR_KEYWORD:
            var_kwargs = True
        elif p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY):
            names.append(p.name)
    return names, var_kwargs


def _base_params(cls, own):
    """Named params of base __init__s reached while each level takes **kwargs."""
    found = []
    seen_first = False
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        if not seen_first:  # the class's effective __init__, already described
            seen_first = True
            continue
        sig = _signature(init)
        if sig is None:
            break
        names, var_kwargs = _params(sig, drop_first=True)
        for n in names:
            if n not in own and n not in found:
                found.append(n)
        if not var_kwargs:
            break
    return found


# ----------------------------------------------------------------- class walk


class Walker:
    """Collects KerasClass dicts, one per (kind, name, object), for one Keras package."""

    def __init__(self, framework, registered_name_fn, base_kinds):
        self.framework = framework
        self.registered_name_fn = registered_name_fn
        self.base_kinds = base_kinds  # [(base class, kind)], most specific first
        self.entries = {}
        self.objs = {}
        self._described = {}

    def kind_of(self, obj, default):
        if inspect.isclass(obj):
            for base, kind in self.base_kinds:
                try:
                    if issubclass(obj, base):
                        return kind
                except TypeError:
                    pass
        return default

    def add(self, obj, name, default_kind, api_name=None, force_kind=None):
        if not (inspect.isclass(obj) or inspect.isfunction(obj) or inspect.isbuiltin(obj) or callable(obj)):
            return
        if inspect.ismodule(obj):
            return
        kind = force_kind or self.kind_of(obj, default_kind)
        # One entry per (kind, name, object): tf_keras has both optimizers.Adam and
        # optimizers.legacy.Adam under the same name.
        key = (kind, name, id(obj))
        entry = self.entries.get(key)
        if entry is None:
            try:
                ident = id(obj)
                if ident not in self._described:
                    self._described[ident] = describe_callable(obj)
                params, var_kwargs, base = self._described[ident]
            except Exception:
                params, var_kwargs, base = [], False, []
            try:
                registered = self.registered_name_fn(obj) if self.registered_name_fn else None
            except Exception:
                registered = None
            own = getattr(obj, "__name__", None)
            entry = {
                "kind": kind,
                "name": name,
                "module": getattr(obj, "__module__", None),
                "qualname": own if own and own != name else None,
                "registered_name": registered if isinstance(registered, str) else None,
                "obj_type": "class" if inspect.isclass(obj) else "function",
                "params": params,
                "var_kwargs": var_kwargs,
                "base_params": base,
                "api_names": [],
                "framework": self.framework,
            }
            self.entries[key] = entry
            self.objs[key] = obj
        if api_name and api_name not in entry["api_names"]:
            entry["api_names"].append(api_name)

    def walk_namespace(self, module_name, kind, functions, errors):
        try:
            mod = importlib.import_module(module_name)
        except Exception as exc:
            _err(errors, "could not import %s" % module_name, exc)
            return
        for attr in sorted(dir(mod)):
            if attr.startswith("_") or attr in NOT_DESERIALIZABLE or attr in NON_MODELING:
                continue
            try:
                obj = getattr(mod, attr)
            except Exception:
                continue
            if inspect.ismodule(obj):
                continue
            if inspect.isclass(obj):
                self.add(obj, attr, kind, api_name="%s.%s" % (module_name, attr))
            elif functions and callable(obj):
                self.add(obj, attr, kind, api_name="%s.%s" % (module_name, attr), force_kind=kind)

    def walk_dict(self, mapping, kind, functions=True):
        for name, obj in sorted(mapping.items(), key=lambda kv: str(kv[0])):
            if not isinstance(name, str) or inspect.ismodule(obj):
                continue
            if inspect.isclass(obj):
                self.add(obj, name, kind)
            elif functions and callable(obj):
                self.add(obj, name, kind, force_kind=kind)

    def result(self):
        out = list(self.entries.values())
        for entry in out:
            entry["api_names"].sort()
        out.sort(key=lambda e: (e["kind"], e["name"], e["module"] or ""))
        return out


def _first_attr(paths):
    """Resolve the first importable 'module:attr' in paths, else None."""
    for path in paths:
        mod_name, _, attr = path.partition(":")
        try:
            mod = importlib.import_module(mod_name)
        except Exception:
            continue
        obj = mod
        ok = True
        for part in attr.split(".") if attr else []:
            if not hasattr(obj, part):
                ok = False
                break
            obj = getattr(obj, part)
        if ok:
            return obj
    return None


def _bases(pkg, pairs):
    out = []
    for kind, paths in pairs:
        obj = _first_attr([p.replace("PKG", pkg) for p in paths])
        if inspect.isclass(obj):
            out.append((obj, kind))
    return out


BASE_PATHS = [
    ("model", ["PKG:Model", "PKG.models:Model"]),
    ("layer", ["PKG.layers:Layer"]),
    ("optimizer", ["PKG.optimizers:Optimizer"]),
    ("optimizer", ["PKG.optimizers.legacy:Optimizer"]),
    ("lr_schedule", ["PKG.optimizers.schedules:LearningRateSchedule"]),
    ("metric", ["PKG.metrics:Metric"]),
    ("loss", ["PKG.losses:Loss"]),
    ("initializer", ["PKG.initializers:Initializer"]),
    ("regularizer", ["PKG.regularizers:Regularizer"]),
    ("constraint", ["PKG.constraints:Constraint"]),
    ("dtype_policy", ["PKG.dtype_policies:DTypePolicy", "PKG.mixed_precision:Policy"]),
]


def walk_keras(pkg, framework, major, errors):
    """Walk one Keras package (Keras 3 ``keras``, or Keras 2 ``keras``/``tf_keras``)."""
    reg_fn = _first_attr(
        [
            pkg + ".saving:get_registered_name",
            pkg + ".utils:get_registered_name",
        ]
    )
    walker = Walker(framework, reg_fn, _bases(pkg, BASE_PATHS))
    namespaces = [
        ("layers", "layer", False),
        ("models", "model", False),
        ("optimizers", "optimizer", False),
        ("optimizers.schedules", "lr_schedule", False),
        ("losses", "loss", True),
        ("metrics", "metric", True),
        ("activations", "activation", True),
        ("initializers", "initializer", False),
        ("regularizers", "regularizer", False),
        ("constraints", "constraint", False),
    ]
    if major and major >= 3:
        namespaces.append(("dtype_policies", "dtype_policy", False))
    else:
        namespaces += [
            ("optimizers.legacy", "optimizer", False),
            ("optimizers.experimental", "optimizer", False),
            ("mixed_precision", "dtype_policy", False),
            ("regularizers", "regularizer", True),  # l1 / l2 / l1_l2 helpers
        ]
    for sub, kind, functions in namespaces:
        walker.walk_namespace("%s.%s" % (pkg, sub), kind, functions, errors)
    # Top-level Model / Sequential / Input / InputLayer.
    for attr, kind in (("Model", "model"), ("Sequential", "model")):
        obj = _first_attr([pkg + ":" + attr])
        if obj is not None:
            walker.add(obj, attr, kind, api_name="%s.%s" % (pkg, attr))

    # Built-in lookup tables Keras itself consults when it resolves a config:
    if major and major >= 3:
        # keras/src/legacy/saving/saving_utils.py: MODULE_OBJECTS.ALL_OBJECTS =
        # layers.__dict__ + InputLayer/Functional/Model/Sequential (legacy .h5 and
        # model_from_json configs resolve class_name there).
        legacy = _first_attr([pkg + ".src.legacy.saving.saving_utils:MODULE_OBJECTS"])
        if legacy is not None:
            try:
                if not hasattr(legacy, "ALL_OBJECTS"):
                    # Filled lazily by model_from_config; mirror its contents.
                    from importlib import import_module

                    layers_mod = import_module(pkg + ".src.layers")
                    models_mod = import_module(pkg + ".src.models")
                    table = dict(
                        (k, v) for k, v in vars(layers_mod).items() if inspect.isclass(v)
                    )
                    for extra in ("Functional", "Model", "Sequential"):
                        if hasattr(models_mod, extra):
                            table[extra] = getattr(models_mod, extra)
                    table["InputLayer"] = getattr(layers_mod, "InputLayer", None)
                else:
                    table = dict(legacy.ALL_OBJECTS)
                walker.walk_dict(dict((k, v) for k, v in table.items() if v is not None), "layer", functions=False)
            except Exception as exc:
                _err(errors, "keras legacy MODULE_OBJECTS", exc)
        # keras/src/<family>/__init__.py: ALL_OBJECTS_DICT maps class names, their
        # snake_case forms and string aliases ("mse", "relu") to objects; used by
        # <family>.get()/deserialize() for string identifiers.
        for sub, kind in (
            ("activations", "activation"),
            ("constraints", "constraint"),
            ("initializers", "initializer"),
            ("losses", "loss"),
            ("metrics", "metric"),
            ("optimizers", "optimizer"),
            ("regularizers", "regularizer"),
            ("dtype_policies", "dtype_policy"),
        ):
            table = _first_attr(["%s.src.%s:ALL_OBJECTS_DICT" % (pkg, sub)])
            if isinstance(table, dict):
                walker.walk_dict(table, kind)
        # keras/src/models/functional.py: Functional is not public but every
        # functional model config names it.
        functional = _first_attr([pkg + ".src.models.functional:Functional"])
        if functional is not None:
            walker.add(functional, "Functional", "model")
        # keras/src/api_export.py: REGISTERED_NAMES_TO_OBJS holds the canonical
        # public path of every keras_export'ed symbol; serialization_lib resolves
        # "module.class_name" through it before importing the module.
        api = _first_attr([pkg + ".src.api_export:REGISTERED_OBJS_TO_NAMES"])
        if isinstance(api, dict):
            by_id = {}
            for obj, name in api.items():
                by_id.setdefault(id(obj), []).append(name)
            for key, entry in walker.entries.items():
                for name in by_id.get(id(walker.objs[key]), ()):
                    if name not in entry["api_names"]:
                        entry["api_names"].append(name)
    else:
        # tf_keras/src/layers/serialization.py (Keras 2): LOCAL.ALL_OBJECTS holds every
        # built-in layer plus Functional/Model/Sequential/Input and the merge
        # functions; layers.deserialize() and legacy .h5 loading resolve there.
        populate = _first_attr(
            [
                pkg + ".src.layers.serialization:populate_deserializable_objects",
                pkg + ".layers.serialization:populate_deserializable_objects",
            ]
        )
        local = _first_attr(
            [pkg + ".src.layers.serialization:LOCAL", pkg + ".layers.serialization:LOCAL"]
        )
        if populate is not None and local is not None:
            try:
                populate()
                walker.walk_dict(dict(local.ALL_OBJECTS), "layer", functions=False)
            except Exception as exc:
                _err(errors, "%s layers ALL_OBJECTS" % pkg, exc)
        for sub, kind in (
            ("activations", "activation"),
            ("losses", "loss"),
            ("metrics", "metric"),
            ("initializers", "initializer"),
        ):
            # Keras 2 resolves string identifiers through the module's globals.
            mod = _first_attr(["%s.src.%s" % (pkg, sub), "%s.%s" % (pkg, sub)])
            if mod is not None and sub in ("activations", "losses", "metrics"):
                table = dict(
                    (k, v)
                    for k, v in vars(mod).items()
                    if not k.startswith("_")
                    and inspect.isfunction(v)
                    and getattr(v, "__module__", "").startswith(pkg)
                    and k not in NOT_DESERIALIZABLE
                )
                walker.walk_dict(table, kind)
    return walker.result()


def custom_registry(pkg):
    fn = _first_attr([pkg + ".saving:get_custom_objects", pkg + ".utils:get_custom_objects"])
    if fn is None:
        return None
    try:
        return fn()
    except Exception:
        return None


# ----------------------------------------------------------------- TF facts


def collect_ops(tf, errors):
    ops = {}
    try:
        # The whole OpRegistry of the loaded binary (including ops registered by
        # op libraries loaded so far, e.g. tensorflow_text): TF_GetAllOpList.
        from tensorflow.core.framework import op_def_pb2
        from tensorflow.python.client import pywrap_tf_session as c_api

        buf = c_api.TF_GetAllOpList()
        try:
            data = c_api.TF_GetBuffer(buf)
        finally:
            try:
                c_api.TF_DeleteBuffer(buf)
            except Exception:
                pass
        op_list = op_def_pb2.OpList()
        op_list.ParseFromString(data)
        for op in op_list.op:
            ops[op.name] = sorted(a.name for a in op.attr)
        if ops:
            return ops
    except Exception as exc:
        _err(errors, "TF_GetAllOpList failed, falling back to tf.raw_ops", exc)
    try:
        from tensorflow.python.framework import op_def_registry

        for name in dir(tf.raw_ops):
            if name.startswith("_"):
                continue
            op_def = op_def_registry.get(name)
            if op_def is not None:
                ops[name] = sorted(a.name for a in op_def.attr)
    except Exception as exc:
        _err(errors, "could not read the op registry", exc)
    return ops


def collect_devices(tf, errors):
    try:
        return [
            {"name": d.name, "device_type": d.device_type}
            for d in tf.config.list_physical_devices()
        ]
    except Exception as exc:
        _err(errors, "could not list devices", exc)
        return []


# ----------------------------------------------------------------- main


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--custom-objects", action="append", default=[])
    parser.add_argument("--no-classes", action="store_true")
    args = parser.parse_args(argv)
    started = time.time()
    # Let user modules named by --custom-objects be found from the caller's cwd,
    # as `python -c` would, without shadowing installed packages.
    if os.getcwd() not in sys.path:
        sys.path.append(os.getcwd())

    errors = []
    versions = dict((name, dist_version(name)) for name in TRACKED)
    keras_json = read_keras_json(errors)
    backend = os.environ.get("KERAS_BACKEND") or (
        (keras_json or {}).get("backend") if isinstance((keras_json or {}).get("backend"), str) else None
    ) or "tensorflow"
    result = {
        "probe_version": PROBE_VERSION,
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "platform": platform.platform(),
        "versions": versions,
        "keras_backend": backend,
        "keras_json": keras_json,
        "tf_use_legacy_keras": os.environ.get("TF_USE_LEGACY_KERAS", "") in ("1", "true", "True"),
        "available_backends": [b for b in BACKENDS if find_spec_safe(b)],
        "devices": [],
        "ops": {},
        "keras_classes": [],
        "tf_keras_classes": [],
        "custom_objects": [],
        "custom_object_modules": list(args.custom_objects),
        "errors": errors,
    }

    tf = None
    if versions["tensorflow"] is None and not find_spec_safe("tensorflow"):
        errors.append("tensorflow not installed")
    else:
        try:
            import tensorflow as tf  # noqa: F811
        except Exception as exc:
            _err(errors, "tensorflow failed to import", exc)
            tf = None
    if tf is not None:
        result["devices"] = collect_devices(tf, errors)

    registries = {}
    for pkg, field in (("keras", "keras_classes"), ("tf_keras", "tf_keras_classes")):
        if versions[pkg] is None and not find_spec_safe(pkg):
            errors.append("%s not installed" % pkg)
            continue
        try:
            mod = importlib.import_module(pkg)
        except Exception as exc:
            _err(errors, "%s failed to import" % pkg, exc)
            continue
        version = versions[pkg] or getattr(mod, "__version__", None)
        try:
            major = int(str(version).split(".")[0])
        except Exception:
            major = 3 if pkg == "keras" else 2
        if not args.no_classes:
            try:
                result[field] = walk_keras(pkg, pkg, major, errors)
            except Exception as exc:
                _err(errors, "walking %s classes failed" % pkg, exc)
                errors.append(traceback.format_exc().strip().splitlines()[-1])
        reg = custom_registry(pkg)
        if reg is not None:
            registries[pkg] = (reg, dict(reg), _first_attr([pkg + ".saving:get_registered_name", pkg + ".utils:get_registered_name"]))

    # Import the user's modules only when asked; report what they registered.
    for mod_name in args.custom_objects:
        try:
            importlib.import_module(mod_name)
        except BaseException as exc:  # a user module may sys.exit()
            _err(errors, "custom objects module %r failed to import" % mod_name, exc)
    customs = []
    for pkg, (live, before, reg_fn) in registries.items():
        walker = Walker(pkg, reg_fn, _bases(pkg, BASE_PATHS))
        for key in sorted(set(live) - set(before)):
            obj = live[key]
            default = "object"
            walker.add(obj, key, default)
        for entry in walker.result():
            name = entry["name"]
            if ">" in name:  # registry keys are "Package>Name"
                entry["registered_name"] = entry["registered_name"] or name
                entry["name"] = name.split(">", 1)[1]
            entry["qualname"] = None
            customs.append(entry)
    if args.custom_objects and not registries:
        errors.append("no Keras custom-object registry available to read custom objects from")
    result["custom_objects"] = customs

    # Ops last: user modules may load op libraries (tensorflow_text, addons).
    if tf is not None:
        result["ops"] = collect_ops(tf, errors)

    result["probe_seconds"] = round(time.time() - started, 3)
    tmp = args.out + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(result, fh)
    os.replace(tmp, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
