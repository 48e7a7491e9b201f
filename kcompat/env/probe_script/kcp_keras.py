"""Environment probe: the walk of one Keras package's namespaces and of the lookup tables Keras resolves configs with.

Part of the environment probe (run by folder path in the target interpreter): standard library plus
what it introspects, and it must parse as Python 3.8.
"""

import inspect

from kcp_versions import _err
from kcp_walker import BASE_PATHS, NOT_DESERIALIZABLE, Walker, _bases, _first_attr


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
                    # tf_keras's activations module also holds TensorFlow's relu6, silu, leaky_relu,
                    # log_softmax (from tf.nn): activations.get("relu6") finds them there too
                    and getattr(v, "__module__", "").startswith((pkg, "tensorflow."))
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
