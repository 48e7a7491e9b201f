"""The release knowledge base: size, well-formed records, pack/unpack round trip, target specs."""

from __future__ import annotations

import gzip
import json

import pytest

from kcompat.env.model import Environment
from kcompat.releases import pack, spec, store

KB = pack.DATA
LINES = [f"tf2.{m}" for m in range(12, 16)] + [f"keras3.{m}" for m in range(0, 16)] + \
        [f"tf_keras2.{m}" for m in range(15, 22)]


def test_the_shipped_knowledge_base_is_at_most_3_mb():
    size = sum(p.stat().st_size for p in KB.iterdir() if p.is_file())
    print(f"\nknowledge base: {size / 1e6:.2f} MB in {len(list(KB.iterdir()))} files")
    assert size <= 3_000_000


def test_it_records_at_least_25_releases_covering_every_line():
    names = store.names()
    assert len(names) >= 25
    failed = {f["name"] for f in store.index()["failed"]}
    missing = [line for line in LINES if line not in names and line not in failed]
    assert not missing, f"neither recorded nor reported as failed: {missing}"


@pytest.mark.parametrize("name", store.names())
def test_every_release_is_a_valid_environment(name):
    env = store.environment(name)
    # The store skips validation for speed; here the same data must validate.
    checked = Environment.model_validate(env.model_dump())
    assert checked.versions == store.entry(name)["versions"]
    assert checked.keras_classes or checked.tf_keras_classes
    assert checked.ops and checked.loaders
    major = checked.keras_major
    assert bool(checked.keras_ops) == (major == 3), "Keras 3 records op classes, Keras 2 has none"


def test_pack_and_store_round_trip_real_records(tmp_path, monkeypatch):
    a, b = "tf2.12", "keras3.3"
    snaps = {}
    for name in (a, b):
        env = store.environment(name)
        snaps[name] = json.loads(env.model_dump_json(exclude={"source", "release", "python_executable", "cache_path"}))
    base = pack.compact(snaps[a])
    (tmp_path / "base.json.gz").write_bytes(gzip.compress(json.dumps(base).encode()))
    diff = pack.delta(base, pack.compact(snaps[b]))
    # The op mappings travel as what changes: the one attr TF 2.12 requires and later TensorFlow defaults.
    assert not set(pack.MAP_FIELDS) & set(diff["fields"])
    assert diff["ops_required"]["set"]["XlaCallModule"] == [a for a in snaps[b]["ops_required"]["XlaCallModule"]]
    assert "dim_args_spec" in snaps[a]["ops_required"]["XlaCallModule"]
    assert "dim_args_spec" not in diff["ops_required"]["set"]["XlaCallModule"]
    assert len(diff["ops_required"]["set"]) + len(diff["ops_required"]["drop"]) < len(snaps[b]["ops_required"]) / 2
    (tmp_path / f"{b}.delta.json.gz").write_bytes(gzip.compress(json.dumps(diff).encode()))
    index = {"format": pack.FORMAT, "base": a, "aliases": {}, "failed": [],
             "releases": [{"name": n, "versions": snaps[n]["versions"]} for n in (a, b)]}
    (tmp_path / "index.json").write_text(json.dumps(index))
    monkeypatch.setattr(store, "DATA", tmp_path)
    for fn in (store.index, store._base, store.record):
        fn.cache_clear()
    try:
        again = json.loads(store.environment(b).model_dump_json(exclude={"source", "release", "python_executable",
                                                                         "cache_path"}))
    finally:
        for fn in (store.index, store._base, store.record):
            fn.cache_clear()
    for field in pack.ROW_FIELDS:
        key = lambda e: json.dumps(e, sort_keys=True)  # noqa: E731
        assert sorted(map(key, again[field])) == sorted(map(key, snaps[b][field])), field
    assert again["ops"] == snaps[b]["ops"]
    assert {k: v for k, v in again.items() if k not in pack.ROW_FIELDS} == \
           {k: v for k, v in snaps[b].items() if k not in pack.ROW_FIELDS}


