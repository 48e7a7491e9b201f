"""Config files: discovery, precedence, validation, per-path ignores, severity overrides (real CLI runs)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from kcompat.cli import main
from tests.helpers import ROOT

POINTER = "version https://git-lfs.github.com/spec/v1\noid sha256:{}\nsize 20480\n".format("a" * 64)
WEIGHTS_ONLY = ROOT / "fixtures" / "tf2.15" / "rnn_weights.h5"  # KC107 weights-only (error)
ARCHITECTURE = ROOT / "fixtures" / "tf2.15" / "seq_compiled.json"  # KC118 architecture-only (info)


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The real CLI entry point, in-process (a subprocess per call made this file slow)."""
    out, err = io.StringIO(), io.StringIO()
    old = Path.cwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    finally:
        os.chdir(old)
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def check(cwd: Path, *args: str):
    return run_cli("check", *args, "--no-env", "--no-report", "-v", cwd=cwd)  # -v: info findings are listed too


def codes(proc) -> set[str]:
    return {word for line in proc.stdout.splitlines() for word in line.split() if word.startswith("KC") and word[2:].isdigit()}


@pytest.fixture
def project(tmp_path) -> Path:
    """proj/ with an LFS pointer (KC101), a weights-only HDF5 (KC107) and an architecture JSON (KC118)."""
    root = tmp_path / "proj"
    (root / "models").mkdir(parents=True)
    (root / "legacy").mkdir()
    (root / "models" / "pointer.h5").write_text(POINTER)
    (root / "legacy" / "pointer.h5").write_text(POINTER)
    shutil.copyfile(WEIGHTS_ONLY, root / "models" / "weights.h5")
    shutil.copyfile(ARCHITECTURE, root / "models" / "arch.json")
    return root


def test_no_config_uses_defaults(project):
    proc = check(project, "models")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert {"KC101", "KC107", "KC118"} <= codes(proc)
    shown = run_cli("config", cwd=project)
    assert shown.returncode == 0, shown.stderr
    assert "# config file: none found" in shown.stdout
    assert 'fail-on = "error"  # default' in shown.stdout


def test_pyproject_table_is_found_walking_up_from_a_subdirectory(project):
    (project / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.kcompat]\nignore = ["KC101", "weights-only"]\n')
    deep = project / "models" / "deeper"
    deep.mkdir()
    proc = check(deep, "..")
    assert codes(proc) == {"KC118"}, proc.stdout
    assert proc.returncode == 0, proc.stdout + proc.stderr
    shown = run_cli("config", cwd=deep)
    assert "pyproject.toml [tool.kcompat]" in shown.stdout.splitlines()[0]
    assert 'ignore = ["KC101", "weights-only"]  # ' in shown.stdout and "pyproject.toml" in shown.stdout


def test_pyproject_without_a_kcompat_table_is_skipped(project):
    (project / ".kcompat.toml").write_text('ignore = ["KC107"]\n')
    (project / "models" / "pyproject.toml").write_text('[project]\nname = "inner"\n[tool.ruff]\nline-length = 100\n')
    proc = check(project / "models", ".")
    assert "KC107" not in codes(proc) and "KC101" in codes(proc), proc.stdout
    assert ".kcompat.toml" in run_cli("config", cwd=project / "models").stdout.splitlines()[0]


def test_dot_kcompat_toml_wins_over_pyproject_in_the_same_directory(project):
    (project / ".kcompat.toml").write_text('ignore = ["KC107"]\n')
    (project / "pyproject.toml").write_text('[tool.kcompat]\nignore = ["KC101"]\n')
    proc = check(project, "models")
    assert "KC107" not in codes(proc) and "KC101" in codes(proc), proc.stdout
    first = run_cli("config", cwd=project).stdout.splitlines()[0]
    assert ".kcompat.toml" in first and "pyproject" not in first


def test_the_nearest_file_wins_and_nothing_is_merged(project):
    (project / ".kcompat.toml").write_text('ignore = ["KC107"]\nfail-on = "info"\n')
    (project / "models" / ".kcompat.toml").write_text('ignore = ["KC101"]\n')
    proc = check(project / "models", ".")
    assert "KC107" in codes(proc) and "KC101" not in codes(proc), proc.stdout
    assert "fail-on error" in proc.stdout  # the outer file's fail-on is not merged in


def test_command_line_wins_over_the_file(project):
    (project / ".kcompat.toml").write_text('fail-on = "info"\nselect = ["KC118"]\nignore = ["KC101"]\n')
    assert check(project, "models").returncode == 1  # KC118 info fails at fail-on info
    proc = check(project, "models", "--fail-on", "error")
    assert proc.returncode == 0, proc.stdout
    assert "fail-on error" in proc.stdout
    proc = check(project, "models", "--select", "KC1")  # --select replaces the file's select
    assert {"KC107", "KC118"} <= codes(proc) and "KC101" not in codes(proc)  # the file's ignore still holds
    proc = check(project, "models", "--select", "KC1", "--ignore", "KC107")  # --ignore adds to the file's
    assert codes(proc) == {"KC118"}, proc.stdout
    shown = run_cli("config", "--fail-on", "warning", "--ignore", "KC107", cwd=project).stdout
    assert 'fail-on = "warning"  # command line' in shown
    assert 'select = ["KC118"]  # .kcompat.toml' in shown
    assert 'ignore = ["KC101", "KC107"]  # .kcompat.toml + command line' in shown
    assert "outputs = []  # default" in shown


