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
from tests.casebuild import move_eoa, object_address

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
HDF5 = sorted(p for p in FIXTURES.rglob("*") if p.is_file() and detect(p) is Format.hdf5_other)
KERAS = sorted(p for p in FIXTURES.rglob("*.keras") if detect(p) is Format.keras_zip) + sorted(
    p for p in FIXTURES.rglob("*") if p.is_dir() and detect(p) is Format.keras_dir)


def both(path: Path) -> tuple[dict, dict]:
    fast, ref = Artifact(path=str(path), format=Format.hdf5_other), Artifact(path=str(path), format=Format.hdf5_other)
    read_hdf5_file(fast, path)
    read_hdf5_h5py(ref, path)
    return fast.model_dump(), ref.model_dump()


def test_every_hdf5_fixture_and_wild_file_reads_as_h5py_reads_it():
    """Parity on every HDF5 file of the fixtures, the real-world ones of fixtures/wild included,
    and the fast-path share: files h5py cannot read either are refused rightly, apart."""
    assert len(HDF5) > 100 and any("wild" in p.parts for p in HDF5)
    fell_back, refused = [], []
    for path in HDF5:
        fast, ref = both(path)
        note = fast["notes"].pop("hdf5_reader", None)
        assert fast == ref, path
        if any(p["kind"] == "hdf5-corrupt" for p in ref["problems"]):
            refused.append(f"{path.relative_to(FIXTURES)}: {note or 'refused without h5py, as h5py refuses it'}")
        elif note:
            fell_back.append(f"{path.relative_to(FIXTURES)}: {note}")
    readable = len(HDF5) - len(refused)
    share = (readable - len(fell_back)) / readable
    print(f"\nh5meta read {readable - len(fell_back)} of {readable} HDF5 files h5py reads ({share:.1%}); "
          f"{len(refused)} that h5py cannot read either were refused")
    print("fell back to h5py:", *fell_back or ["none"], sep="\n  ")
    print("refused (h5py fails too):", *refused, sep="\n  ")
    assert share >= 0.95, fell_back


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
    """Over 8 attributes: dense storage (fractal heap and attribute name index) under libver >= v108."""
    with h5py.File(path, "a") as f:
        for i in range(12):
            f.attrs[f"extra{i}"] = "x" * 10


def big_attrs(path: Path) -> None:
    """One attribute far over 64 KiB: a huge fractal heap object; beside it numbers and bytes."""
    with h5py.File(path, "a") as f:
        f.attrs["layer_names"] = np.array([b"n%05d" % i for i in range(20000)])
        f.attrs["count"] = np.int64(7)
        f.attrs["sizes"] = np.arange(5, dtype="int32")
        f.attrs["ratio"] = np.float64(0.1)
        f.attrs["half"] = np.float32(0.1)


def h5py2_bytes(path: Path) -> None:
    """What Keras 2 under h5py 2 wrote: fixed-length byte strings, JSON encoded to bytes."""
    with h5py.File(path, "a") as f:
        f.attrs["keras_version"] = np.bytes_(b"2.1.6")
        f.attrs["backend"] = np.bytes_(b"tensorflow")
        f.attrs["model_config"] = np.bytes_(f.attrs["model_config"].encode())
        f["model_weights/d"].attrs["weight_names"] = np.array([b"d/kernel:0", b"d/bias:0"])


def many_links(path: Path) -> None:
    """Thousands of links: a dense group whose fractal heap has nested indirect blocks."""
    with h5py.File(path, "a") as f:
        group = f.create_group("model_weights/many")
        for i in range(3000):
            group.create_dataset(f"weight_with_a_long_name_{i:05d}", shape=(i % 5 + 1,), dtype="float32")


def strings_and_bools(path: Path) -> None:
    with h5py.File(path, "a") as f:
        f["model_weights/d/d/names"] = np.array([b"ab", b"c"])
        f["model_weights/d/d/labels"] = ["x", "yy"]
        f["model_weights/d/d/mask:0"] = np.zeros((2,), bool)


def committed_type(path: Path) -> None:
    """A committed datatype, and an attribute and a dataset that share it."""
    with h5py.File(path, "a") as f:
        f["model_weights/t"] = np.dtype("float32")
        f["model_weights/d/d"].create_dataset("typed:0", shape=(2,), dtype=f["model_weights/t"])
        f["model_weights/d"].attrs.create("typed", 1.5, dtype=f["model_weights/t"])


def opaque(path: Path) -> None:
    """Opaque data, as Keras 3 writes bfloat16 weights into an .h5 (h5py stores the 2-byte values untyped)."""
    with h5py.File(path, "a") as f:
        f["model_weights/d/d/bf16:0"] = np.zeros((2, 3), "V2")