def test_records_unpacked_from_the_shipped_files_pack_to_the_same_bytes(tmp_path):
    # What `build_releases.py --keep-shipped` relies on: rebuilding some releases keeps the rest unchanged.
    records, out = tmp_path / "records", tmp_path / "data"
    assert sorted(pack.unpack(records)) == sorted(store.names())
    assert pack.unpack(records) == []  # a record already there is kept
    failed = {f["name"]: f["reason"] for f in store.index()["failed"]}
    pack.pack(records, failed, out)
    shipped = {p.name: p.read_bytes() for p in KB.iterdir() if p.is_file()}
    assert {p.name: p.read_bytes() for p in out.iterdir()} == shipped


def versions_of(name):
    return store.entry(name)["versions"]


@pytest.mark.parametrize("text, dist", [("keras==3.9.2", "keras"), ("tensorflow==2.12.1", "tensorflow"),
                                        ("tf_keras==2.15.1", "tf_keras"), ("tf-keras==2.21.0", "tf_keras")])
def test_a_recorded_pin_resolves_to_the_release_with_that_version(text, dist):
    target = spec.resolve(text)
    assert target.warning is None and len(target.releases) == 1
    assert versions_of(target.releases[0])[dist] == text.split("==")[1]


def test_a_range_matches_every_recorded_release_in_it():
    target = spec.resolve("keras>=3.6,<3.10")
    majors = sorted({tuple(int(x) for x in versions_of(n)["keras"].split(".")[:2]) for n in target.releases})
    assert majors[0] == (3, 6) and majors[-1] == (3, 9)
    assert all((3, 6) <= m < (3, 10) for m in majors)


def test_a_combination_not_recorded_gets_the_nearest_release_with_a_warning():
    target = spec.resolve("tensorflow==2.15.1,keras==3.0.5")
    assert len(target.releases) == 1
    assert versions_of(target.releases[0])["keras"] == "3.0.5"
    assert "not recorded" in target.warning and target.releases[0] in target.warning


def test_an_unrecorded_patch_gets_its_line():
    target = spec.resolve("keras==3.9.1")
    assert versions_of(target.releases[0])["keras"].startswith("3.9.")
    assert "keras==3.9.1" in target.warning


def test_latest_and_names_and_former_profile_names():
    assert spec.resolve("latest").releases == [store.index()["base"]]
    assert spec.resolve("keras3.3").releases == ["keras3.3"]
    assert spec.resolve("keras3.3-tf2.16").releases == ["keras3.3"]


@pytest.mark.parametrize("bad", ["keras=3.9", "keras==", "pytorch==2.1", "keras==3.9,", "nonsense"])
def test_an_unparseable_spec_is_a_spec_error(bad):
    with pytest.raises(spec.SpecError):
        spec.resolve(bad)


def test_a_backend_clause_runs_the_release_with_keras_on_that_backend():
    assert spec.resolve("keras==3.15.1,backend=jax").releases == ["keras3.15+jax"]
    assert spec.resolve("keras>=3.14,backend=torch").releases == ["keras3.15+torch", "keras3.14+torch"]
    assert spec.resolve("keras==3.15.1,backend=tensorflow").releases == ["keras3.15"]
    env = store.environment("keras3.15+torch")
    assert env.keras_backend == "torch" and "torch" in env.available_backends
    assert env.versions == store.environment("keras3.15").versions
    assert store.position("keras3.15+torch") == store.names().index("keras3.15")


@pytest.mark.parametrize("bad", ["keras==3.15.1,backend=mxnet", "backend=jax", "keras==3.15.1,backend=jax,backend=torch"])
def test_a_bad_backend_clause_is_a_spec_error(bad):
    with pytest.raises(spec.SpecError):
        spec.resolve(bad)
