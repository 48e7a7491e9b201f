"""Weight-heavy models written without TensorFlow: a real fixture's metadata plus one large kernel.

As benchmarks/bench_static.py does it: the attributes (or config.json and metadata.json) of a real
saved model, and one kernel of the size asked for. Only the kernel's last row is written, so the
file is as long as asked while the filesystem keeps it sparse: building 1 GB takes about a second.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "fixtures" / "keras3.15-tf2.21"


def side_for(gb: float) -> int:
    return int((gb * 1024**3 / 4) ** 0.5) + 1


def write_big_h5(target: Path, gb: float, source: Path = SOURCE / "seq_compiled.h5") -> Path:
    """A Keras 2 layout HDF5 model: the source's root attributes and a ``gb``-sized kernel."""
    side = side_for(gb)
    with h5py.File(source, "r") as src, h5py.File(target, "w") as dst:
        for key, value in src.attrs.items():
            dst.attrs[key] = value
        group = dst.create_group("model_weights/dense/dense")
        group.attrs["weight_names"] = [b"dense/kernel:0"]
        dst["model_weights"].attrs["layer_names"] = [b"dense"]
        data = group.create_dataset("kernel:0", shape=(side, side), dtype="float32")
        data[side - 1] = np.ones(side, dtype=np.float32)
    return target


def write_big_keras(target: Path, gb: float, source: Path = SOURCE / "seq_compiled.keras") -> Path:
    """A .keras zip: the source's config.json and metadata.json, and a stored model.weights.h5 of ``gb``."""
    weights = target.with_suffix(".weights.tmp")
    side = side_for(gb)
    with h5py.File(weights, "w") as dst:
        layer = dst.create_group("layers/dense/vars")
        data = layer.create_dataset("0", shape=(side, side), dtype="float32")
        data[side - 1] = np.ones(side, dtype=np.float32)
        layer.create_dataset("1", data=np.zeros(side, dtype=np.float32))
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for name in ("metadata.json", "config.json"):
            dst.writestr(name, src.read(name), compress_type=zipfile.ZIP_DEFLATED)
        dst.write(weights, "model.weights.h5", compress_type=zipfile.ZIP_STORED)
    weights.unlink()
    return target
