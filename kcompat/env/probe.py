"""Run the probe (the folder ``probe_script/``, by path) in a target interpreter and read back its snapshot.

This module never imports TensorFlow or Keras; only the child process does.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from kcompat.env.model import Environment

PROBE_SCRIPT = Path(__file__).with_name("probe_script")  # a folder: Python runs its __main__.py


class EnvironmentProbeError(RuntimeError):
    """The probe could not run or did not produce a snapshot."""

    def __init__(self, message: str, stderr: str = "") -> None:
        self.stderr_tail = _tail(stderr)
        full = message if not self.stderr_tail else f"{message}\n--- stderr (tail) ---\n{self.stderr_tail}"
        super().__init__(full)
        self.message = message


def _tail(text: str, lines: int = 20) -> str:
    text = (text or "").strip()
    return "\n".join(text.splitlines()[-lines:])


def resolve_python(python: str | None) -> str:
    """Absolute path of the interpreter to probe (not symlink-resolved: venvs are symlinks)."""
    if not python:
        return sys.executable
    candidate = os.path.expanduser(python)
    if os.sep in candidate or (os.altsep and os.altsep in candidate):
        path = os.path.abspath(candidate)
        if not os.path.exists(path):
            raise EnvironmentProbeError(f"Python interpreter not found: {python}")
        if os.path.isdir(path):
            for sub in ("bin/python", "bin/python3", "Scripts/python.exe"):
                inner = os.path.join(path, sub)
                if os.path.exists(inner):
                    return inner
            raise EnvironmentProbeError(f"{python} is a folder with no bin/python in it")
        if not os.access(path, os.X_OK):
            raise EnvironmentProbeError(f"Python interpreter is not executable: {python}")
        return path
    found = shutil.which(candidate)
    if not found:
        raise EnvironmentProbeError(f"Python interpreter not found on PATH: {python}")
    return os.path.abspath(found)


def child_env(hide_devices: bool = False) -> dict[str, str]:
    import tempfile  # here and in run_probe: a check that finds its snapshot cached runs no probe

    env = dict(os.environ)
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env.setdefault("PYTHONUNBUFFERED", "1")
    # Keep the user's kcompat checkout off the child's path only if it would shadow
    # nothing: we leave PYTHONPATH as the user set it (it is part of their environment).
    if hide_devices:
        env["CUDA_VISIBLE_DEVICES"] = ""
    keras_home = env.get("KERAS_HOME")
    if not keras_home:
        home = os.path.expanduser("~")
        base = home if os.access(home, os.W_OK) else "/tmp"
        config = os.path.join(base, ".keras", "keras.json")
        if not os.path.exists(config):
            # Keras 3 writes a default keras.json on import; do not litter the
            # user's home with one. Defaults apply either way.
            env["KERAS_HOME"] = tempfile.mkdtemp(prefix="kcompat-keras-home-")
    return env


def run_probe(
    python: str,
    custom_objects: Sequence[str] = (),
    *,
    timeout: float = 300,
    hide_devices: bool = False,
) -> Environment:
    """Probe ``python`` in a subprocess and return the parsed snapshot."""
    import subprocess
    import tempfile

    env = child_env(hide_devices)
    made_home = env.get("KERAS_HOME") if env.get("KERAS_HOME") != os.environ.get("KERAS_HOME") else None
    with tempfile.TemporaryDirectory(prefix="kcompat-probe-") as tmp:
        out = os.path.join(tmp, "env.json")
        cmd = [python, str(PROBE_SCRIPT), out]
        for mod in custom_objects:
            cmd += ["--custom-objects", mod]
        try:
            proc = subprocess.run(
                cmd,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=timeout,
            )
        except FileNotFoundError as exc:
            raise EnvironmentProbeError(f"Python interpreter not found: {python}") from exc
        except PermissionError as exc:
            raise EnvironmentProbeError(f"Python interpreter is not executable: {python}") from exc
        except subprocess.TimeoutExpired as exc:
            stderr = exc.stderr.decode("utf-8", "replace") if isinstance(exc.stderr, bytes) else (exc.stderr or "")
            raise EnvironmentProbeError(f"environment probe timed out after {timeout:g}s in {python}", stderr) from exc
        except OSError as exc:
            raise EnvironmentProbeError(f"could not run {python}: {exc}") from exc
        finally:
            if made_home:
                shutil.rmtree(made_home, ignore_errors=True)
        if proc.returncode != 0 or not os.path.exists(out):
            raise EnvironmentProbeError(
                f"environment probe failed in {python} (exit status {proc.returncode})",
                proc.stderr,
            )
        try:
            with open(out, encoding="utf-8") as fh:
                data = json.load(fh)
            return Environment.model_validate(data)
        except (OSError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
            raise EnvironmentProbeError(f"environment probe in {python} wrote an unreadable snapshot: {exc}", proc.stderr) from exc
