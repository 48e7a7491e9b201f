"""Guarded-load worker: runs INSIDE the target interpreter, launched by file path.

This file must stay self-contained (stdlib + numpy + tensorflow/keras/tf_keras, and the h5py Keras needs): the target
virtualenv may not have kcompat installed. It is the only place in kcompat that imports TF/Keras.

Usage (by the parent runner, never by users):
    python _worker.py run  SPEC.json   # one process: run its (strategy, loader) units in order
    python _worker.py mwms SPEC.json   # launcher: bring loopback up, start 2 real 'run' workers
                                       # with TF_CONFIG for MultiWorkerMirroredStrategy, wait

Protocol: the worker appends JSON lines to ``<out_dir>/events-<worker>.jsonl``:
``ready`` (after TF import and device set-up), ``start`` (before each (strategy, loader) unit), ``end``
(with the attempt's result) and ``done``. A unit that has a ``start`` but no ``end`` was in flight when the
process died or was killed; the parent turns that into crash / timeout / oom. Each attempt's
C-level stdout/stderr (fd 1 and 2) is redirected to ``<out_dir>/w<worker>/<strategy>/<loader>/log.txt`` and its
outputs are saved to ``outputs.npz`` next to it.
"""

from __future__ import annotations

import gc
import importlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
import traceback

T0 = time.time()


# --------------------------------------------------------------------------------------------
# small helpers (no TF)
# --------------------------------------------------------------------------------------------


class Events:
    def __init__(self, path: str) -> None:
        self._f = open(path, "a", buffering=1, encoding="utf-8")

    def emit(self, event: str, **kw) -> None:
        kw.update(event=event, t=time.time())
        self._f.write(json.dumps(kw, default=str) + "\n")
        self._f.flush()


