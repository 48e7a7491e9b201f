"""Render the sample HTML report of real fixtures and screenshot it with headless Chromium.

    python3 docs/sample_report.py                       # static checks only (seconds)
    python3 docs/sample_report.py --load --python .venv/bin/python   # plus real guarded loads (minutes)

Writes reports/sample-report.html and reports/sample-report.png (see reports/README.md).
With --load, the guarded load runs on the artifacts marked LOAD below in the given
interpreter (which needs TensorFlow/Keras), and its environment is probed, so the page
shows a real loader x strategy matrix and a real environment. Without it, those parts are
absent. Artifacts missing from fixtures/ are skipped with a note on stderr.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from kcompat.config import RunConfig  # noqa: E402
from kcompat.report import write  # noqa: E402
from kcompat.pipeline.runner import check_paths  # noqa: E402

# (fixture path, run the guarded load on it with --load)
SAMPLE = [
    ("fixtures/keras3.15-tf2.21/custom_unregistered.keras", True),
    ("fixtures/keras3.15-tf2.21/seq_compiled.keras", True),
    ("fixtures/derived/lfs_pointer/model.h5", False),
    ("fixtures/keras3.15-tf2.21/seq_compiled_export", False),
    ("fixtures/keras3.15-tf2.21/seq_compiled.weights.h5", False),
    ("fixtures/derived/truncated_half.h5", False),
    ("fixtures/tf2.12/seq_compiled.h5", False),
]
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--hide-scrollbars"]


def attach_loads(report, python: str) -> None:
    from kcompat.load import run_matrix

    wanted = {p for p, load in SAMPLE if load}
    for entry in report.artifacts:
        if entry.artifact.path in wanted:
            print(f"loading {entry.artifact.path} ...", file=sys.stderr)
            for attempt in (1, 2):
                try:
                    matrix = run_matrix(str(REPO / entry.artifact.path), entry.artifact.format.value, python=python)
                except Exception as exc:  # the guarded load is still moving; keep the page renderable
                    print(f"  attempt {attempt}: guarded load failed: {type(exc).__name__}: {exc}", file=sys.stderr)
                    continue
                entry.loads = [a.model_dump(mode="json") for a in matrix.attempts]
                break


def screenshot(page: Path, png: Path, width: int, height: int) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if not chromium:
        sys.exit("chromium is not installed (apt-get install -y chromium)")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
                        f"--screenshot={png}", page.as_uri()], check=True, capture_output=True, timeout=120)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--load", action="store_true", help="run the guarded load on a few artifacts (minutes)")
    parser.add_argument("--python", default=None, help="interpreter with TensorFlow/Keras for --load")
    parser.add_argument("--out", default=str(REPO / "reports"), help="output folder")
    parser.add_argument("--height", type=int, default=3000, help="screenshot height in pixels")
    args = parser.parse_args()

    # absolute, not resolved: a venv's python is a symlink to the base interpreter
    python = str(Path(args.python).absolute()) if args.python else sys.executable
    out = Path(args.out).absolute()
    os.chdir(REPO)  # relative paths, as a user running from the repository root would see them
    paths = []
    for rel, _ in SAMPLE:
        if Path(rel).exists():
            paths.append(rel)
        else:
            print(f"skipping missing fixture {rel}", file=sys.stderr)
    env = env_info = None
    if args.load:
        from kcompat.cli.common import environment

        env, env_info = environment(RunConfig(python=python))  # what `kcompat check` puts in the report
    report = check_paths(paths, RunConfig(), env=env, env_info=env_info)
    if args.load:
        attach_loads(report, python)
    page = out / "sample-report.html"
    write("html", report, page)
    screenshot(page.resolve(), (out / "sample-report.png").resolve(), 1280, args.height)
    print(f"wrote {page} and {out / 'sample-report.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