def soft_link(path: Path) -> None:
    with h5py.File(path, "a") as f:
        f["model_weights/alias"] = h5py.SoftLink("/model_weights/d")


def external_link(path: Path) -> None:
    with h5py.File(path, "a") as f:
        f["model_weights/other"] = h5py.ExternalLink("elsewhere.h5", "/")


READ = [
    ("default", {}, None),
    ("latest-format", {"libver": "latest"}, None),
    ("v108-format", {"libver": ("v108", "v108")}, None),
    ("v110-format", {"libver": ("v110", "v110")}, extra_attrs),
    ("new-style-groups", {"track_order": True}, None),
    ("new-style-dense-groups", {"track_order": True, "libver": "latest"}, many_links),
    ("dense-groups", {"libver": "latest"}, many_links),
    ("user-block", {"userblock_size": 512}, None),
    ("user-block-latest", {"userblock_size": 1024, "libver": "latest"}, extra_attrs),
    ("dense-attributes", {"libver": "latest"}, extra_attrs),
    ("dense-attributes-tracked", {"libver": "latest", "track_order": True}, extra_attrs),
    ("compact-attributes-old-format", {}, extra_attrs),
    ("big-attributes", {"libver": "latest"}, big_attrs),
    ("h5py2-bytes-attributes", {}, h5py2_bytes),
    ("h5py2-bytes-attributes-latest", {"libver": "latest"}, h5py2_bytes),
    ("strings-and-bools", {}, strings_and_bools),
    ("committed-datatype", {}, committed_type),
    ("committed-datatype-latest", {"libver": "latest"}, committed_type),
    ("opaque-data", {}, opaque),
]


def same_as_h5py(path: Path) -> int:
    """Every object and attribute as h5meta reads it against h5py; the number of attributes compared."""
    compared = 0
    with open(path, "rb") as f, h5py.File(path, "r") as ref:
        root = h5meta.open_hdf5(f)
        seen, want, nodes = [], [], {"": (root, ref)}

        def mine(name: str, obj) -> None:
            seen.append((name, getattr(obj, "shape", None), str(getattr(obj, "dtype", None))))
            nodes[name] = (obj, None)

        def theirs(name: str, obj) -> None:
            want.append((name, getattr(obj, "shape", None), str(getattr(obj, "dtype", None))))
            nodes[name] = (nodes[name][0], obj)

        root.visititems(mine)
        ref.visititems(theirs)
        # a committed datatype: h5meta does not decode its type, only that it is one
        assert [s[:2] for s in seen] == [w[:2] for w in want]
        assert [s for s in seen if s[2] != "committed"] == [w for w in want if not isinstance(ref[w[0]], h5py.Datatype)]
        for name, (mine, theirs) in nodes.items():
            if isinstance(theirs, h5py.Datatype):
                continue
            assert sorted(mine.attrs) == sorted(theirs.attrs), name
            for key in theirs.attrs:
                expected = theirs.attrs[key]
                if isinstance(expected, np.floating) and expected.dtype.itemsize < 8:
                    with pytest.raises(h5meta.Unsupported):  # numpy prints these its own way: h5py's
                        mine.attrs.value(key)
                    continue
                got, stored = mine.attrs.value(key)
                assert stored == type(expected).__name__, (name, key)
                assert (expected.tolist() if isinstance(expected, np.ndarray) else expected) == got, (name, key)
                compared += 1
    return compared


@pytest.mark.parametrize("name,options,after", READ, ids=[case[0] for case in READ])
def test_each_layout_reads_as_h5py_reads_it_attribute_by_attribute(tmp_path, name, options, after):
    path = keras_like(tmp_path / f"{name}.h5", **options)
    if after:
        after(path)
    assert same_as_h5py(path) >= 3
    fast, ref = both(path)
    assert "hdf5_reader" not in fast["notes"], fast["notes"]
    assert fast == ref
    assert ref["weights"] and not ref["problems"]


REFUSED = [
    ("soft-link", soft_link, "soft link"),
    ("external-link", external_link, "external or user-defined link"),
]


@pytest.mark.parametrize("name,after,reason", REFUSED, ids=[case[0] for case in REFUSED])
def test_layouts_it_refuses_go_to_h5py_with_the_reason_and_read_the_same(tmp_path, name, after, reason):
    path = keras_like(tmp_path / f"{name}.h5", libver="latest")
    after(path)
    with open(path, "rb") as f, pytest.raises(h5meta.Unsupported, match=reason):
        h5meta.open_hdf5(f).visititems(lambda _n, _o: None)
    fast, ref = both(path)
    assert fast["notes"].pop("hdf5_reader") == f"h5py (Unsupported: {reason})"
    assert fast == ref and ref["weights"]


