"""`kcompat fix`, static part: dry runs write nothing, healthy files are left alone, copies keep what
was not rewritten, and no TensorFlow is imported. The proofs (real loads) are in test_fix_proof.py."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile

import h5py
import numpy as np

from kcompat.config import RunConfig
from kcompat.fix.repair import cleanup, plan
from tests.envbuild import build_env
from tests.helpers import ROOT, run_cli, tree_digest, windows_keras

FIXTURES = ROOT / "fixtures"
ENV = build_env({"preset": "keras3.15-tf2.21"})
BROKEN = ["tf2.15/depthwise.h5", "tf2.15/rnn.keras", "tf2.12/nested.h5", "tf2.12/seq_compiled.keras"]
HEALTHY = ["keras3.15-tf2.21/seq_compiled.keras", "keras3.15-tf2.21/functional_multi_io.keras"]


def test_dry_run_writes_nothing_and_lists_the_changes(tmp_path):
    for name in BROKEN + HEALTHY:
        dest = tmp_path / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(FIXTURES / name, dest)
    before = tree_digest(tmp_path)
    proc = run_cli("fix", *[str(tmp_path / n) for n in BROKEN + HEALTHY], "--dry-run", "--python", sys.executable)
    assert proc.returncode == 0, proc.stderr
    assert tree_digest(tmp_path) == before
    assert "KC302 DepthwiseConv2D 'depthwise_conv2d': groups=1 dropped" in proc.stdout
    assert "KC207 reference to nested model 'inner_seq': node index 1 -> 0" in proc.stdout
    # the model's output through the nested Functional: Keras 3.3+ lowers that index itself
    assert "nested model 'inner_fn'" not in proc.stdout
    assert "KC119 written as .h5" in proc.stdout
    for name in HEALTHY:
        assert f"{tmp_path / name}: nothing to fix" in proc.stdout


def test_unfixable_files_say_why_and_exit_1(tmp_path):
    names = ["derived/lfs_pointer/model.h5", "tf2.15/lambda.h5", "tf2.15/custom_unregistered.h5", "derived/bad_crc.keras"]
    proc = run_cli("fix", *[str(FIXTURES / n) for n in names], "--dry-run", "-o", str(tmp_path))
    assert proc.returncode == 1, proc.stderr
    assert "not fixed: KC101 a git-LFS pointer" in proc.stdout
    assert "not fixed: KC701 a Lambda layer" in proc.stdout
    assert "not fixed: KC301 a custom object" in proc.stdout
    assert "not fixed: KC103 the zip is corrupt" in proc.stdout
    assert list(tmp_path.iterdir()) == []


def test_healthy_fixture_is_nothing_to_fix_and_writes_nothing(tmp_path):
    src = tmp_path / "m.keras"
    shutil.copyfile(FIXTURES / HEALTHY[0], src)
    proc = run_cli("fix", str(src), "-o", str(tmp_path / "out.keras"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"{src}: nothing to fix"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.keras"]


def test_keras_copy_changes_config_json_only():
    repair = plan(str(FIXTURES / "tf2.15/depthwise.keras"), RunConfig(jobs=1), ENV)
    try:
        with zipfile.ZipFile(FIXTURES / "tf2.15/depthwise.keras") as a, zipfile.ZipFile(repair.staged) as b:
            assert a.namelist() == b.namelist()
            for name in a.namelist():
                if name != "config.json":
                    assert a.read(name) == b.read(name), name
            old, new = json.loads(a.read("config.json")), json.loads(b.read("config.json"))
        assert "groups" in json.dumps(old) and '"groups"' not in json.dumps(new)
    finally:
        cleanup(repair)


def test_h5_copy_keeps_weights_and_attribute_kinds():
    src = FIXTURES / "tf2.15/depthwise.h5"
    repair = plan(str(src), RunConfig(jobs=1), ENV)
    try:
        with h5py.File(src, "r") as a, h5py.File(repair.staged, "r") as b:
            names = []
            a.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
            assert names
            for name in names:
                assert np.array_equal(a[name][()], b[name][()]), name
            assert type(a.attrs["model_config"]) is type(b.attrs["model_config"])
            assert '"groups"' in str(a.attrs["model_config"]) and '"groups"' not in str(b.attrs["model_config"])
    finally:
        cleanup(repair)


def test_fix_dry_run_leaves_tensorflow_unimported(tmp_path):
    forbidden = ("tensorflow", "keras", "tf_keras")
    paths = [str(FIXTURES / n) for n in BROKEN + HEALTHY] + [str(FIXTURES / "tf2.12/seq_compiled.json")]
    script = (
        "import json, sys\n"
        "from kcompat.cli import main\n"
        f"code = main(['fix', *{paths!r}, '--dry-run'])\n"
        f"print(json.dumps({{'code': code, 'leaked': [m for m in {forbidden!r} if m in sys.modules]}}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=600)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result == {"code": 0, "leaked": []}, proc.stderr


def test_fix_reports_carry_the_changes_in_json_and_html(tmp_path):
    src = FIXTURES / "tf2.15" / "depthwise.h5"
    proc = run_cli("fix", str(src), "--dry-run", "--json", str(tmp_path / "fix.json"), "--html", str(tmp_path / "fix.html"))
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "fix.json").read_text())
    assert report["schema_version"] == "1.6"
    (entry,) = report["artifacts"]
    (fix,) = entry["fixes"]
    assert fix["status"] == "fixed" and fix["changes"][0]["code"] == "KC302" and "groups=1 dropped" in fix["changes"][0]["change"]
    assert any(f["code"] == "KC302" for f in entry["findings"])  # the findings the fix answers
    page = (tmp_path / "fix.html").read_text()
    assert "kcompat fix: can be repaired" in page and "groups=1 dropped" in page


def test_windows_weight_groups_move_to_slash_paths_and_nothing_else_changes(tmp_path):
    src = tmp_path / "win.keras"
    windows_keras(FIXTURES / "tf2.15" / "seq_uncompiled.keras", src)
    before = tree_digest(tmp_path)
    repair = plan(str(src), RunConfig(jobs=1), ENV)
    try:
        assert any(c["code"] == "KC212" and "backslash" in c["change"] for c in repair.result.changes)
        assert "KC212" not in repair.result.remaining
        with zipfile.ZipFile(src) as a, zipfile.ZipFile(repair.staged) as b:
            assert a.namelist() == b.namelist()
            assert a.read("metadata.json") == b.read("metadata.json")
            (tmp_path / "orig.h5").write_bytes(a.read("model.weights.h5"))
            (tmp_path / "copy.h5").write_bytes(b.read("model.weights.h5"))
        with h5py.File(tmp_path / "orig.h5") as o, h5py.File(tmp_path / "copy.h5") as c:
            names = []
            c.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
            assert names and not any("\\" in n for n in names)
            for name in names:  # the same tensors, each under its '/' path
                old = name.replace("layers/", "layers\\", 1).replace("metrics/", "metrics\\", 1)
                assert np.array_equal(c[name][()], o[old][()])
    finally:
        cleanup(repair)
    assert tree_digest(tmp_path)["win.keras"] == before["win.keras"]

