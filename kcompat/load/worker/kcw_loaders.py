"""Guarded-load worker, TF side: the loaders (keras, tf_keras, tf_saved_model, tfsmlayer, config+weights)."""

from __future__ import annotations

import importlib.util
import json
import os


class LoadersMixin:
    """Each loader returns (callable_model, input_specs, trainable_model_or_None)."""

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
