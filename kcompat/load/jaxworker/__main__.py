"""Guarded-load worker for Keras 3 under a non-TensorFlow backend: runs INSIDE the target interpreter.

Launched by folder path (``python kcompat/load/jaxworker SPEC.json``) by ``kcompat.load.jax_load``; it
imports only the stdlib, numpy and keras (which imports the backend named by ``KERAS_BACKEND``).
The parent sets ``KERAS_BACKEND`` and, for several JAX CPU devices,
``XLA_FLAGS=--xla_force_host_platform_device_count=N`` before this process starts: JAX reads it once.

Each unit is (distribution, loader):
    one-device     no distribution: what a plain ``load_model`` does
    data-parallel  ``keras.distribution.DataParallel`` over every device of the process (JAX only),
                   set before the load so that the variables are created replicated on the mesh
and the loader is ``keras`` (compile=True) or ``keras-nocompile``. A unit loads the model, runs
``predict`` on deterministic inputs (a batch divisible by the device count) and saves the outputs to
``<out_dir>/<distribution>/<loader>/outputs.npz``. Results go to ``<out_dir>/results.jsonl``, one line
per unit, written as soon as the unit ends (a crash leaves the earlier ones).
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback


def _input_specs(model) -> list[tuple[tuple, str]]:
    try:
        return [(tuple(t.shape), str(getattr(t, "dtype", "float32"))) for t in model.inputs]
    except (AttributeError, ValueError):
        # A Sequential that could not be built at load (a Lambda whose call fails) has no inputs yet:
        # its config still names the InputLayer's shape.
        layers = model.get_config().get("layers") or []
        first = layers[0].get("config", {}) if layers else {}
        shape = first.get("batch_shape") or first.get("batch_input_shape")
        if not shape:
            raise
        return [(tuple(shape), str(first.get("dtype") or "float32"))]


def _inputs(model, batch: int):
    import numpy as np

    rng = np.random.default_rng(0)
    out = []
    for shape_in, dtype in _input_specs(model):
        shape = [batch] + [int(d) if d is not None else 4 for d in shape_in[1:]]
        if "int" in dtype:
            out.append(np.zeros(shape, dtype=dtype))
        else:
            out.append(rng.standard_normal(shape).astype("float32"))
    return out[0] if len(out) == 1 else out


def _flatten(value) -> list:
    import numpy as np

    if isinstance(value, dict):
        return [np.asarray(value[k]) for k in sorted(value)]
    if isinstance(value, (list, tuple)):
        return [np.asarray(v) for v in value]
    return [np.asarray(value)]


def run_unit(spec: dict, distribution: str, loader: str) -> dict:
    import numpy as np
    import keras

    result: dict = {"distribution": distribution, "loader": loader, "backend": keras.backend.backend()}
    devices = keras.distribution.list_devices() if keras.backend.backend() == "jax" else ["default"]
    result["devices"] = [str(d) for d in devices]
    t0 = time.time()
    try:
        if distribution == "data-parallel":
            dist = keras.distribution.DataParallel(devices=devices)
            keras.distribution.set_distribution(dist)
            result["mesh"] = {"shape": list(dist.device_mesh.shape), "axes": list(dist.device_mesh.axis_names)}
            result["replicas"] = len(devices)
        else:
            keras.distribution.set_distribution(None)
            result["replicas"] = 1
        model = keras.saving.load_model(spec["path"], compile=(loader == "keras"), safe_mode=not spec.get("unsafe"))
        result["loaded"] = True
        x = _inputs(model, batch=spec.get("batch") or 2 * max(1, len(devices)))
        items = _flatten(model.predict(x, verbose=0, batch_size=len(x[0] if isinstance(x, list) else x)))
        adir = os.path.join(spec["out_dir"], distribution, loader)
        os.makedirs(adir, exist_ok=True)
        np.savez(os.path.join(adir, "outputs.npz"), **{f"o{i}": v for i, v in enumerate(items)})
        result["outputs_file"] = os.path.join(adir, "outputs.npz")
        result["outputs"] = [{"name": f"output_{i}", "shape": list(v.shape), "dtype": str(v.dtype)}
                             for i, v in enumerate(items)]
        result["status"] = "ok"
    except Exception as exc:  # noqa: BLE001 - every failure is data
        text = str(exc)
        result.update(status="error", exception_type=type(exc).__name__, full_message=text,
                      message=(text.strip().splitlines() or [""])[0][:300],
                      traceback_tail="".join(traceback.format_exc().splitlines(True)[-15:]))
    finally:
        keras.distribution.set_distribution(None)
        keras.backend.clear_session()
    result["wall_s"] = time.time() - t0
    return result


def main(argv: list[str]) -> int:
    spec = json.load(open(argv[1]))
    results = os.path.join(spec["out_dir"], "results.jsonl")
    for distribution, loader in spec["units"]:
        with open(results, "a") as fh:
            fh.write(json.dumps({"begin": [distribution, loader]}) + "\n")
        res = run_unit(spec, distribution, loader)
        with open(results, "a") as fh:
            fh.write(json.dumps(res) + "\n")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
