"""Static analysis never imports TensorFlow or Keras: checked in the source and at run time."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT

FORBIDDEN = ("tensorflow", "keras", "tf_keras")
# Remote sources and fleet runs: imported only when a URL or --dask is given, never on the static path.
EXTRAS = ("fsspec", "s3fs", "gcsfs", "adlfs", "aiohttp", "botocore", "aiobotocore", "mlflow", "dask", "distributed")
EXTRAS_ALLOWED = ("kcompat/sources/", "kcompat/api/")
ALLOWED = ("kcompat/env/probe_script/",)  # the probe folder: runs only as a subprocess of the target interpreter


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in ("import_module", "__import__"):
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                names.add(node.args[0].value.split(".")[0])
    return names


def test_only_the_load_package_and_probe_script_name_tensorflow():
    offenders = {}
    for path in sorted((ROOT / "kcompat").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("kcompat/load/") or rel.startswith(ALLOWED):
            continue
        bad = imported_modules(path) & set(FORBIDDEN)
        if bad:
            offenders[rel] = sorted(bad)
    assert not offenders, f"TensorFlow/Keras imported outside kcompat/load and the probe: {offenders}"


def test_only_sources_and_api_name_the_remote_extras():
    offenders = {}
    for path in sorted((ROOT / "kcompat").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        bad = imported_modules(path) & set(EXTRAS)
        if bad and not rel.startswith(EXTRAS_ALLOWED):
            offenders[rel] = sorted(bad)
    assert not offenders, f"fsspec/mlflow/dask imported outside kcompat/sources and kcompat/api: {offenders}"
    assert imported_modules(ROOT / "kcompat" / "sources" / "remote.py") & set(EXTRAS), "the scanner sees an extra"


def test_the_boundary_test_sees_an_import():
    """Guard against a scanner that never finds anything."""
    sample = ROOT / "kcompat" / "env" / "probe_script" / "__main__.py"
    assert imported_modules(sample) & set(FORBIDDEN) or "import_module" in sample.read_text()


def test_check_on_every_fixture_leaves_tensorflow_unimported(tmp_path):
    targets = [str(p) for p in sorted((ROOT / "fixtures").iterdir()) if p.is_dir() and not p.name.startswith(("_", "."))]
    assert targets, "the fixture corpus is empty"
    script = (
        "import json, sys\n"
        "from kcompat.cli import main\n"
        f"code = main(['check', *{targets!r}, '--no-report', '-q'])\n"
        f"print(json.dumps({{'code': code, 'leaked': [m for m in {FORBIDDEN + EXTRAS!r} if m in sys.modules]}}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=600)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["code"] in (0, 1), proc.stderr
    assert result["leaked"] == []
