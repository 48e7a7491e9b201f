"""The pure-Python HDF5 metadata reader (kcompat.artifacts.h5meta) against h5py, the reference.

Every HDF5 fixture and every .keras weights member must read the same both ways; layouts the
reader does not handle must fall back to h5py (in a child process) and still read the same.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import h5py
import numpy as np
import pytest

from kcompat.artifacts import detect, h5meta, read_hdf5_file
from kcompat.artifacts.h5read import read_hdf5_h5py, read_weights_h5py
from kcompat.artifacts.kerasfile import read_weights
from kcompat.cli import main
from kcompat.model import Artifact, Format

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
WILD = FIXTURES / "wild"  # real-world files: the fast path does not yet read every foreign layout
HDF5 = sorted(p for p in FIXTURES.rglob("*") if p.is_file() and WILD not in p.parents and detect(p) is Format.hdf5_other)
KERAS = sorted(p for p in FIXTURES.rglob("*.keras") if detect(p) is Format.keras_zip) + sorted(
    p for p in FIXTURES.rglob("*") if p.is_dir() and detect(p) is Format.keras_dir)


def both(path: Path) -> tuple[dict, dict]:
    fast, ref = Artifact(path=str(path), format=Format.hdf5_other), Artifact(path=str(path), format=Format.hdf5_other)
    read_hdf5_file(fast, path)
    read_hdf5_h5py(ref, path)
    return fast.model_dump(), ref.model_dump()


def test_every_hdf5_fixture_reads_as_h5py_reads_it():
    assert len(HDF5) > 90
    fell_back = []
    for path in HDF5:
        fast, ref = both(path)
        note = fast["notes"].pop("hdf5_reader", None)
        assert fast == ref, path
        if note:
            fell_back.append(path.name)
            # only files h5py cannot read either go to h5py
            assert any(p["kind"] == "hdf5-corrupt" for p in ref["problems"]), (path, note)
    assert len(fell_back) <= 6, fell_back


def test_every_keras_weights_member_reads_as_h5py_reads_it():
    compared = 0
    for path in KERAS:
        info = None
        if path.is_file():
            with zipfile.ZipFile(path) as zf:
                if "model.weights.h5" not in zf.namelist():
                    continue
                info = zf.getinfo("model.weights.h5")
            if info.compress_type != zipfile.ZIP_STORED:
                continue
        elif not (path / "model.weights.h5").is_file():
            continue
        fast, ref = Artifact(path=str(path), format=Format.keras_zip), Artifact(path=str(path), format=Format.keras_zip)
        read_weights(fast, path if info else path / "model.weights.h5", info)
        read_weights_h5py(ref, path)
        assert "hdf5_reader" not in fast.notes, (path, fast.notes)
        assert fast.weights and fast.weights == ref.weights, path
        assert fast.optimizer_weight_count == ref.optimizer_weight_count, path
        compared += 1
    assert compared > 50


def keras_like(path: Path, **kw) -> Path:
    """A small Keras-2-layout model file, written by h5py with the given options."""
    track_order = kw.pop("track_order", None)
    with h5py.File(path, "w", track_order=track_order, **kw) as f:
        f.attrs["keras_version"] = "2.15.0"
        f.attrs["backend"] = "tensorflow"
        f.attrs["model_config"] = json.dumps({"class_name": "Sequential", "config": {"name": "s", "layers": [
            {"class_name": "Dense", "config": {"name": "d", "units": 2}}]}})
        group = f.create_group("model_weights/d/d")
        group.create_dataset("kernel:0", data=np.zeros((3, 2), "float32"))
        group.create_dataset("bias:0", data=np.zeros((2,), "float32"))
    return path


def extra_attrs(path: Path) -> None:
    with h5py.File(path, "a") as f:
        for i in range(12):
            f.attrs[f"extra{i}"] = "x" * 10


def soft_link(path: Path) -> None:
    with h5py.File(path, "a") as f:
        f["model_weights/alias"] = h5py.SoftLink("/model_weights/d")


def committed_type(path: Path) -> None:
    with h5py.File(path, "a") as f:
        f["model_weights/t"] = np.dtype("float32")


def bool_dataset(path: Path) -> None:
    with h5py.File(path, "a") as f:
        f["model_weights/d/d/mask:0"] = np.zeros((2,), bool)


@pytest.mark.parametrize("name,options,after", [
    ("latest-format", {"libver": "latest"}, None),
    ("new-style-groups", {"track_order": True}, None),
    ("user-block", {"userblock_size": 512}, None),
    ("dense-attributes", {"libver": "latest"}, extra_attrs),
    ("soft-link", {}, soft_link),
    ("committed-datatype", {}, committed_type),
    ("bool-dataset", {}, bool_dataset),
])
def test_layouts_it_does_not_handle_go_to_h5py_and_read_the_same(tmp_path, name, options, after):
    path = keras_like(tmp_path / f"{name}.h5", **options)
    if after:
        after(path)
    with open(path, "rb") as f, pytest.raises(h5meta.Unsupported):
        root = h5meta.open_hdf5(f)
        root.visititems(lambda _n, _o: None)
    fast, ref = both(path)
    assert fast["notes"].pop("hdf5_reader").startswith("h5py (Unsupported")
    assert fast == ref
    assert ref["weights"] and not ref["problems"]


def test_the_reader_matches_h5py_on_what_h5py_writes_by_default(tmp_path):
    path = keras_like(tmp_path / "plain.h5")
    with h5py.File(path, "a") as f:
        f.attrs["layer_names"] = [b"d", b"e" * 40]
        f.attrs["fixed"] = np.bytes_(b"abc")
        f.attrs["vlen_list"] = ["a", "bb"]
        f.create_dataset("model_weights/e/e/kernel:0", data=np.zeros((4, 5, 6), "float16"))
        f.create_dataset("model_weights/e/e/step", data=np.int64(3))
        for i in range(300):  # over 32 nodes of 8 links: a group B-tree with an internal level
            f.create_dataset(f"model_weights/many/w{i:03d}", data=np.zeros((i % 7 + 1,), "float32"))
    with open(path, "rb") as f, h5py.File(path, "r") as ref:
        root = h5meta.open_hdf5(f)
        assert sorted(root.attrs) == sorted(ref.attrs)
        for key in ("keras_version", "backend", "model_config", "layer_names", "fixed", "vlen_list"):
            want = ref.attrs[key]
            got, stored = root.attrs.value(key)
            assert stored == type(want).__name__, key
            assert (list(want) if isinstance(want, np.ndarray) else want) == got, key
        seen, want = [], []
        root.visititems(lambda n, o: seen.append((n, getattr(o, "shape", None), getattr(o, "dtype", None))))
        ref.visititems(lambda n, o: want.append((n, getattr(o, "shape", None), str(o.dtype) if hasattr(o, "dtype") else None)))
        assert seen == want
        assert isinstance(root.get("model_weights/many"), h5meta.Group) and root.get("nope") is None
        assert len(root["model_weights/many"]) == 300


def test_a_file_that_crashes_libhdf5_becomes_a_finding_and_the_run_goes_on(tmp_path):
    data = bytearray((FIXTURES / "keras3.15-tf2.21" / "seq_compiled.h5").read_bytes())
    data[857] ^= 1 << 3  # one bit of the root attributes' datatype
    bad = tmp_path / "crash.h5"
    bad.write_bytes(bytes(data))
    probe = subprocess.run([sys.executable, "-c", "import h5py,sys; f=h5py.File(sys.argv[1]); [f.attrs[k] for k in f.attrs]",
                            str(bad)], capture_output=True)
    assert probe.returncode < 0, "premise: this flip crashes h5py in-process"
    good = FIXTURES / "keras3.15-tf2.21" / "seq_compiled.keras"
    out = tmp_path / "report.json"
    code = main(["check", str(bad), str(good), "--no-env", "-q", "--json", str(out)])
    report = json.loads(out.read_text())
    assert code == 1
    first, second = report["artifacts"]
    assert [f["code"] for f in first["findings"]] == ["KC102"]
    assert "crashed" in first["findings"][0]["message"] and "SIGSEGV" in first["findings"][0]["message"]
    assert second["artifact"]["keras_version"] == "3.15.1" and second["artifact"]["weights"]


def test_checking_h5_and_keras_imports_neither_h5py_nor_numpy():
    code = ("import sys\nfrom kcompat.cli import main\n"
            f"main(['check', {str(FIXTURES / 'tf2.15' / 'seq_compiled.h5')!r}, "
            f"{str(FIXTURES / 'keras3.15-tf2.21' / 'seq_compiled.keras')!r}, '--no-env', '--no-report', '-q'])\n"
            "print(sorted(m for m in ('h5py', 'numpy', 'google.protobuf') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
