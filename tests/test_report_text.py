"""The terminal summary and the progress line: colour and progress only on a terminal."""

from __future__ import annotations

import io
import os
import re
import select
import subprocess
import sys
from pathlib import Path

import h5py
import pytest

from kcompat.config import RunConfig
from kcompat.report import WRITERS, text
from kcompat.report.progress import Progress
from kcompat.pipeline.runner import check_paths

REPO = Path(__file__).resolve().parent.parent
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def make_tree(root: Path) -> None:
    (root / "model.h5").write_text(
        "version https://git-lfs.github.com/spec/v1\noid sha256:" + "0" * 64 + "\nsize 20480\n")
    with h5py.File(root / "w.h5", "w") as handle:
        handle.attrs["layer_names"] = [b"dense"]
        handle.create_group("dense").attrs["weight_names"] = []
    (root / "m.tflite").write_bytes(b"\x1c\x00\x00\x00TFL3" + bytes(56))


@pytest.fixture()
def report(tmp_path):
    make_tree(tmp_path)
    return check_paths([str(tmp_path)], RunConfig())


def test_plain_by_default_and_for_the_text_writer(report):
    for out in (text.render(report), WRITERS["text"](report), text.render(report, verbose=True)):
        assert not ANSI.search(out)
    out = text.render(report)
    assert "KC101 error lfs-pointer" in out and "KC111 warning" in out
    assert "fix: git lfs install" in out
    # w.h5 is a weights file, meant for model.load_weights: its KC107 is a warning, not an error
    assert out.splitlines()[-1].startswith("3 artifact(s): 1 error(s), 2 warning(s)")


def test_colour_when_asked(report):
    out = text.render(report, color=True)
    assert "\x1b[1;31m" in out and "\x1b[1;33m" in out
    assert ANSI.sub("", out) == text.render(report)


def test_quiet_is_findings_only(report):
    lines = text.render(report, quiet=True).splitlines()
    assert len(lines) == len(report.findings)
    assert all(re.match(r"^\S.*: KC\d{3} (error|warning|info) ", line) for line in lines)


def test_verbose_adds_facts(report):
    entry = report.artifacts[0]
    entry.loads = [{"loader": "keras", "strategy": "default", "status": "ok"},
                   {"loader": "keras", "strategy": "mirrored", "status": "crash"}]
    out = text.render(report, verbose=True)
    assert "loads: 1 crash, 1 ok" in out
    assert len(out.splitlines()) > len(text.render(report).splitlines())


def test_use_color_needs_a_tty_and_no_NO_COLOR():
    master, slave = os.openpty()
    try:
        with os.fdopen(slave, "w", closefd=False) as tty:
            assert text.use_color(tty, env={})
            assert not text.use_color(tty, env={"NO_COLOR": "1"})
            assert not text.use_color(tty, env={"TERM": "dumb"})
        assert not text.use_color(io.StringIO(), env={})
        assert not text.use_color(None, env={})
    finally:
        os.close(master)
        os.close(slave)


def read_all(fd: int) -> bytes:
    chunks = []
    while select.select([fd], [], [], 0.2)[0]:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def test_progress_writes_only_to_a_terminal():
    quiet = io.StringIO()
    with Progress(stream=quiet) as progress:
        progress("a.h5")
        progress("b.h5")
    assert quiet.getvalue() == "" and progress.count == 2

    master, slave = os.openpty()
    try:
        tty = os.fdopen(slave, "w", closefd=False)
        with Progress(stream=tty) as progress:
            assert progress.enabled
            progress("models/a.h5")
            progress("models/b.keras")
        tty.close()
        written = read_all(master).decode("utf-8")
    finally:
        os.close(master)
        os.close(slave)
    assert "[1] checking models/a.h5" in written and "[2] checking models/b.keras" in written
    assert written.endswith("\r\x1b[2K")  # the line is erased at the end
    assert "\n" not in written


def test_cli_with_pipes_has_no_ansi_and_no_progress(tmp_path):
    make_tree(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["TERM"] = "xterm-256color"
    for extra in ([], ["-v"], ["-q"]):
        proc = subprocess.run([sys.executable, "-m", "kcompat", "check", ".", "--no-report", "--no-env", *extra], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 1, proc.stderr
        assert "KC101" in proc.stdout
        assert not ANSI.search(proc.stdout), proc.stdout
        assert proc.stderr == ""
        assert "\r" not in proc.stdout


def test_the_first_fix_line_is_one_line_even_for_a_multi_line_fix():
    from kcompat.pipeline.gate import first_fix_line
    from tests.envbuild import build_env

    fixture = REPO / "fixtures" / "tf2.15" / "seq_compiled.h5"  # its first error's fix is two lines of code
    report = check_paths([str(fixture)], RunConfig(), env=build_env({"preset": "keras3.15-tf2.21"}))
    line = first_fix_line(report)
    assert line and "\n" not in line and "\\n" not in line
    assert "compile=False); model.compile(" in line


def test_a_savedmodel_verdict_names_every_loader_whole():
    # Four loaders fail, each with its code: the line the helper's report found cut as "keras fa…".
    from tests.envbuild import build_env

    env = build_env({"preset": "keras3.15-tf2.21"})
    folder = REPO / "fixtures" / "wild" / "AngelDeveloper22__Air-Turbine-Power-Predictions-Model"
    report = check_paths([str(folder)], RunConfig(), env=env)
    line = text.verdict_line(report.artifacts[0])
    assert "…" not in line and line.endswith("keras fails (KC204)"), line
    assert all(f"{loader}* fails" in line for loader in ("tf_keras", "tf_saved_model", "tfsmlayer")), line
