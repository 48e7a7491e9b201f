"""Guarded-load worker: runs INSIDE the target interpreter, launched by folder path.

This folder must stay self-contained (stdlib + numpy + tensorflow/keras/tf_keras, and the h5py Keras needs): the
target virtualenv may not have kcompat installed. Together with kcompat/load it is the only place in kcompat that
imports TF/Keras.

Usage (by the parent runner, never by users):
    python worker run  SPEC.json   # one process: run its (strategy, loader) units in order
    python worker mwms SPEC.json   # launcher: bring loopback up, start 2 real 'run' workers
                                   # with TF_CONFIG for MultiWorkerMirroredStrategy, wait

Running the folder puts it first on ``sys.path``, so its modules import each other as top-level modules;
they are all named ``kcw_*`` so that they cannot shadow a stdlib or third-party module:
    kcw_helpers   event log, fd redirection, exception records, user modules (no TF)
    kcw_mwms      the MultiWorkerMirroredStrategy launcher (no TF)
    kcw_setup     TF import, device set-up, strategies, artifact paths   (SetupMixin)
    kcw_inputs    input specs and deterministic inputs                   (InputsMixin)
    kcw_running   replicated calls, outputs, one training step           (RunningMixin)
    kcw_loaders   the loaders                                            (LoadersMixin)
    __main__      the Worker (one attempt per unit, the unit loop) and main()

Protocol: the worker appends JSON lines to ``<out_dir>/events-<worker>.jsonl``:
``ready`` (after TF import and device set-up), ``start`` (before each (strategy, loader) unit), ``end``
(with the attempt's result) and ``done``. A unit that has a ``start`` but no ``end`` was in flight when the
process died or was killed; the parent turns that into crash / timeout / oom. Each attempt's
C-level stdout/stderr (fd 1 and 2) is redirected to ``<out_dir>/w<worker>/<strategy>/<loader>/log.txt`` and its
outputs are saved to ``outputs.npz`` next to it.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time

T0 = time.time()  # before the sibling imports: 'ready' reports import_s from here

from kcw_helpers import Events, exc_info, redirect_fds  # noqa: E402
from kcw_inputs import InputsMixin  # noqa: E402
from kcw_loaders import LoadersMixin  # noqa: E402
from kcw_mwms import mwms_launch  # noqa: E402
from kcw_running import RunningMixin  # noqa: E402
from kcw_setup import SetupMixin  # noqa: E402


# --------------------------------------------------------------------------------------------
# The TF side: set-up, inputs, running and loaders come from the mixins; here one attempt and the unit loop
# --------------------------------------------------------------------------------------------


class Worker(SetupMixin, InputsMixin, RunningMixin, LoadersMixin):
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
