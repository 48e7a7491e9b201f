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


def windows_keras(src: Path, dst: Path) -> None:
    """``src`` (a tf.keras 2.13+ .keras) as tf.keras writes it on Windows: each 'layers/<name>' and
    'metrics/<name>' weight group is one name with a backslash, 'layers\\<name>' (os.path.join there).
    The real case: AllaudinAli/ECG-Signal-Classification cnn_model.keras, written by tf.keras 2.15."""
    import shutil
    import zipfile

    import h5py

    weights = dst.with_suffix(".weights.h5")
    with zipfile.ZipFile(src) as z:
        infos = z.infolist()
        members = {info.filename: z.read(info) for info in infos}
    weights.write_bytes(members["model.weights.h5"])
    with h5py.File(weights, "r+") as f:
        for root in [k for k in ("layers", "metrics") if k in f]:
            for child in list(f[root]):
                f.move(f"{root}/{child}", f"{root}\\{child}")
            del f[root]
    members["model.weights.h5"] = weights.read_bytes()
    weights.unlink()
    with zipfile.ZipFile(dst, "w") as out:
        for info in infos:
            out.writestr(info, members[info.filename], compress_type=info.compress_type)
    shutil.copystat(src, dst)