def test_isolated_and_explicit_config(project, tmp_path):
    (project / ".kcompat.toml").write_text('ignore = ["KC1"]\n')
    assert codes(check(project, "models")) == set()
    assert "KC101" in codes(check(project, "models", "--isolated"))
    other = tmp_path / "elsewhere.toml"
    other.write_text('ignore = ["KC101"]\n')
    proc = check(project, "models", "--config", str(other))
    assert "KC101" not in codes(proc) and "KC107" in codes(proc)


@pytest.mark.parametrize(("name", "text", "expected"), [
    (".kcompat.toml", 'fail_onn = "error"\n', "kcompat: error: .kcompat.toml: unknown key 'fail_onn'"),
    ("pyproject.toml", '[tool.kcompat]\nselectt = ["KC1"]\n', "kcompat: error: pyproject.toml: unknown key 'selectt'"),
    (".kcompat.toml", "[load]\ntimeoutt = 3\n", "kcompat: error: .kcompat.toml: unknown key 'load.timeoutt'"),
    (".kcompat.toml", 'fail-on = "fatal"\n', "kcompat: error: .kcompat.toml: key 'fail-on': Input should be 'error', 'warning' or 'info'"),
    (".kcompat.toml", "select = [\n", "kcompat: error: .kcompat.toml: invalid TOML"),
])
def test_a_bad_file_is_exit_2_with_one_line_naming_key_and_file(project, name, text, expected):
    (project / name).write_text(text)
    for command in (("check", "models", "--no-env", "--no-report"), ("config",), ("baseline", "models", "--no-env")):
        proc = run_cli(*command, cwd=project)
        assert proc.returncode == 2, (command, proc.stdout, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(expected), (command, proc.stderr)
        assert "Traceback" not in proc.stderr


def test_per_path_ignores_are_relative_to_the_config_file(project):
    (project / ".kcompat.toml").write_text('[per-path-ignores]\n"legacy/*" = ["lfs-pointer"]\n"models/*.json" = ["KC118"]\n')
    proc = check(project, "legacy", "models")
    findings = [line for line in proc.stdout.splitlines() if "KC" in line]
    assert any("KC101" in line for line in findings)
    text = proc.stdout
    assert "legacy/pointer.h5  [lfs-pointer]\n  KC101" not in text, text  # ignored under legacy/
    assert "models/pointer.h5  [lfs-pointer]\n  KC101" in text, text  # still reported elsewhere
    assert "KC118" not in codes(proc)
    # the same globs hold from a subdirectory and for absolute paths
    inside = check(project / "legacy", "pointer.h5", "../models/pointer.h5")
    assert inside.stdout.count("  KC101 error") == 1 and "models/pointer.h5  [lfs-pointer]\n  KC101" in inside.stdout, inside.stdout
    absolute = check(project / "models", str(project / "legacy" / "pointer.h5"))
    assert "KC101" not in codes(absolute), absolute.stdout


def test_severity_overrides_by_code_and_by_name(project):
    (project / ".kcompat.toml").write_text('ignore = ["KC101"]\n[severity]\nKC107 = "warning"\narchitecture-only = "error"\n')
    proc = run_cli("check", "models", "--no-env", "--json", "out.json", cwd=project)
    data = json.loads((project / "out.json").read_text())
    severities = {f["code"]: f["severity"] for a in data["artifacts"] for f in a["findings"]}
    assert severities == {"KC107": "warning", "KC118": "error"}, severities
    assert proc.returncode == 1
    (project / ".kcompat.toml").write_text('ignore = ["KC101"]\n[severity]\nKC107 = "warning"\n')
    assert check(project, "models").returncode == 0


def test_outputs_and_baseline_paths_in_the_file_are_relative_to_it(project):
    (project / ".kcompat.toml").write_text('outputs = ["sarif=reports/k.sarif", "github=-"]\nignore = ["KC118"]\n')
    deep = project / "models"
    proc = run_cli("check", ".", "--no-env", cwd=deep)
    assert (project / "reports" / "k.sarif").is_file()
    assert not (deep / "reports").exists()
    assert "::error file=" in proc.stdout and "title=KC101 lfs-pointer::" in proc.stdout, proc.stdout


def test_check_flags_are_all_accepted_by_config(project):
    proc = run_cli("config", "--select", "KC1", "--load", "--python", "/usr/bin/python3", "-o", "json=x.json",
                   "--custom-objects", "mypkg.layers", cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert 'select = ["KC1"]  # command line' in proc.stdout
    assert '"enabled": true' in proc.stdout and "load = " in proc.stdout
    assert 'custom-objects = ["mypkg.layers"]  # command line' in proc.stdout


def test_a_relative_python_path_is_made_absolute_and_a_bare_name_is_kept(tmp_path, monkeypatch):
    # The guarded load and kcompat fix's proof run the interpreter from their own work folder.
    from kcompat.config import RunConfig

    monkeypatch.chdir(tmp_path)
    assert RunConfig(python="venv/bin/python").python == str(tmp_path / "venv" / "bin" / "python")
    assert RunConfig(python="python3").python == "python3"
    assert RunConfig().python is None
