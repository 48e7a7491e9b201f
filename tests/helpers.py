"""Shared test helpers: run the real CLI in a subprocess, and hash a tree to prove it is untouched."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "kcompat", *args], capture_output=True, text=True,
                          cwd=cwd, env=full_env, timeout=600)


def run_check_json(*paths: str, extra: tuple[str, ...] = (), cwd: Path | None = None) -> tuple[subprocess.CompletedProcess, dict]:
    out = Path(cwd or ROOT) / ".kcompat-test-report.json"
    proc = run_cli("check", *paths, "--json", str(out), *extra, cwd=cwd)
    data = json.loads(out.read_text()) if out.exists() else {}
    out.unlink(missing_ok=True)
    return proc, data


def tree_digest(root: Path) -> dict[str, str]:
    digest = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_socket():
            digest[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digest
