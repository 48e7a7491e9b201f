"""Environment probe: the walker that records Keras classes and functions, and the base classes that give their kind.

Part of the environment probe (run by folder path in the target interpreter): standard library plus
what it introspects, and it must parse as Python 3.8.
"""

import importlib
import inspect

from kcp_signatures import describe_callable
from kcp_versions import _err

NOT_DESERIALIZABLE = {"serialize", "deserialize", "get"}
NON_MODELING = {
    "clone_model",
    "load_model",
    "model_from_config",
    "model_from_json",
    "model_from_yaml",
    "save_model",
}



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
