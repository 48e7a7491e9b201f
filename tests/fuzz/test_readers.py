"""Structure-aware fuzzing of the pure-Python readers with Hypothesis.

Each test states a reader's contract and lets Hypothesis look for a counterexample, starting from
the real fixtures (the seed corpus) and shrinking what it finds:

- h5meta raises only ``Unsupported`` (then h5py decides, in a child) on any bytes;
- tfindex raises only ``BundleIndexError`` or ``OSError``;
- the SavedModel reader (the protobuf subset) and the .keras zip reader never raise: damage
  becomes a Problem;
- the config reader takes any JSON a file may hold, however shaped, without a reader error;
- whatever a reader returns can be written as JSON.

Crashes found are kept below as ``@example`` regression cases. KCOMPAT_FUZZ_EXAMPLES sets the
examples per test (default 60; a long local run: 5000).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kcompat.artifacts import h5meta, read_artifact
from kcompat.artifacts.hdf5 import read_hdf5
from kcompat.artifacts.kerasfile import read_keras_zip
from kcompat.artifacts.savedmodel import read_saved_model
from kcompat.artifacts.tfindex import BundleIndexError, read_index
from kcompat.model import Artifact, Format
from tests.fuzz.corpus import FIXTURES

EXAMPLES = int(os.environ.get("KCOMPAT_FUZZ_EXAMPLES", "60"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

H5_SEEDS = [FIXTURES / "tf2.15" / "seq_compiled.h5", FIXTURES / "keras3.15-tf2.21" / "seq_compiled.h5",
            FIXTURES / "tf2.12" / "adam_objloss.h5", FIXTURES / "synthetic_keras1" / "keras1.2.2_theano_th.h5"]
INDEX_SEEDS = [FIXTURES / "tf2.15" / "train_checkpoint" / "ckpt-1.index",
               FIXTURES / "tf2.15" / "seq_compiled_savedmodel" / "variables" / "variables.index"]
PB_SEEDS = [FIXTURES / "tf2.15" / "seq_compiled_savedmodel" / "saved_model.pb",
            FIXTURES / "keras3.15-tf2.21" / "functional_multi_io_export" / "saved_model.pb"]
KERAS_SEED = FIXTURES / "keras3.15-tf2.21" / "seq_compiled.keras"


def writable(artifact: Artifact) -> None:
    """The facts read are JSON, and of the types they declare: records are not validated as readers make them."""
    artifact.model_dump_json()
    Artifact.model_validate(artifact.model_dump())


def edits(limit: int):
    """Up to a few edits of a seed: (kind, position as a fraction of the file, bytes)."""
    edit = st.tuples(st.sampled_from(["flip", "set", "insert", "delete", "cut"]),
                     st.floats(0, 1), st.binary(min_size=1, max_size=8))
    return st.lists(edit, min_size=1, max_size=limit)


def mutate(data: bytes, changes) -> bytes:
    out = bytearray(data)
    for kind, where, chunk in changes:
        pos = min(int(where * len(out)), max(len(out) - 1, 0))
        if kind == "flip" and out:
            out[pos] ^= chunk[0] or 1
        elif kind == "set":
            out[pos:pos + len(chunk)] = chunk
        elif kind == "insert":
            out[pos:pos] = chunk
        elif kind == "delete":
            del out[pos:pos + len(chunk)]
        elif kind == "cut":
            del out[pos:]
    return bytes(out)


def seeded(seeds: list[Path], limit: int = 6):
    """A seed file's bytes, changed by a few edits; half the edits land in the first 8 KiB."""
    head = st.tuples(st.sampled_from(["flip", "set"]), st.floats(0, 1), st.binary(min_size=1, max_size=8)).map(
        lambda e: (e[0], 0, e[2]) if e[1] < 0.5 else e)
    return st.tuples(st.sampled_from([p.read_bytes() for p in seeds]), st.lists(head | edits(1).map(lambda l: l[0]),
                                                                                 min_size=1, max_size=limit))


@FUZZ
@given(seeded(H5_SEEDS))
def test_h5meta_raises_only_unsupported(case):
    data, changes = case
    artifact = Artifact(path="fuzz.h5", format=Format.hdf5_other)
    try:
        read_hdf5(artifact, h5meta.open_hdf5(io.BytesIO(mutate(data, changes))))
    except h5meta.Unsupported:
        return
    writable(artifact)


@FUZZ
@given(seeded(INDEX_SEEDS))
def test_tfindex_raises_only_its_own_errors(case):
    data, changes = case
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.index"
        path.write_bytes(mutate(data, changes))
        try:
            bundle = read_index(path)
        except (BundleIndexError, OSError):
            return
        assert all(isinstance(e.key, str) for e in bundle.entries)


@FUZZ
@given(seeded(PB_SEEDS), st.booleans())
def test_saved_model_reader_turns_any_proto_damage_into_problems(case, with_variables):
    data, changes = case
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "sm"
        folder.mkdir()
        (folder / "saved_model.pb").write_bytes(mutate(data, changes))
        if with_variables:
            shutil.copytree(FIXTURES / "tf2.15" / "seq_compiled_savedmodel" / "variables", folder / "variables")
        artifact = Artifact(path=str(folder), format=Format.saved_model)
        read_saved_model(artifact, folder)
        writable(artifact)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["class_name", "config", "layers", "name", "module", "registered_name", "inbound_nodes",
                         "layer", "build_config", "compile_config", "optimizer", "loss", "dtype", "units"])
        | st.text(max_size=8), inner, max_size=5),
    max_leaves=40)
MODEL = st.fixed_dictionaries({"class_name": st.sampled_from(["Sequential", "Functional", "Model", "Bidirectional"]),
                               "config": JSON})


@FUZZ
@given(MODEL | JSON)
def test_config_reader_takes_any_json_without_a_reader_error(config):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.json"
        path.write_text(json.dumps(config))
        artifact = read_artifact(path)
        assert not artifact.problem("reader-error"), artifact.problems
        writable(artifact)


MEMBER_NAMES = st.sampled_from(["config.json", "metadata.json", "model.weights.h5", "assets/x", "../x", "/abs",
                                "CONFIG.JSON"]) | st.text(min_size=1, max_size=10)


@pytest.mark.filterwarnings("ignore:Duplicate name")
@FUZZ
@given(st.lists(st.tuples(MEMBER_NAMES, st.sampled_from(["config", "metadata", "weights", "bytes"]),
                          st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])), max_size=6),
       MODEL, st.binary(max_size=64))
def test_keras_zip_reader_never_raises(members, config, noise):
    with zipfile.ZipFile(KERAS_SEED) as zf:
        real = {"metadata": zf.read("metadata.json"), "weights": zf.read("model.weights.h5")}
    real["config"], real["bytes"] = json.dumps(config).encode(), noise
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.keras"
        with zipfile.ZipFile(path, "w") as zf:
            for name, content, compression in members:
                zf.writestr(zipfile.ZipInfo(name), real[content], compress_type=compression)
        artifact = Artifact(path=str(path), format=Format.keras_zip)
        read_keras_zip(artifact, path)
        writable(artifact)


@example(b'{"class_name": "Sequential", "config": {"name": "X\\ud800Y", "layers": []}}')  # issue 16: lone surrogate
@example(b'{"class_name": "Sequential", "config": ' + b"[" * 3000 + b"]" * 3000 + b"}")  # issue 16: 3,000 deep
@FUZZ
@given(st.binary(max_size=256))
def test_read_artifact_never_raises_and_its_result_is_writable(raw):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.json"
        path.write_bytes(raw)
        writable(read_artifact(path))