def test_a_damaged_checksum_is_refused_and_h5py_refuses_it_too(tmp_path):
    path = keras_like(tmp_path / "latest.h5", libver="latest")
    data = bytearray(path.read_bytes())
    data[data.index(b"OHDR") + 40] ^= 0x01  # inside the root group's object header
    path.write_bytes(bytes(data))
    with open(path, "rb") as f, pytest.raises(h5meta.Unsupported, match="checksum"):
        h5meta.open_hdf5(f).visititems(lambda _n, _o: None)
    fast, ref = both(path)
    assert fast["notes"].pop("hdf5_reader").startswith("h5py (Unsupported")
    assert fast == ref and any(p["kind"] == "hdf5-corrupt" for p in ref["problems"])


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


def test_one_h5py_worker_reads_the_refused_files_and_a_crash_costs_only_its_file(tmp_path):
    from kcompat.artifacts.h5isolate import WORKER

    refused = []
    for i in range(3):
        refused.append(keras_like(tmp_path / f"soft{i}.h5"))
        soft_link(refused[-1])
    data = bytearray((FIXTURES / "keras3.15-tf2.21" / "seq_compiled.h5").read_bytes())
    data[857] ^= 1 << 3  # crashes libhdf5 (see the test above)
    crash = tmp_path / "crash.h5"
    crash.write_bytes(bytes(data))
    pids, artifacts = [], []
    for path in [refused[0], refused[1], crash, refused[2]]:
        artifacts.append(Artifact(path=str(path), format=Format.hdf5_other))
        read_hdf5_file(artifacts[-1], path)
        pids.append(WORKER.proc.pid if WORKER.proc else None)
    assert pids[0] == pids[1] and pids[2] is None and pids[3] not in (None, pids[0])
    assert [bool(a.problems) for a in artifacts] == [False, False, True, False]
    assert "SIGSEGV" in artifacts[2].problems[0].detail
    assert all(a.weights and a.notes["hdf5_reader"] == "h5py (Unsupported: soft link)" for a in artifacts[::3])


def test_an_end_of_file_address_below_any_object_reads_as_h5py_reads_it(tmp_path):
    """libhdf5 opens a file whose superblock end-of-file address lies below some of its blocks and refuses
    only what lies there: moved below each object in turn, the two readers note the same unreadable objects."""
    source = tmp_path / "model.h5"
    with h5py.File(source, "w") as f:
        f.attrs["keras_version"] = "2.15.0"
        f.attrs["model_config"] = json.dumps({"class_name": "Sequential", "config": {"name": "s", "layers": []}})
        for name, shape in {"model_weights/dense/dense/kernel:0": (4, 2), "model_weights/dense/dense/bias:0": (2,),
                            "optimizer_weights/Adam/iter:0": (), "optimizer_weights/Adam/dense/kernel/m:0": (4, 2)}.items():
            f.create_dataset(name, data=np.zeros(shape, dtype="float32"))
        addresses = []
        f.visititems(lambda name, _: addresses.append((name, object_address(f, name))))
    unreadable = fast_path = 0
    for name, address in addresses:
        path = tmp_path / f"eoa_{address}.h5"
        path.write_bytes(source.read_bytes())
        move_eoa(path, address)
        fast, ref = both(path)
        fast_path += fast["notes"].pop("hdf5_reader", None) is None
        assert fast == ref, name
        unreadable += any(p["kind"] == "hdf5-object-unreadable" for p in ref["problems"])
    # below the first object even the root's attributes lie past the end: h5py refuses the whole file
    assert unreadable == fast_path == len(addresses) - 1


def test_a_hard_link_cycle_beside_an_unreadable_object_is_walked_once(tmp_path):
    """The walk that notes unreadable objects visits each object once, as visititems does: a group that
    links to itself three times would otherwise be opened 3^depth times by both readers."""
    source = tmp_path / "cycle.h5"
    with h5py.File(source, "w") as f:
        f.attrs["model_config"] = json.dumps({"class_name": "Sequential", "config": {"name": "s", "layers": []}})
        looped = f.create_group("model_weights/a")
        for name in ("self1", "self2", "self3"):
            looped[name] = looped
        f.create_dataset("model_weights/z/w", data=np.zeros(3, dtype="float32"))
        address = object_address(f, "model_weights/z/w")
    move_eoa(source, address)
    fast, ref = both(source)
    assert "hdf5_reader" not in fast["notes"]
    assert fast == ref
    assert [p["member"] for p in ref["problems"] if p["kind"] == "hdf5-object-unreadable"] == ["model_weights/z"]
