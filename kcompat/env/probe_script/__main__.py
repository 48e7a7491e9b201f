"""kcompat environment probe.

Runs INSIDE the target interpreter as ``python probe_script OUT.json [--custom-objects MOD]...`` (this
folder, run by path: Python runs its ``__main__.py``). It is run by path, because the target interpreter
may not have kcompat installed, so it uses only the standard library plus what it introspects
(tensorflow, keras, tf_keras; each optional). It writes one JSON object to OUT.json; TF's log noise on
stdout/stderr cannot corrupt it. It must stay importable by old Pythons (3.8+).

This folder holds only the probe's own modules, all named ``kcp_*`` so that they cannot shadow a stdlib
or third-party module:
    kcp_versions     distribution versions, keras.json, importability, error records
    kcp_signatures   constructor arguments from signatures
    kcp_walker       the Walker that records classes and functions, base classes -> kinds
    kcp_keras        the walk of one Keras package and of Keras's own lookup tables; custom objects
    kcp_tf           registered ops and devices
    kcp_facts        release facts: Keras 3 op classes, optimizer slot layouts, loader behaviour
    kcp_accepted     accepted values of constructor arguments, read from the library's own checks
    __main__         main(): the snapshot, in order

These are the only files of kcompat/env that import TensorFlow or Keras.
"""

import os
import sys

# Running the folder by path puts it first on sys.path; that is how the kcp_* modules find each
# other. Once they are imported the folder leaves sys.path again, so that what the probe reports
# (and the user's --custom-objects modules) sees the target interpreter's own path.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _HERE)

import argparse  # noqa: E402
import importlib  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402

from kcp_facts import collect as collect_facts  # noqa: E402
from kcp_keras import custom_registry, walk_keras  # noqa: E402
from kcp_tf import collect_devices, collect_ops  # noqa: E402
from kcp_versions import BACKENDS, TRACKED, _err, dist_version, find_spec_safe, read_keras_json  # noqa: E402
from kcp_walker import BASE_PATHS, Walker, _bases, _first_attr  # noqa: E402

sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

PROBE_VERSION = "5"  # keep equal to kcompat.env.model.PROBE_VERSION


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
        "ops_required": {},
        "keras_classes": [],
        "tf_keras_classes": [],
        "custom_objects": [],
        "custom_object_modules": list(args.custom_objects),
        "keras_ops": [],
        "loaders": {},
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
            try:
                reg_fn = _first_attr([pkg + ".saving:get_registered_name", pkg + ".utils:get_registered_name"])
                walker = Walker(pkg, reg_fn, _bases(pkg, BASE_PATHS))
                ops, loaders = collect_facts(pkg, major, result[field], tf, walker, errors)
                if ops:
                    result["keras_ops"] = ops
                result["loaders"][pkg] = loaders
            except Exception as exc:
                _err(errors, "reading %s release facts failed" % pkg, exc)
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
        result["ops"] = collect_ops(tf, errors, result["ops_required"])

    result["probe_seconds"] = round(time.time() - started, 3)
    tmp = args.out + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(result, fh)
    os.replace(tmp, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
