"""Guarded-load worker, TF side: set-up (TF import, devices, user modules), strategies and artifact paths."""

from __future__ import annotations

import gc
import importlib.util
import os

from kcw_helpers import import_custom


class SetupMixin:
    """Process set-up and the strategies each unit runs under; also the extension-fixing symlinks."""

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

    def prepared_cfg(self, path: str, fmt: str) -> str:
        want = ".keras" if fmt == "keras-zip" else ".h5"
        if path.endswith(want) or path.endswith(".hdf5"):
            return path
        link = os.path.join(self.wdir, "config" + want)
        if not os.path.exists(link):
            os.symlink(os.path.abspath(path), link)
        return link
