"""Guarded-load worker, TF side: the model's input specs and the deterministic inputs built from them."""

from __future__ import annotations


class InputsMixin:
    """Input specs (from a Keras model or a SavedModel signature) and the arrays fed to the model."""

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