def redirect_fds(path: str) -> None:
    """Point fd 1 and 2 (Python and C++ writes alike) at ``path``."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:
        pass
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


def exc_info(e: BaseException) -> dict:
    tb = traceback.format_exception(type(e), e, e.__traceback__)
    lines = "".join(tb).rstrip().splitlines()
    msg = str(e)
    if isinstance(e, KeyError) and e.args:
        msg = str(e.args[0])
    first = msg.strip().splitlines()[0] if msg.strip() else ""
    return {
        "status": "error",
        "exception_type": type(e).__name__,
        "message": first[:300],
        # keep head and tail: Keras puts the real cause ("Exception encountered: ...") after a long config
        "full_message": msg if len(msg) <= 6000 else msg[:3000] + "\n...\n" + msg[-3000:],
        "traceback_tail": "\n".join(lines[-15:]),
    }


def loopback_up() -> str:
    """Bring ``lo`` up inside a fresh network namespace (needed by the two MWMS workers)."""
    import fcntl
    import socket
    import struct

    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        ifr = struct.pack("16sH", b"lo", 0)
        flags = struct.unpack("16sH", fcntl.ioctl(s, siocgifflags, ifr)[:18])[1]
        if not flags & iff_up:
            fcntl.ioctl(s, siocsifflags, struct.pack("16sH", b"lo", flags | iff_up))
        return "lo-up"
    finally:
        s.close()


def import_custom(spec: list[str]) -> list[str]:
    """Import user modules named by the caller (module names or .py file paths), and only those."""
    done = []
    for item in spec:
        if item.endswith(".py") and os.path.exists(item):
            name = os.path.splitext(os.path.basename(item))[0]
            sys.path.insert(0, os.path.dirname(os.path.abspath(item)))
            mod_spec = importlib.util.spec_from_file_location(name, item)
            mod = importlib.util.module_from_spec(mod_spec)
            sys.modules[name] = mod
            mod_spec.loader.exec_module(mod)
        else:
            importlib.import_module(item)
        done.append(item)
    return done


# --------------------------------------------------------------------------------------------
# MWMS launcher (no TF)
# --------------------------------------------------------------------------------------------


def mwms_launch(spec_path: str) -> int:
    spec = json.load(open(spec_path))
    out = spec["out_dir"]
    info: dict = {"net": None, "workers": []}
    if spec.get("net_isolated"):
        try:
            info["net"] = loopback_up()
        except Exception as e:  # pragma: no cover - depends on the kernel
            info["net"] = f"lo-up failed: {e}"
    ports = spec["ports"]
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs = []
    for i in range(len(ports)):
        env = dict(os.environ)
        env["TF_CONFIG"] = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})
        env["KC_WORKER_INDEX"] = str(i)
        log = open(os.path.join(out, f"worker{i}.log"), "ab")
        procs.append(
            subprocess.Popen([sys.executable, os.path.abspath(__file__), "run", spec_path], env=env, stdout=log, stderr=log)
        )
    # When one worker dies abnormally, the other would wait on a collective forever: stop it.
    while True:
        codes = [p.poll() for p in procs]
        if all(c is not None for c in codes):
            break
        if any(c is not None and c != 0 for c in codes):
            time.sleep(3)
            for p in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            time.sleep(2)
            for p in procs:
                if p.poll() is None:
                    p.kill()
        time.sleep(0.1)
    info["workers"] = [p.returncode for p in procs]
    with open(os.path.join(out, "launcher.json"), "w") as f:
        json.dump(info, f)
    return 0


# --------------------------------------------------------------------------------------------
# The TF side
# --------------------------------------------------------------------------------------------


class Worker:
    def __init__(self, spec: dict, index: int) -> None:
        self.spec = spec
        self.index = index
        self.fmt = spec["fmt"]
        self.unsafe = bool(spec.get("unsafe"))
        self.wdir = os.path.join(spec["out_dir"], f"w{index}")
        os.makedirs(self.wdir, exist_ok=True)
        self.events = Events(os.path.join(spec["out_dir"], f"events-{index}.jsonl"))
        self.strategy_name = "default"
        self.strategy = None
        self.strategies: dict = {}
        self.strategy_notes: dict[str, str] = {}

    # ---- set-up ------------------------------------------------------------------------
    def setup(self) -> None:
        """Import TF, configure devices (before TF initialises them), import user modules."""
        # TF's import allocates millions of long-lived objects: collecting during it costs ~15% of
        # the import, and every later gc.collect (clear_session between units runs one) rescans
        # them (~0.1 s each) unless they are frozen out of collection afterwards.
        gc.disable()
        try:
            self._setup()
        finally:
            gc.freeze()
            gc.enable()

    def _setup(self) -> None:
        import numpy as np  # noqa: F401
        import tensorflow as tf

        self.tf = tf
        gpus = tf.config.list_physical_devices("GPU")
        self.gpus = gpus
        names = {s for s, _lo in self.spec["units"]}
        if "mirrored" in names and len(gpus) < 2:
            # Two logical CPU devices; must happen before TF initialises its devices.
            cpus = tf.config.list_physical_devices("CPU")
            tf.config.set_logical_device_configuration(
                cpus[0], [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
            )
        if "multi-worker" in names:
            # MWMS must be created before any other TF op runs in this process.
            self.strategies["multi-worker"] = tf.distribute.MultiWorkerMirroredStrategy()
        if self.spec.get("custom_objects"):
            import_custom(self.spec["custom_objects"])
        self.has_keras = importlib.util.find_spec("keras") is not None
        if self.unsafe and self.has_keras:
            import keras

            keras.config.enable_unsafe_deserialization()

    def get_strategy(self, name: str):
        """(strategy, skip_reason): strategies are created on first use and reused."""
        if name in self.strategies:
            return self.strategies[name], None
        tf, gpus = self.tf, self.gpus
        if name == "default":
            st = tf.distribute.get_strategy()
        elif name == "one-device-cpu":
            st = tf.distribute.OneDeviceStrategy("/cpu:0")
        elif name == "one-device-gpu":
            if not gpus:
                return None, "no GPU visible to TensorFlow in the target interpreter"
            st = tf.distribute.OneDeviceStrategy("/gpu:0")
        elif name == "mirrored":
            devices = [f"/gpu:{i}" for i in range(len(gpus))] if len(gpus) >= 2 else ["/cpu:0", "/cpu:1"]
            st = tf.distribute.MirroredStrategy(devices=devices)
            self.strategy_notes[name] = f"mirrored over {devices}"
        else:
            raise ValueError(f"unknown strategy {name!r}")
        self.strategies[name] = st
        return st, None

    @property
    def is_default(self) -> bool:
        return self.strategy_name == "default"

    # ---- paths -------------------------------------------------------------------------
    def prepared(self, path: str, fmt: str) -> str:
        """Keras picks its weights reader by file extension; give a weights file the one its bytes call for.

        Model loads get the path as the user has it: a wrong extension is a real failure (KC119)."""
        want = {
            "keras-zip": ".keras",
            "hdf5-model": ".h5",
            "hdf5-weights": ".h5",
            "hdf5-weights-v3": ".weights.h5",
        }.get(fmt)
        if want is None or path.endswith(want) or (want == ".h5" and path.endswith((".h5", ".hdf5"))):
            return path
        link = os.path.join(self.wdir, "artifact" + want)
        if not os.path.exists(link):
            os.symlink(os.path.abspath(path), link)
        return link

    # ---- inputs ------------------------------------------------------------------------
    def make_inputs(self, specs: list[tuple[str, list, str]]) -> list:
        """Deterministic inputs from (name, shape, dtype) specs, or from the caller's .npz."""
        import numpy as np

        npz = self.spec.get("inputs_npz")
        if npz:
            data = np.load(npz)
            keys = list(data.keys())
            out = []
            for i, (name, _shape, _dt) in enumerate(specs):
                key = name if name in data else (keys[i] if i < len(keys) else None)
                if key is None:
                    raise ValueError(f"inputs_npz has no array for input {name!r}")
                out.append(data[key])
            return out
        out = []
        for i, (_name, shape, dtype) in enumerate(specs):
            rng = np.random.default_rng([0, i])
            dims = [(2 if j == 0 else 8) if d is None else int(d) for j, d in enumerate(shape)]
            dt = str(dtype)
            if dt.startswith("float") or dt == "bfloat16" or dt == "half":
                arr = rng.standard_normal(dims).astype("float32")
                if dt in ("float16", "half"):
                    arr = arr.astype("float16")
                elif dt == "float64":
                    arr = arr.astype("float64")
            elif dt.startswith(("int", "uint")):
                arr = rng.integers(0, 10, size=dims).astype(dt)
            elif dt == "bool":
                arr = rng.random(dims) > 0.5
            elif dt == "string":
                arr = np.array(["kcompat"] * int(np.prod(dims) or 1), dtype=object).reshape(dims)
            else:
                arr = rng.standard_normal(dims).astype("float32")
            out.append(arr)
        return out

    # ---- running -----------------------------------------------------------------------
    def call_replicated(self, fn, args: list):
        """Run ``fn`` on every replica of the strategy with the same inputs, return replica 0's outputs."""
        tf = self.tf
        tensors = [tf.constant(a) for a in args]
        if self.is_default:
            return fn(*tensors), None

        @tf.function
        def step(*xs):
            return self.strategy.run(fn, args=xs)

        per = step(*tensors)
        flat_per = tf.nest.flatten(per, expand_composites=False)
        locals_ = [self.strategy.experimental_local_results(t) for t in flat_per]
        spread = 0.0
        for reps in locals_:
            base = reps[0].numpy()
            for r in reps[1:]:
                spread = max(spread, float(abs(r.numpy().astype("float64") - base.astype("float64")).max(initial=0.0)))
        first = tf.nest.pack_sequence_as(per, [reps[0] for reps in locals_])
        return first, spread

    def flatten_outputs(self, out) -> list[tuple[str, object]]:
        import numpy as np

        tf = self.tf
        if isinstance(out, dict):
            items = sorted(out.items())
        elif isinstance(out, (list, tuple)):
            items = [(f"output_{i}", v) for i, v in enumerate(out)]
        else:
            items = [("output_0", out)]
        res = []
        for name, v in items:
            if isinstance(v, (dict, list, tuple)):
                for sub, sv in self.flatten_outputs(v):
                    res.append((f"{name}/{sub}", sv))
                continue
            if hasattr(v, "numpy"):
                if getattr(v, "dtype", None) is not None and str(getattr(v.dtype, "name", v.dtype)) == "bfloat16":
                    v = tf.cast(v, tf.float32)
                v = v.numpy()
            res.append((name, np.asarray(v)))
        return res

    def fit_once(self, model, x: list, y_items: list, result: dict) -> None:
        """One training step on a compiled model, with tf.data input (what strategies need)."""
        tf = self.tf
        opt = getattr(model, "optimizer", None)
        if opt is None:
            return
        xs = x[0] if len(x) == 1 else tuple(x)
        ys = y_items[0] if len(y_items) == 1 else tuple(y_items)
        notes = []
        if self.strategy_name == "multi-worker":
            # Reproduce the known Keras 3 problem: numpy fit under MWMS.
            try:
                model.fit(xs, ys, epochs=1, batch_size=int(x[0].shape[0]), verbose=0, shuffle=False)
                notes.append("numpy fit under MultiWorkerMirroredStrategy worked")
            except Exception as e:
                info = exc_info(e)
                result["numpy_fit_error"] = info
                notes.append(f"numpy fit under MultiWorkerMirroredStrategy failed: {info['exception_type']}: {info['message'][:200]}")
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
        ds = tf.data.Dataset.from_tensor_slices((xs, ys)).batch(int(x[0].shape[0])).repeat().with_options(options)
        try:
            model.fit(ds, epochs=1, steps_per_epoch=1, verbose=0, shuffle=False)
            result["trained"] = True
            notes.append("one training step ran (tf.data input)")
        except Exception as e:
            info = exc_info(e)
            result["trained"] = False
            result["train_error"] = info
            notes.append(f"fit on tf.data failed: {info['exception_type']}: {info['message'][:200]}")
            if "PerReplica" in info["full_message"] and not self.is_default:
                # Keras 3 fit() reduces a PerReplica batch in _maybe_symbolic_build, which fails under
                # MWMS whatever the input type. A hand-written strategy.run step still trains.
                try:
                    self.custom_step(model, ds)
                    result["trained"] = True
                    notes.append("one custom strategy.run training step (GradientTape + optimizer) ran instead")
                except Exception as e2:
                    info2 = exc_info(e2)
                    notes.append(f"custom training step failed too: {info2['exception_type']}: {info2['message'][:200]}")
        result.setdefault("notes", []).extend(notes)

    def custom_step(self, model, ds) -> None:
        tf, strategy = self.tf, self.strategy
        dist = iter(strategy.experimental_distribute_dataset(ds))
        xb, yb = next(dist)

        @tf.function
        def step(xb, yb):
            def fn(xb, yb):
                with tf.GradientTape() as tape:
                    pred = model(xb, training=True)
                    loss = model.compute_loss(x=xb, y=yb, y_pred=pred)
                grads = tape.gradient(loss, model.trainable_variables)
                model.optimizer.apply_gradients(zip(grads, model.trainable_variables))
                return loss

            return strategy.reduce("SUM", strategy.run(fn, args=(xb, yb)), axis=None)

        step(xb, yb)

    def keras_specs(self, model) -> list[tuple[str, list, str]]:
        inputs = getattr(model, "inputs", None)
        if not inputs:
            raise ValueError("the loaded model has no known inputs (subclassed, never built); pass inputs_npz")
        specs = []
        for t in inputs:
            dt = t.dtype
            dt = getattr(dt, "name", dt)
            specs.append((getattr(t, "name", "input"), list(t.shape), str(dt)))
        return specs

    def sig_specs(self, fn) -> list[tuple[str, list, str]]:
        kw = fn.structured_input_signature[1]
        return [(k, list(s.shape), s.dtype.name) for k, s in sorted(kw.items())]

    # ---- loaders -----------------------------------------------------------------------
    def load(self, loader: str, result: dict):
        """Return (callable_model, input_specs, trainable_model_or_None)."""
        path, fmt = self.spec["path"], self.fmt
        if loader in ("keras", "keras-nocompile"):
            import keras

            model = keras.saving.load_model(path, compile=(loader == "keras"), safe_mode=not self.unsafe)
            result["loaded"] = True  # what fails after this is running the model, not loading it
            return model, self.keras_specs(model), (model if loader == "keras" else None)
        if loader == "tf_keras":
            if not self.unsafe:
                self.lambda_guard(path, fmt)
            import tf_keras

            kw = {} if not self.unsafe else {"safe_mode": False}
            model = tf_keras.models.load_model(path, **kw)
            result["loaded"] = True
            return model, self.keras_specs(model), model
        if loader == "tf_saved_model":
            obj = self.tf.saved_model.load(path)
            result["loaded"] = True
            sigs = dict(obj.signatures)
            names = sorted(sigs)
            result["signatures"] = names
            fn = obj.signatures["serving_default"] if "serving_default" in sigs or not sigs else sigs[names[0]]
            # call through every other signature once, report what happened
            others = {}
            for n in names:
                if sigs[n] is fn:
                    continue
                try:
                    args = self.make_inputs(self.sig_specs(sigs[n]))
                    keys = [k for k, _s, _d in self.sig_specs(sigs[n])]
                    out = sigs[n](**{k: self.tf.constant(a) for k, a in zip(keys, args)})
                    others[n] = "ok: " + ", ".join(f"{k}{list(v.shape)}" for k, v in sorted(out.items()))
                except Exception as e:
                    others[n] = f"{type(e).__name__}: {str(e).splitlines()[0][:150] if str(e) else ''}"
            if others:
                result.setdefault("notes", []).append(f"other signatures: {others}")
            keys = [k for k, _s, _d in self.sig_specs(fn)]
            specs = self.sig_specs(fn)
            result.setdefault("notes", []).append(f"compared signature: {[n for n in names if sigs[n] is fn] or ['serving_default']}")

            def call(*xs):
                return fn(**dict(zip(keys, xs)))

            self._keep = obj
            return call, specs, None
        if loader == "tfsmlayer":
            import keras

            layer = keras.layers.TFSMLayer(path, call_endpoint="serving_default")
            result["loaded"] = True
            specs = self.sig_specs(layer.call_endpoint_fn)
            if len(specs) == 1:
                return (lambda x: layer(x)), specs, None
            return (lambda *xs: layer(list(xs))), specs, None
        if loader == "config+weights":
            return self.load_config_weights(result)
        raise ValueError(f"unknown loader {loader!r}")

    def lambda_guard(self, path: str, fmt: str, what: str = "tf_keras") -> None:
        """Refuse Lambda layers when safe_mode is on but the loader would not enforce it.

        Observed: tf_keras 2.21 ``load_model`` of a Keras 2.15 ``.h5`` holding a Lambda loads it (and
        so runs its marshalled code) with the default ``safe_mode=True``: tf_keras applies safe_mode
        to ``.keras`` files only. The same holds for Keras-2 SavedModels (keras_metadata.pb) and for
        ``model_from_json``. kcompat keeps its promise instead: no Lambda code runs unless unsafe.
        """
        blob = b""
        try:
            if fmt in ("hdf5-model",):
                import h5py

                with h5py.File(path, "r") as f:
                    cfg = f.attrs.get("model_config", b"")
                blob = cfg.encode() if isinstance(cfg, str) else bytes(cfg)
            elif fmt == "saved-model":
                meta = os.path.join(path, "keras_metadata.pb")
                if os.path.exists(meta):
                    with open(meta, "rb") as f:
                        blob = f.read()
            elif fmt == "json-config" or path.endswith(".json"):
                with open(path, "rb") as f:
                    blob = f.read()
        except Exception:  # noqa: BLE001 - unreadable here: the loader itself will say why
            return
        if b'"class_name": "Lambda"' in blob or b'"class_name":"Lambda"' in blob:
            raise ValueError(
                "Requested the deserialization of a Lambda layer, whose Python code would run while "
                f"loading. {what} does not apply safe_mode to this format, so kcompat refuses it with "
                "safe_mode on; pass unsafe=True (safe_mode=False) only for a trusted file."
            )

    def load_config_weights(self, result: dict):
        path, fmt = self.spec["path"], self.fmt
        cfg = self.spec.get("config_path")
        if fmt == "json-config":
            cfg, weights = path, None
        else:
            weights = path
        if not cfg:
            raise ValueError("config+weights needs config_path")
        with open(cfg, "rb") as f:
            head = f.read(8)
        is_json = head.lstrip()[:1] in (b"{", b"[")
        keras2_json = False
        if is_json:
            try:
                keras2_json = str(json.load(open(cfg)).get("keras_version", "")).startswith("2.")
            except (ValueError, AttributeError):
                pass
        has_tfk = importlib.util.find_spec("tf_keras") is not None
        use_tf_keras = has_tfk and (fmt == "tf-checkpoint" or keras2_json)
        if use_tf_keras:
            import tf_keras as K

            why = "Keras 3 cannot read TF checkpoints" if fmt == "tf-checkpoint" else "the JSON config was written by Keras 2"
            result.setdefault("notes", []).append(f"tf_keras builds the model: {why}")
        else:
            import keras as K
        if is_json:
            if not self.unsafe:
                self.lambda_guard(cfg, "json-config", "model_from_json")
            K.utils.set_random_seed(0)
            model = K.models.model_from_json(open(cfg).read())
            result.setdefault("notes", []).append("architecture from JSON config")
        else:
            cfg_fmt = "keras-zip" if head.startswith(b"PK") else "hdf5-model"
            kw = {"compile": False}
            if not use_tf_keras:
                kw["safe_mode"] = not self.unsafe
            model = K.models.load_model(self.prepared_cfg(cfg, cfg_fmt), **kw)
            result.setdefault("notes", []).append(f"architecture from {cfg_fmt} file")
        if weights is not None:
            model.load_weights(self.prepared(weights, fmt))
        else:
            result.setdefault("notes", []).append("config only: no weights, seeded initialisation")
        return model, self.keras_specs(model), None

    def prepared_cfg(self, path: str, fmt: str) -> str:
        want = ".keras" if fmt == "keras-zip" else ".h5"
        if path.endswith(want) or path.endswith(".hdf5"):
            return path
        link = os.path.join(self.wdir, "config" + want)
        if not os.path.exists(link):
            os.symlink(os.path.abspath(path), link)
        return link

    def attempt(self, loader: str) -> dict:
        import numpy as np

        adir = os.path.join(self.wdir, self.strategy_name, loader)
        os.makedirs(adir, exist_ok=True)
        redirect_fds(os.path.join(adir, "log.txt"))
        result: dict = {"loader": loader, "strategy": self.strategy_name, "worker": self.index}
        t0 = time.time()
        try:
            result["num_replicas"] = int(self.strategy.num_replicas_in_sync)
            with self.strategy.scope():
                call, specs, trainable = self.load(loader, result)
                result["loaded"] = True
                x = self.make_inputs(specs)
                out, spread = self.call_replicated(call, x)
                items = self.flatten_outputs(out)
                if spread:
                    result.setdefault("notes", []).append(f"local replicas differ by up to {spread:.3g}")
                np.savez(os.path.join(adir, "outputs.npz"), **{f"o{i}": v for i, (_n, v) in enumerate(items)})
                result["outputs"] = [
                    {"name": n, "shape": [int(d) for d in v.shape], "dtype": str(v.dtype)} for n, v in items
                ]
                result["outputs_file"] = os.path.join(adir, "outputs.npz")
                result["status"] = "ok"
                if trainable is not None:
                    self.fit_once(trainable, x, [v for _n, v in items], result)
        except Exception as e:  # noqa: BLE001 - every failure is data
            result.update(exc_info(e))
        finally:
            result["wall_s"] = time.time() - t0
            self._keep = None
            for mod in ("keras", "tf_keras"):
                if mod in sys.modules:
                    try:
                        sys.modules[mod].backend.clear_session()
                    except Exception:
                        pass
            gc.collect()
        return result

    def run(self) -> int:
        spec = self.spec
        redirect_fds(os.path.join(self.wdir, "startup.log"))
        import faulthandler

        faulthandler.enable(file=sys.__stderr__, all_threads=False)  # fd 2: a crash leaves a Python stack
        units = [tuple(u) for u in spec["units"]]
        try:
            self.setup()
        except Exception as e:  # set-up failed: every unit fails the same way
            info = exc_info(e)
            info["notes"] = ["failed while importing TF / setting up, before loading"]
            self.events.emit("ready", import_s=time.time() - T0, setup_error=True)
            for st, lo in units:
                self.events.emit("start", unit=[st, lo])
                self.events.emit("end", unit=[st, lo], result=dict(info, loader=lo, strategy=st, wall_s=0.0))
            self.events.emit("done")
            return 0
        self.events.emit("ready", import_s=time.time() - T0)
        queue = list(units)
        while queue:
            st_name, loader = queue.pop(0)
            try:
                strategy, skip = self.get_strategy(st_name)
            except Exception as e:
                strategy, skip = None, None
                res = dict(exc_info(e), loader=loader, strategy=st_name, wall_s=0.0)
                res["notes"] = [f"could not create the {st_name} strategy"]
            replicas = int(strategy.num_replicas_in_sync) if strategy is not None else None
            self.events.emit("start", unit=[st_name, loader], num_replicas=replicas)
            if strategy is not None:
                self.strategy, self.strategy_name = strategy, st_name
                res = self.attempt(loader)
                if st_name in self.strategy_notes:
                    res.setdefault("notes", []).insert(0, self.strategy_notes[st_name])
            elif skip:
                res = {"loader": loader, "strategy": st_name, "status": "skipped", "notes": [skip], "wall_s": 0.0}
            self.events.emit("end", unit=[st_name, loader], result=res)
            full = res.get("full_message", "")
            refused = "deserialization of a" in full and "safe_mode" in full
            if (
                loader == "keras"
                and res.get("status") == "error"
                and not refused
                and (st_name, "keras-nocompile") not in queue
            ):
                queue.insert(0, (st_name, "keras-nocompile"))  # compile=True failed: try compile=False too
        self.events.emit("done")
        # Results are on disk: skip TF's slow interpreter teardown.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def main(argv: list[str]) -> int:
    mode, spec_path = argv[1], argv[2]
    if mode == "mwms":
        return mwms_launch(spec_path)
    spec = json.load(open(spec_path))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    index = int(os.environ.get("KC_WORKER_INDEX", "0"))
    return Worker(spec, index).run()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
