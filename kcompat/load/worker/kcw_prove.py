"""Guarded-load worker for `kcompat fix`: one process proves a batch of repaired copies.

Run by path in the target interpreter (``python kcw_prove.py SPEC.json``), like the folder's
``__main__``; it reuses the worker's set-up, inputs, running and loaders. For each item it loads the
original with the first of its loaders that works, optionally loads the repaired copy and saves it
as ``.keras`` (migration), loads the copy with the intended loader, and saves both outputs on the
same deterministic inputs. It appends one JSON line per item to ``events.jsonl``: ``start`` before
the item, ``end`` with its result; the parent compares the outputs and re-runs what is left after
a crash in a fresh process.
"""

from __future__ import annotations

import gc
import json
import os
import sys

from kcw_helpers import Events, exc_info, redirect_fds
from kcw_inputs import InputsMixin
from kcw_loaders import LoadersMixin
from kcw_running import RunningMixin
from kcw_setup import SetupMixin


class Prover(SetupMixin, InputsMixin, RunningMixin, LoadersMixin):
    def __init__(self, spec: dict) -> None:
        self.out_dir = spec["out_dir"]
        self.spec = {"units": [], "custom_objects": spec.get("custom_objects") or [], "inputs_npz": None}
        self.unsafe = False
        self.strategy_name = "default"
        self.strategies: dict = {}
        self.strategy_notes: dict = {}
        self.items = spec["items"]

    def outputs(self, path: str, fmt: str, loader: str, save_to: str) -> dict:
        import numpy as np

        self.spec.update(path=path, config_path=None)
        self.fmt = fmt
        self.wdir = os.path.dirname(save_to)
        result: dict = {"loader": loader}
        try:
            model, specs, _ = self.load(loader, result)
            x = self.make_inputs(specs)
            tensors = [self.tf.constant(a) for a in x]
            items = self.flatten_outputs(model(tensors if len(tensors) > 1 else tensors[0]))
            np.savez(save_to, **{f"o{i}": v for i, (_n, v) in enumerate(items)})
            result.update(status="ok", outputs_file=save_to, names=[n for n, _v in items],
                          json_only=fmt == "json-config")
            self.model = model
        except Exception as e:  # noqa: BLE001 - every failure is data
            result.update(exc_info(e))
        return result

    def convert(self, path: str, fmt: str, loader: str, dest: str) -> dict:
        """Load the repaired copy and save it as a Keras 3 .keras file (migration)."""
        self.spec.update(path=path, config_path=None)
        self.fmt = fmt
        result: dict = {"loader": loader}
        try:
            model, _specs, _ = self.load(loader, result)
            model.save(dest)
            result.update(status="ok", saved=dest)
        except Exception as e:  # noqa: BLE001
            result.update(exc_info(e))
        return result

    def one(self, i: int, item: dict) -> dict:
        here = os.path.join(self.out_dir, f"item{i}")
        os.makedirs(here, exist_ok=True)
        redirect_fds(os.path.join(here, "log.txt"))
        tried = []
        original = None
        for loader in item["original_loaders"]:
            original = self.outputs(item["original"], item["original_fmt"], loader, os.path.join(here, f"orig-{loader}.npz"))
            self.clear()
            tried.append(original)
            if original.get("status") == "ok":
                break
        result = {"original": original, "original_tried": tried}
        copy, copy_fmt = item["copy"], item["copy_fmt"]
        if item.get("convert_to"):
            result["convert"] = self.convert(copy, copy_fmt, "keras-nocompile", item["convert_to"])
            self.clear()
            if result["convert"].get("status") != "ok":
                return result
            copy, copy_fmt = item["convert_to"], "keras-zip"
        result["copy"] = self.outputs(copy, copy_fmt, item["copy_loader"], os.path.join(here, "copy.npz"))
        if item.get("moved_weights") and original.get("status") != "ok" and result["copy"].get("status") == "ok":
            result["weights"] = self.same_weights(item["original"], item["moved_weights"], here)
        self.clear()
        return result

    def same_weights(self, original: str, moves: list, here: str) -> dict:
        """Where only weight groups moved and no loader reads the original: whether each variable of the
        loaded copy holds the array the original stores for it. The copy's weights, saved again by its
        loader, are compared dataset by dataset with the original's, found by undoing the moves."""
        import io
        import zipfile

        import h5py
        import numpy as np

        resaved = os.path.join(here, "copy.weights.h5")
        try:
            self.model.save_weights(resaved)
            if os.path.isdir(original):
                with open(os.path.join(original, "model.weights.h5"), "rb") as fh:
                    data = fh.read()
            else:
                with zipfile.ZipFile(original) as zf:
                    data = zf.read("model.weights.h5")
            # the training state is not the model's: compare the layers' weights (a Windows save's '\\' included)
            datasets = lambda f: [n for n in _datasets(f)  # noqa: E731
                                  if not n.replace("\\", "/").startswith(("optimizer/", "metrics/"))]
            compared, differ, missing, used = 0, [], [], set()
            with h5py.File(resaved, "r") as new, h5py.File(io.BytesIO(data), "r") as old:
                for name in datasets(new):
                    path = name
                    for before, after in reversed(moves):
                        if path.startswith(after + "/"):
                            path = before + path[len(after):]
                    if path not in old:
                        missing.append(name)
                        continue
                    used.add(path)
                    compared += 1
                    if not np.array_equal(np.asarray(new[name]), np.asarray(old[path])):
                        differ.append(name)
                unused = [n for n in datasets(old) if n not in used]
            return {"status": "ok", "compared": compared, "differ": differ[:20], "missing": missing[:20],
                    "unused": unused[:20]}
        except Exception as e:  # noqa: BLE001 - every failure is data
            return exc_info(e)

    def clear(self) -> None:
        self.model = None
        for mod in ("keras", "tf_keras"):
            if mod in sys.modules:
                try:
                    sys.modules[mod].backend.clear_session()
                except Exception:  # noqa: BLE001
                    pass
        gc.collect()

    def run(self, first: int) -> int:
        events = Events(os.path.join(self.out_dir, "events.jsonl"))
        redirect_fds(os.path.join(self.out_dir, f"startup-{first}.log"))
        try:
            self.setup()
        except Exception as e:  # noqa: BLE001
            events.emit("setup-error", result=exc_info(e))
            return 0
        for i in range(first, len(self.items)):
            events.emit("start", item=i)
            events.emit("end", item=i, result=self.one(i, self.items[i]))
        events.emit("done")
        sys.stdout.flush()
        os._exit(0)


def _datasets(f) -> list[str]:
    import h5py

    names: list[str] = []
    f.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
    return names


def main(argv: list[str]) -> int:
    spec = json.load(open(argv[1]))
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    return Prover(spec).run(int(argv[2]) if len(argv) > 2 else 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
