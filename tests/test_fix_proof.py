"""`kcompat fix` against real loads: the repair rate over every fixture that fails under the reference
Keras for a cause whose rule has a fixer, each repair proven by the guarded load; and migration."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from kcompat.catalog import load_catalog
from kcompat.config import RunConfig
from kcompat.env import get_environment
from kcompat.fix.repair import cleanup, errors, plan
from kcompat.fix.run import fix_paths
from tests.helpers import ROOT, run_cli, windows_keras

pytestmark = pytest.mark.slow
FIXTURES = ROOT / "fixtures"


def failing_fixtures() -> list[str]:
    """Fixtures a real Keras load_model failed on (compile=True or False), as the manifests observed, and
    that some observed loader does load: a repair is proven against the original's outputs, "loaded by a
    loader that can load it", so a file no loader opens (an unregistered custom class with no code to
    import, a member missing from the archive) has nothing to be proven against."""
    out = []
    for manifest in (FIXTURES / "manifest.json", FIXTURES / "wild" / "manifest.json"):
        for entry in json.loads(manifest.read_text())["entries"]:
            observed = entry.get("observed") or {}
            if not any((outcome or {}).get("ok") for outcome in observed.values()):
                continue
            if any((observed.get(k) or {}).get("ok") is False for k in ("keras_compile", "keras_nocompile")):
                if (FIXTURES / entry["path"]).exists():
                    out.append(str(FIXTURES / entry["path"]))
    return out


def fixes_of(report_path) -> list[dict]:
    """The fix results of a `kcompat fix --json` report, one per artifact."""
    return [fx for a in json.loads(report_path.read_text())["artifacts"] for fx in a["fixes"]]


def digest(path: str) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def test_repair_rate_over_the_fixtures(tmp_path):
    env = get_environment()
    config = RunConfig(jobs=1)
    fixers = {code for code, rule in load_catalog().items() if rule.fixer}
    counted = []
    for path in failing_fixtures():
        repair = plan(path, config, env)
        cleanup(repair)
        if repair.artifact is not None and any(f.code in fixers for f in errors(_entry(path, config, env))):
            counted.append(path)
    assert len(counted) >= 30, counted
    before = {p: digest(p) for p in counted}
    results = fix_paths(counted, config, env, output=str(tmp_path))
    assert {p: digest(p) for p in counted} == before, "an input was modified"
    repaired = [r for r in results if r.status == "proven"]
    print(f"\nrepair rate: {len(repaired)}/{len(counted)} = {len(repaired) / len(counted):.0%}")
    for r in results:
        if r.status != "proven":
            why = "; ".join(f"{i['code']} {i['reason']}" for i in r.not_fixed) or json.dumps(r.proof)[:300]
            print(f"  not repaired: {r.path.replace(str(FIXTURES) + '/', '')}: {r.status}: {why}")
    for r in repaired:
        assert r.kept and r.output and (tmp_path / r.output.split("/")[-1]).exists()
        assert r.proof["original_loader"] and r.proof["agrees"] is True
    assert len(repaired) / len(counted) >= 0.8


def _entry(path, config, env):
    from kcompat.pipeline.runner import check_paths

    return check_paths([path], config, env=env).artifacts[0]


def test_migration_to_keras_is_proven(tmp_path):
    src = FIXTURES / "tf2.15" / "depthwise.h5"
    before = digest(str(src))
    out = tmp_path / "depthwise.keras"
    proc = run_cli("fix", str(src), "--format", "keras", "-o", str(out), "--json", str(tmp_path / "fix.json"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert digest(str(src)) == before
    assert "config.json" in zipfile.ZipFile(out).namelist()
    result = fixes_of(tmp_path / "fix.json")[0]
    assert result["status"] == "proven" and result["proof"]["original_loader"] == "tf_keras"


def test_every_keras2_h5_that_tf_keras_loads_migrates_or_says_why(tmp_path, capsys):
    """`--format keras` on every Keras 2 .h5 fixture tf_keras really loads: a proven .keras, or the reason."""
    sources = []
    for manifest in (FIXTURES / "manifest.json", FIXTURES / "wild" / "manifest.json"):
        for entry in json.loads(manifest.read_text())["entries"]:
            if entry["format"] == "hdf5-model" and ((entry.get("observed") or {}).get("tf_keras") or {}).get("ok"):
                sources.append(str(FIXTURES / entry["path"]))
    assert len(sources) >= 40
    before = {p: digest(p) for p in sources}
    proc = run_cli("fix", *sources, "--format", "keras", "-o", str(tmp_path), "--json", str(tmp_path / "fix.json"))
    assert proc.returncode in (0, 1), proc.stderr
    results = fixes_of(tmp_path / "fix.json")
    assert sorted(r["path"] for r in results) == sorted(str(p) for p in sources) or len(results) == len(sources)
    proven = [r for r in results if r["status"] == "proven"]
    for r in proven:
        out = tmp_path / r["output"].split("/")[-1]
        assert out.suffix == ".keras" and "config.json" in zipfile.ZipFile(out).namelist(), r
    # a copy that loads and computes differently says by how much (proof.why): the wild Keras 2.1.5 s2s.h5, whose
    # LSTMs use hard_sigmoid, which Keras 3 redefined (KC222, a warning on the original)
    unexplained = [r["path"] for r in results if r["status"] != "proven"
                   and not (r.get("not_fixed") or (r.get("proof") or {}).get("copy_error") or r.get("remaining")
                            or (r["status"] == "outputs-differ" and (r.get("proof") or {}).get("why")))]
    with capsys.disabled():
        print(f"\n--format keras: {len(proven)}/{len(results)} Keras 2 .h5 fixtures migrated and proven; the rest:")
        for r in results:
            if r["status"] != "proven":
                why = (r.get("not_fixed") or (r.get("proof") or {}).get("copy_error") or r.get("remaining")
                       or (r.get("proof") or {}).get("why"))
                print(f"  {r['path']}: {r['status']}: {str(why)[:140]}")
    assert not unexplained
    assert all(digest(p) == before[p] for p in sources)


def test_a_windows_keras_copy_loads_where_the_original_loads_nowhere(tmp_path):
    src = tmp_path / "win.keras"
    windows_keras(FIXTURES / "tf2.15" / "seq_uncompiled.keras", src)
    before = digest(str(src))
    proc = run_cli("fix", str(src), "-o", str(tmp_path / "out"), "--keep-unproven", "--json", str(tmp_path / "r.json"))
    assert digest(str(src)) == before
    [fx] = fixes_of(tmp_path / "r.json")
    assert "KC212" in {c["code"] for c in fx["changes"]}, proc.stdout
    # On Linux no loader reads the original's weights, so the outputs cannot be compared; the fix also
    # rewrote the config (KC302), so equal weights would not prove it either: the proof says so, and
    # that the copy loads (keras-nocompile), and the copy is kept only because it was asked for.
    assert fx["status"] == "unproven" and fx["proof"]["status"] == "original-fails", fx["proof"]
    assert "proof_by" not in fx["proof"] and fx["proof"]["copy_loader"] == "keras-nocompile" and fx["output"], fx
    assert "repaired copy loads" in proc.stdout


def _outputs_of(copies: dict[str, str], loader: str, inputs: Path) -> dict:
    """Each copy's outputs on the inputs tf.keras 2.13.1 ran, computed by a real load in a subprocess."""
    script = (
        "import json, sys, numpy as np\n"
        "import tf_keras as keras\n" if loader == "tf_keras" else "import json, sys, numpy as np\nimport keras\n"
    ) + (
        "copies, ref = json.loads(sys.argv[1]), json.load(open(sys.argv[2]))\n"
        "out = {}\n"
        "for name, path in copies.items():\n"
        "    model = keras.models.load_model(path, compile=False)\n"
        "    y = model.predict(np.asarray(ref[name]['x'], 'float32'), verbose=0)\n"
        "    out[name] = float(np.abs(y - np.asarray(ref[name]['y'], 'float32')).max())\n"
        "print(json.dumps(out))\n"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""}
    proc = subprocess.run([sys.executable, "-c", script, json.dumps(copies), str(inputs)], capture_output=True,
                          text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("writer", ["tf2.13", "tf2.14"])
def test_old_layout_keras_copies_compute_what_their_writer_computed(tmp_path, writer):
    """Real tf.keras 2.13.1 and 2.14.1 archives (the old '_layer_checkpoint_dependencies/' layout; 2.13
    counts each layer with weights twice, 2.14 once) fail in tf_keras 2.21; `kcompat fix` moves their groups,
    the proof compares the weights, and the copies give the outputs the writer gave on the same inputs."""
    folder = FIXTURES / writer
    sources = sorted(str(p) for p in folder.glob("*.keras"))
    assert len(sources) == 4
    before = {p: digest(p) for p in sources}
    proc = run_cli("fix", *sources, "-o", str(tmp_path / "out"), "--json", str(tmp_path / "r.json"),
                   env={"TF_USE_LEGACY_KERAS": "1"})
    assert all(digest(p) == before[p] for p in sources)
    results = fixes_of(tmp_path / "r.json")
    assert [r["status"] for r in results] == ["proven"] * 4, proc.stdout
    for r in results:
        assert r["proof"]["copy_loader"] == "tf_keras", r["proof"]
        if r["proof"]["original_loader"] is None:  # no loader here reads it: proven by its weights
            assert r["proof"]["proof_by"] == "weights", r["proof"]
            assert r["proof"]["original_error"]["code"] in {"KC212", "KC203"}, r["proof"]  # the last loader tried
        else:  # a 2.14 Sequential loads in Keras 3, which counts as 2.14 did: proven by outputs
            assert writer == "tf2.14" and r["proof"]["max_abs_diff"] == 0.0, r["proof"]
        assert [c["code"] for c in r["changes"]] == ["KC212"], r["changes"]
    copies = {Path(r["path"]).stem: r["output"] for r in results}
    diffs = _outputs_of(copies, "tf_keras", folder / "_outputs.json")
    assert set(diffs) == set(copies) and max(diffs.values()) < 1e-5, diffs
    if writer != "tf2.13":
        return  # Keras 3 reads a 2.14 file's old layout by the same count: nothing to fix there
    # Keras 3 reads the Sequential's old layout too, by its own count, once the config needs nothing else
    proc = run_cli("fix", str(folder / "two_dense.keras"), "-o", str(tmp_path / "k3.keras"), "--json", str(tmp_path / "k3.json"))
    [r] = fixes_of(tmp_path / "k3.json")
    assert r["status"] == "proven" and r["proof"]["proof_by"] == "weights", (proc.stdout, r)
    assert _outputs_of({"two_dense": r["output"]}, "keras", folder / "_outputs.json")["two_dense"] < 1e-5


SEQ2SEQ = """
import sys
import tf_keras as keras
enc_in = keras.Input((None, 5))
_, h, c = keras.layers.LSTM(8, return_state=True)(enc_in)
dec_in = keras.Input((None, 6))
seq = keras.layers.LSTM(8, return_sequences=True)(dec_in, initial_state=[h, c])
model = keras.Model([enc_in, dec_in], keras.layers.Dense(6, activation="softmax")(seq))
model.save(sys.argv[1])
"""


def test_a_decoder_called_with_its_states_is_repaired_and_proven(tmp_path):
    """KC221 on an encoder-decoder real tf_keras saves as .h5: the Keras 3 copy computes what tf_keras computes."""
    src = tmp_path / "s2s.h5"
    subprocess.run([sys.executable, "-c", SEQ2SEQ, str(src)], check=True, capture_output=True,
                   env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": ""})
    proc = run_cli("fix", str(src), "-o", str(tmp_path / "out"), "--json", str(tmp_path / "fix.json"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = fixes_of(tmp_path / "fix.json")[0]
    assert "KC221" in {c["code"] for c in result["changes"]}, result
    assert result["status"] == "proven" and result["proof"]["copy_loader"].startswith("keras"), result["proof"]
    assert result["proof"]["max_abs_diff"] == 0.0
