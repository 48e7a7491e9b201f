"""Bad input gets a finding, never a traceback; the run goes on; the input is never modified."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tests.casebuild import build
from tests.helpers import run_check_json, tree_digest


def codes_by_path(report: dict) -> dict[str, list[str]]:
    return {a["artifact"]["path"]: [f["code"] for f in a["findings"]] for a in report["artifacts"]}


@pytest.fixture()
def healthy_h5(tmp_path: Path) -> Path:
    return build({"kind": "h5", "name": "healthy.h5", "attrs": {
        "keras_version": "2.15.0", "backend": "tensorflow",
        "model_config": {"class_name": "Sequential", "config": {"name": "s", "layers": [
            {"class_name": "Dense", "config": {"name": "dense", "units": 64}}]}}},
        "datasets": {"model_weights/dense/dense/kernel:0": [64, 64]}}, tmp_path)


def test_file_truncated_at_several_offsets(tmp_path, healthy_h5):
    keras_zip = build({"kind": "keras-zip", "name": "good.keras"}, tmp_path)
    sources = {healthy_h5: healthy_h5.read_bytes(), keras_zip: keras_zip.read_bytes()}
    cut_dir = tmp_path / "cut"
    cut_dir.mkdir()
    paths = []
    for source, data in sources.items():
        for offset in (1, 8, 100, 512, 1500, len(data) // 2, len(data) - 1):
            cut = cut_dir / f"{source.stem}-{offset}{source.suffix}"
            cut.write_bytes(data[:offset])
            paths.append(str(cut))
    paths.append(str(healthy_h5))  # the run must go on to a healthy file after the broken ones
    before = tree_digest(tmp_path)
    proc, report = run_check_json(*paths, cwd=tmp_path)
    assert tree_digest(tmp_path) == before
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr + proc.stdout
    found = codes_by_path(report)
    for path in paths[:-1]:
        assert any(c in ("KC102", "KC103", "KC104", "KC112", "KC115") for c in found[path]), (path, found[path])
    assert not [c for c in found[str(healthy_h5)] if c.startswith("KC1")]


def test_hostile_and_wrong_type_inputs(tmp_path):
    specs = {
        "traversal": ({"kind": "keras-zip", "name": "slip.keras", "members": {"../../evil.py": "x"}}, "KC105"),
        "bomb": ({"kind": "keras-zip", "name": "bomb.keras", "config": False, "bomb": "config.json"}, "KC106"),
        "lfs": ({"kind": "lfs-pointer", "name": "model.h5"}, "KC101"),
        "empty": ({"kind": "bytes", "name": "empty.h5", "text": ""}, "KC112"),
        "nothing": ({"kind": "dir", "name": "notes", "files": {"a.txt": "x"}}, "KC114"),
        # The run is root here and in CI, and root reads any mode; a socket cannot be opened by anyone.
        "socket": ({"kind": "socket", "name": "sock.h5"}, "KC113"),
    }
    paths = {key: build(spec, tmp_path) for key, (spec, _) in specs.items()}
    before = tree_digest(tmp_path)
    proc, report = run_check_json(*map(str, paths.values()), cwd=tmp_path)
    assert tree_digest(tmp_path) == before
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    found = codes_by_path(report)
    for key, (_, code) in specs.items():
        assert code in found[str(paths[key])], (key, found)


def test_directory_search_and_savedmodel_counts_once(tmp_path):
    build({"kind": "saved-model", "name": "exported"}, tmp_path)
    build({"kind": "lfs-pointer", "name": "model.h5"}, tmp_path)
    build({"kind": "checkpoint", "name": "ckpt-1"}, tmp_path)
    (tmp_path / "README.md").write_text("not a model")
    proc, report = run_check_json(str(tmp_path), cwd=tmp_path)
    paths = sorted(Path(a["artifact"]["path"]).name for a in report["artifacts"])
    assert paths == ["ckpt-1", "exported", "model.h5"], paths
    assert proc.returncode == 1
    assert stat.S_ISDIR((tmp_path / "exported").stat().st_mode)


def test_a_link_name_that_is_not_utf8_is_a_damaged_file_not_a_reader_error(tmp_path):
    # fuzz campaign seed 23, mutant 38: one byte of fixtures/tf2.15/adamw.h5 changed inside a group's name.
    # h5py cannot decode the name either, and the real loaders fail (keras and tf_keras: KeyError 'dense_15').
    from tests.fuzz.corpus import build_mutants

    build_mutants(tmp_path, 1, 23, start=38)
    (path,) = tmp_path.glob("*.h5")
    proc, report = run_check_json(str(path), "--no-env", cwd=tmp_path)
    (finding,) = report["artifacts"][0]["findings"]
    assert (finding["code"], finding["name"]) == ("KC102", "hdf5-corrupt"), finding
    assert "not UTF-8" in finding["message"]
