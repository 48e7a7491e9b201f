"""One hostile file must never hang the run or lose the others' report (issue 16).

Each test runs the real CLI in a subprocess over real files: a FIFO, names that are not UTF-8 or
that carry HTML, ANSI escapes, workflow commands and newlines, a config with a lone surrogate.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest

from kcompat.pipeline.contain import ArtifactTimeout, budget
from tests.fuzz.hostile import H5, KERAS, deep, rewrite_keras, surrogate_config
from tests.helpers import ROOT, tree_digest

CLI_TIMEOUT_S = 180  # far above a healthy run; a hang fails the test instead of stalling the suite


def check(*args: str, cwd: Path) -> tuple[subprocess.CompletedProcess, dict]:
    out = cwd / "out" / "report.json"
    proc = subprocess.run([sys.executable, "-m", "kcompat", "check", *args, "--no-env", "--isolated", "--json", str(out)],
                          capture_output=True, text=True, errors="backslashreplace", cwd=cwd, timeout=CLI_TIMEOUT_S,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    return proc, (json.loads(out.read_text("utf-8")) if out.exists() else {})


def by_path(report: dict) -> dict[str, dict]:
    return {a["artifact"]["path"]: a for a in report["artifacts"]}


def codes(entry: dict) -> list[str]:
    return [f["code"] for f in entry["findings"]]


def test_fifo_bad_name_and_lone_surrogate_each_get_an_entry_and_the_report_is_written(tmp_path):
    folder = tmp_path / "models"
    folder.mkdir()
    os.mkfifo(folder / "x.h5")
    with open(os.path.join(os.fsencode(folder), b"h_bad_name_\xff.h5"), "wb") as fh:
        fh.write(H5.read_bytes())
    rewrite_keras(KERAS, folder / "k_surrogate.keras", surrogate_config(KERAS))
    (folder / "healthy.h5").write_bytes(H5.read_bytes())
    before = tree_digest(folder)

    proc, report = check("models", cwd=tmp_path)

    assert proc.returncode == 1, proc.stderr  # KC113 on the FIFO is an error
    assert "Traceback" not in proc.stdout + proc.stderr and "internal error" not in proc.stderr
    entries = by_path(report)
    assert set(entries) == {"models/x.h5", "models/h_bad_name_\\xff.h5", "models/k_surrogate.keras", "models/healthy.h5"}
    fifo = entries["models/x.h5"]
    assert fifo["artifact"]["format"] == "unreadable" and codes(fifo) == ["KC113"]
    assert "named pipe" in fifo["artifact"]["problems"][0]["detail"]
    assert entries["models/h_bad_name_\\xff.h5"]["artifact"]["format"] == "hdf5-model"
    surrogate = entries["models/k_surrogate.keras"]["artifact"]
    assert surrogate["config"]["config"]["name"] == "X\\ud800Y"
    assert [layer["name"] for layer in surrogate["layers"]][:1] == ["L\\udfffZ"]
    assert not [c for c in codes(entries["models/healthy.h5"]) if c.startswith("KC1")]
    assert tree_digest(folder) == before


HOSTILE_NAMES = {
    "html": b"<img src=x onerror=alert(1)>.h5",
    "ansi": b"\x1b[31mred\x1b[0m.h5",
    "workflow": b"::error title=pwned::owned.h5",
    "newline": b"new\nline\n::warning::x.h5",
    "not-utf8": b"bad_\xff.h5",
}


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_names_from_files_cannot_inject_into_any_output(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in HOSTILE_NAMES.values():  # empty files: KC112, whose message names the file
        open(os.path.join(os.fsencode(folder), name), "wb").close()
    outs = {fmt: tmp_path / "out" / f"report.{fmt}" for fmt in ("text", "github", "sarif", "html")}
    proc, report = check("in", *[f"-o{fmt}={path}" for fmt, path in outs.items()], cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    findings = [f for a in report["artifacts"] for f in a["findings"]]
    assert len(report["artifacts"]) == len(HOSTILE_NAMES) and len(findings) >= len(HOSTILE_NAMES)
    shown = {os.fsdecode(n).replace("\udcff", "\\xff") for n in HOSTILE_NAMES.values()}
    assert {Path(a["artifact"]["path"]).name for a in report["artifacts"]} == shown  # JSON keeps the names, escaped

    for text in (outs["text"].read_text("utf-8"), proc.stdout):
        assert "\x1b" not in text
        assert not [line for line in text.splitlines() if line.lstrip().startswith("::")]
        assert not [line for line in text.splitlines() if line.startswith("line")]
        assert "new\\nline" in text

    github = outs["github"].read_text("utf-8").splitlines()
    assert len(github) == len(findings)
    assert all(line.startswith(("::error ", "::warning ", "::notice ")) for line in github)
    assert "\x1b" not in "".join(github)

    sarif = json.loads(outs["sarif"].read_text("utf-8"))
    jsonschema.validate(sarif, json.loads((ROOT / "tests" / "sarif-schema-2.1.0.json").read_text()))
    assert len(sarif["runs"][0]["results"]) == len(findings)

    parser = Tags()
    parser.feed(outs["html"].read_text("utf-8"))
    assert not [attrs for tag, attrs in parser.tags if tag == "img" or "onerror" in attrs]
    assert "&lt;img src=x onerror=alert(1)&gt;" in outs["html"].read_text("utf-8")


def test_every_entry_of_a_folder_is_an_artifact_or_counted_as_skipped(tmp_path):
    folder = tmp_path / "mixed"
    (folder / "sub").mkdir(parents=True)
    (folder / "empty_dir").mkdir()
    (folder / "model.h5").write_bytes(H5.read_bytes())
    (folder / "sub" / "model.h5").write_bytes(H5.read_bytes())
    (folder / "notes.json").write_text('{"not": "a model"}')
    (folder / "deep.json").write_text('{"class_name": "Sequential", "config": ' + deep() + "}")
    (folder / "README.txt").write_text("hello\n")
    (folder / ".hidden.h5").write_bytes(H5.read_bytes())
    os.symlink("model.h5", folder / "link.h5")

    proc, report = check("mixed", "-v", cwd=tmp_path)

    reported = {a["artifact"]["path"] for a in report["artifacts"]} | {s["path"] for s in report["skipped"]}
    for name in os.listdir(folder):
        assert any(r == f"mixed/{name}" or r.startswith(f"mixed/{name}/") for r in reported), name
    skipped = {s["path"]: s["reason"] for s in report["skipped"]}
    assert skipped["mixed/link.h5"].startswith("symbolic link")
    assert skipped["mixed/.hidden.h5"] == "hidden file"
    assert skipped["mixed/empty_dir"] == "empty folder"
    assert skipped["mixed/notes.json"] == skipped["mixed/deep.json"] == "JSON, not a model config"
    assert f"{len(skipped)} entries skipped" in proc.stdout
    for path in skipped:
        assert f"skipped {path}:" in proc.stdout  # listed under -v


def test_an_artifact_past_its_budget_gets_kc117_and_the_run_goes_on(tmp_path):
    # Here an empty file takes ~40 ms to check (cold) and this zip ~750 ms (2026-12-06): ~4x either side of the
    # budget. With 20,000 members the zip took ~150 ms on a quick day, at the budget itself, and CI failed once.
    rewrite_keras(KERAS, tmp_path / "big.keras", extra=100_000)
    (tmp_path / "empty.h5").write_bytes(b"")

    proc, report = check("empty.h5", "big.keras", "--artifact-timeout", "0.15", cwd=tmp_path)

    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    entries = by_path(report)
    big = entries["big.keras"]
    assert codes(big) == ["KC117"]
    assert "gave up after 0.15 s" in big["findings"][0]["message"]
    assert codes(entries["empty.h5"]) == ["KC112"]
    with zipfile.ZipFile(tmp_path / "big.keras") as zf:
        assert len(zf.namelist()) > 100_000  # untouched


def test_budget_interrupts_an_open_that_would_block(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    # A writer arrives after 20 s, so a broken budget fails this test instead of hanging it.
    rescue = threading.Timer(20, lambda: open(fifo, "wb").close())
    rescue.start()
    try:
        with pytest.raises(ArtifactTimeout):
            with budget(0.2):
                open(fifo, "rb").close()
    finally:
        rescue.cancel()
