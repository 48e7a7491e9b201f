"""`kcompat targets`, `kcompat matrix`, several --target on `check`, and the `target` config key."""

from __future__ import annotations

import json

from kcompat.releases import store
from tests.helpers import ROOT
from tests.test_config import run_cli

K2_KERAS = ROOT / "fixtures" / "tf2.15" / "seq_compiled.keras"  # a Keras 2.15 .keras zip
K3_KERAS = ROOT / "fixtures" / "keras3.15-tf2.21" / "seq_compiled.keras"


def test_targets_lists_every_recorded_release(tmp_path):
    proc = run_cli("targets", cwd=tmp_path)
    assert proc.returncode == 0
    listed = [line.split()[0] for line in proc.stdout.splitlines()[2:] if line.startswith("  ") and
              not line.startswith("  not recorded")]
    assert listed == store.names() and len(listed) >= 25
    data = json.loads(run_cli("targets", "--json", cwd=tmp_path).stdout)
    assert [r["name"] for r in data["releases"]] == listed


def test_matrix_prints_a_summary_then_release_by_loader_and_writes_every_format(tmp_path):
    outs = [f"{fmt}={tmp_path / ('m.' + fmt)}" for fmt in ("json", "html", "sarif")]
    args = ["matrix", str(K3_KERAS), "--target", "keras==3.15.1", "--target", "tensorflow==2.12.1", "--isolated"]
    for out in outs:
        args += ["-o", out]
    proc = run_cli(*args, cwd=tmp_path)
    lines = proc.stdout.splitlines()
    assert lines[0].startswith(f"{K3_KERAS}: loads with ") and "not with TF (bundled Keras 2) 2.12.1" in lines[0]
    assert lines[1].split()[:4] == ["release", "tensorflow", "keras", "tf_keras"]
    rows = {line.split()[0]: line for line in lines[2:4]}
    assert set(rows) == {"keras3.15", "tf2.12"}
    assert rows["keras3.15"].split()[4:6] == ["✓", "✓"]  # keras, keras-nocompile
    assert "✗ KC" in rows["tf2.12"]
    assert proc.returncode == 1  # it loads with no loader of TF 2.12
    report = json.loads((tmp_path / "m.json").read_text())
    assert report["schema_version"] == "1.6"
    (matrix,) = report["matrix"]
    assert matrix["summary"] == lines[0].split(": ", 1)[1]
    assert [r["release"] for r in matrix["rows"]] == ["tf2.12", "keras3.15"]  # the order of `kcompat targets`
    html = (tmp_path / "m.html").read_text()
    assert "Will it load there?" in html and "keras3.15" in html
    sarif = json.loads((tmp_path / "m.sarif").read_text())
    assert sarif["runs"][0]["properties"]["matrix"][0]["rows"][0]["release"] == "tf2.12"


def test_matrix_over_every_release_by_default(tmp_path):
    proc = run_cli("matrix", str(K2_KERAS), "--isolated", "--exit-zero", cwd=tmp_path)
    assert proc.returncode == 0
    rows = [line.split()[0] for line in proc.stdout.splitlines()[2:] if line.strip()]
    assert rows == store.names()


def test_check_with_several_targets_adds_the_matrix_and_gates_on_each(tmp_path):
    keras33 = ROOT / "fixtures" / "keras3.3-tf2.16" / "seq_compiled.keras"
    proc = run_cli("check", str(keras33), "--no-report", "--isolated", "--target", "keras>=3.13", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout
    assert "target: recorded release keras3.15 " in proc.stdout  # the newest of the range is the check's own
    assert "keras3.13" in proc.stdout and "keras3.14" in proc.stdout  # the matrix rows
    # A Keras 3.15 file fails in Keras 3.13 (its initializers carry input_axes; a real 3.13.2 load agrees)
    newer = run_cli("check", str(K3_KERAS), "--no-report", "--isolated", "--target", "keras>=3.13", cwd=tmp_path)
    assert newer.returncode == 1 and "KC304" in newer.stdout
    failing = run_cli("check", str(K3_KERAS), "--no-report", "--isolated", "--target", "latest",
                      "--target", "tf2.15", cwd=tmp_path)
    assert failing.returncode == 1


def test_the_target_config_key_sets_the_default(tmp_path):
    (tmp_path / ".kcompat.toml").write_text('target = "keras==3.3.3"\n')
    proc = run_cli("check", str(K3_KERAS), "--no-report", cwd=tmp_path)
    assert "target: recorded release keras3.3 " in proc.stdout
    shown = run_cli("config", cwd=tmp_path).stdout
    assert "keras==3.3.3" in shown


def test_matrix_with_a_backend_target_judges_the_torch_only_optimizer_by_where_torch_runs(tmp_path):
    # Observed in the reference environment: a .keras compiled under torch stores its optimizer as
    # keras.src.backend.torch.optimizers.*, and compile=True fails where torch is not installed (KC507).
    path = ROOT / "fixtures" / "keras3.15-torch" / "seq_compiled.keras"
    proc = run_cli("matrix", str(path), "--target", "keras==3.15.1", "--target", "keras==3.15.1,backend=torch",
                   "--isolated", cwd=tmp_path)
    rows = {line.split()[0]: line.split() for line in proc.stdout.splitlines()[2:4]}
    assert set(rows) == {"keras3.15", "keras3.15+torch"}
    assert rows["keras3.15"][4:6] == ["✗", "KC507"] and rows["keras3.15+torch"][4] == "✓"
