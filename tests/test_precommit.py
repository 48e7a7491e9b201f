"""The real pre-commit runs the `kcompat` hook from .pre-commit-hooks.yaml in its own isolated venv.

The hook repository is a snapshot of this working tree (the files a wheel needs plus the hooks
file) committed to a temporary git repository, referenced by `repo:`/`rev:` exactly as a user's
.pre-commit-config.yaml would. pre-commit pip-installs it into a fresh venv (network to PyPI),
so the test is marked slow; PRE_COMMIT_HOME is shared across the session so the venv is built once.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytest.importorskip("pre_commit", reason="pip install pre-commit (it is in the test extra)")

ROOT = Path(__file__).resolve().parents[1]
HEALTHY = ROOT / "fixtures" / "tf2.15" / "seq_uncompiled.h5"  # a real Keras 2.15 model; manifest expects no findings
POINTER = (
    "version https://git-lfs.github.com/spec/v1\n"
    "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
    "size 20480\n"
)
SNAPSHOT = ("pyproject.toml", "README.md", "LICENSE", ".pre-commit-hooks.yaml", "kcompat", "rules")
GIT_ENV = {"GIT_AUTHOR_NAME": "kcompat tests", "GIT_AUTHOR_EMAIL": "tests@example.invalid",
           "GIT_COMMITTER_NAME": "kcompat tests", "GIT_COMMITTER_EMAIL": "tests@example.invalid",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env={**os.environ, **GIT_ENV})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def ignore_build_outputs(folder: str, names: list[str]) -> set[str]:
    return {n for n in names if n in ("__pycache__", ".pytest_cache") or n.endswith(".pyc")}


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory) -> tuple[Path, str]:
    """This working tree's package and hooks file, committed, as a hook repository."""
    repo = tmp_path_factory.mktemp("hook-repo")
    for name in SNAPSHOT:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, repo / name, ignore=ignore_build_outputs)
        elif src.is_file():
            shutil.copy2(src, repo / name)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "snapshot")
    return repo, git(repo, "rev-parse", "HEAD")


def pre_commit(project: Path, home: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **GIT_ENV, "PRE_COMMIT_HOME": str(home), "NO_COLOR": "1", "PRE_COMMIT_COLOR": "never"}
    env.pop("PYTHONPATH", None)  # the hook must run what pre-commit installed, not this checkout
    return subprocess.run([sys.executable, "-m", "pre_commit", *args], cwd=project, capture_output=True,
                          text=True, env=env, timeout=900)


@pytest.mark.slow
def test_hook_fails_on_an_lfs_pointer_and_passes_on_a_healthy_model(tmp_path, hook_repo, pre_commit_home):
    repo, rev = hook_repo
    project = tmp_path / "project"
    project.mkdir()
    git(project, "init", "-q", "-b", "main")
    config = {"repos": [{"repo": repo.as_uri(), "rev": rev, "hooks": [{"id": "kcompat"}]}]}
    (project / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
    (project / "model.h5").write_text(POINTER)
    git(project, "add", ".pre-commit-config.yaml", "model.h5")

    failing = pre_commit(project, pre_commit_home, "run")
    output = failing.stdout + failing.stderr
    assert failing.returncode == 1, output
    assert "KC101" in output and "lfs-pointer" in output, output
    assert "model.h5" in output, output

    shutil.copyfile(HEALTHY, project / "model.h5")
    git(project, "add", "model.h5")
    passing = pre_commit(project, pre_commit_home, "run")
    output = passing.stdout + passing.stderr
    assert passing.returncode == 0, output
    assert "Passed" in output, output


@pytest.mark.slow
def test_hook_maps_saved_model_files_to_their_directory_and_skips_env_rules(tmp_path, hook_repo, pre_commit_home):
    """pre-commit passes saved_model.pb and variables/variables.index: one SavedModel is checked,
    in a venv without TensorFlow, and no rule that needs TF reports a false error."""
    repo, rev = hook_repo
    project = tmp_path / "project"
    project.mkdir()
    git(project, "init", "-q", "-b", "main")
    config = {"repos": [{"repo": repo.as_uri(), "rev": rev,
                         "hooks": [{"id": "kcompat", "verbose": True}]}]}
    (project / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
    shutil.copytree(ROOT / "fixtures" / "tf2.15" / "seq_uncompiled_savedmodel", project / "exported")
    git(project, "add", "-A")

    result = pre_commit(project, pre_commit_home, "run")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "1 artifact(s)" in output, output  # saved_model.pb and variables.index are one artifact
    assert "KC108" not in output, output  # variables/variables.index is not checked as a bare checkpoint
    from kcompat.catalog import load_catalog

    if any(rule.needs_env for rule in load_catalog().values()):
        # Nothing installed in the hook's venv: the rules judge against the newest recorded release.
        assert "rule(s) skipped" not in output, output
        assert "target: recorded release" in output and "neither TensorFlow nor Keras" in output, output


def test_env_rules_judge_against_the_latest_release_where_no_tf_is_installed(tmp_path):
    """What the hook's isolated venv sees: the probe finds no TF/Keras, so the check runs against the
    newest recorded release (not skipped), names it in one line, and finds what --target latest finds."""
    import subprocess

    from kcompat.releases.store import index
    from tests.test_config import run_cli

    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    shutil.copyfile(HEALTHY, tmp_path / "model.h5")
    proc = run_cli("check", "model.h5", "--no-report", "--python", str(bare / "bin" / "python"), cwd=tmp_path)
    assert "rule(s) skipped" not in proc.stdout, proc.stdout
    lines = [line for line in proc.stdout.splitlines() if line.startswith("target: ")]
    assert len(lines) == 1, proc.stdout
    assert f"recorded release {index()['base']} " in lines[0]
    assert "neither TensorFlow nor Keras is installed in" in lines[0]
    explicit = run_cli("check", "model.h5", "--no-report", "--target", "latest", cwd=tmp_path)
    findings = [line for line in proc.stdout.splitlines() if line.startswith("  KC")]
    assert findings == [line for line in explicit.stdout.splitlines() if line.startswith("  KC")]
    assert proc.returncode == explicit.returncode
