"""One fuzz round: build a corpus, run one real `kcompat check` over it, and judge the run.

The check runs in a subprocess under ``strace -f`` (every process it starts included), which
records each file it opens; without strace, an audit hook in the kcompat process records the
same for that process alone. The judgement (``Outcome``) counts what must stay at zero: hangs,
crashes, tracebacks, internal errors, top-level entries missing from the report, inputs
modified, and files opened outside the corpus (the bait folder that hostile entries point at).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from kcompat.model import safe_text
from tests.fuzz.corpus import ROOT, build_mutants
from tests.fuzz.hostile import build_hostile

RUN_TIMEOUT_S = 900
AUDIT_WRAPPER = r"""
import sys
log = open(sys.argv[1], "w", encoding="utf-8", errors="backslashreplace")
def hook(event, args):
    if event == "open" and isinstance(args[0], (str, bytes)):
        log.write("open " + repr(args[0]) + "\n")
sys.addaudithook(hook)
from kcompat.cli import main
code = main(sys.argv[2:])
log.flush()
sys.exit(code)
"""
OPENED = re.compile(r'open(?:at2?)?\((?:[^,]*, )?"((?:[^"\\]|\\.)*)".*\) = \d+')


@dataclass
class Outcome:
    mutants: int
    hostile: int
    entries: int
    exit_code: int
    wall_s: float
    tracer: str
    hangs: list[str] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)
    tracebacks: int = 0
    internal_errors: int = 0
    missing: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)
    outside_reads: list[str] = field(default_factory=list)
    reader_errors: list[str] = field(default_factory=list)  # KC117 from a contained exception: a reader bug
    artifacts: int = 0
    skipped: int = 0

    def failures(self) -> dict[str, object]:
        """What must be zero, with the offenders."""
        found = {"hangs": self.hangs, "crashes": self.crashes, "tracebacks": self.tracebacks,
                 "internal errors": self.internal_errors, "missing entries": self.missing,
                 "modified inputs": self.modified, "reads outside": self.outside_reads}
        return {k: v for k, v in found.items() if v}

    def figures(self) -> str:
        return (f"{self.mutants} mutants + {self.hostile} hostile = {self.entries} entries "
                f"({self.artifacts} artifacts, {self.skipped} skipped) in {self.wall_s:.1f} s, exit {self.exit_code}, "
                f"traced by {self.tracer}: {len(self.hangs)} hangs, {len(self.crashes)} crashes, "
                f"{self.tracebacks} tracebacks, {self.internal_errors} internal errors, "
                f"{len(self.missing)} missing entries, {len(self.modified)} inputs modified, "
                f"{len(self.outside_reads)} reads outside; {len(self.reader_errors)} KC117 reader errors")


def digest(root: Path) -> dict[bytes, str]:
    """Every entry under ``root`` by type and content, without following links or opening special files."""
    out: dict[bytes, str] = {}
    for dirpath, dirnames, filenames in os.walk(os.fsencode(root)):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            if os.path.islink(path):
                out[path] = "link:" + os.fsdecode(os.readlink(path))
            elif os.path.isdir(path):
                out[path] = "dir"
            elif os.path.isfile(path):
                with open(path, "rb") as fh:
                    out[path] = hashlib.sha256(fh.read()).hexdigest() + f":{st.st_mode:o}"
            else:
                out[path] = f"special:{st.st_mode:o}"
    return out


def tracer_command(trace: Path) -> tuple[list[str], str]:
    strace = shutil.which("strace")
    if strace and subprocess.run([strace, "-f", "--seccomp-bpf", "-o", os.devnull, "true"],
                                 capture_output=True).returncode == 0:
        return [strace, "-f", "--seccomp-bpf", "-e", "trace=open,openat,openat2", "-o", str(trace)], "strace"
    return [], "audit hook"


def opened_paths(trace: Path, tracer: str) -> list[str]:
    if not trace.exists():
        return []
    text = trace.read_text("utf-8", "backslashreplace")
    if tracer == "strace":
        return OPENED.findall(text)
    return [line[5:] for line in text.splitlines() if line.startswith("open ")]


def covered(entry: str, reported: set[str], prefixes: list[str]) -> bool:
    """A top-level entry is in the report as an artifact, a skipped entry, a folder holding some,
    or a file of a checkpoint reported by its prefix."""
    return (entry in reported or any(r.startswith(entry + "/") for r in reported)
            or any(entry.startswith(p + ".") for p in prefixes))


def run_round(root: Path, mutants: int, seed: int, start: int = 0, hostile: bool = True,
              artifact_timeout: float = 30, run_timeout: float = RUN_TIMEOUT_S) -> Outcome:
    """Build the corpus under ``root`` (corpus/ and bait/), check it, and judge the run."""
    root = root.resolve()
    corpus, bait = root / "corpus", root / "bait"
    corpus.mkdir(parents=True, exist_ok=True)
    bait.mkdir(exist_ok=True)
    build_mutants(corpus, mutants, seed, start)
    n_hostile = len(build_hostile(corpus, bait)) if hostile else 0
    before = digest(root)
    report, trace = root / "report.json", root / "trace.txt"
    prefix, tracer = tracer_command(trace)
    check = ["check", str(corpus), "--no-env", "--json", str(report), "-q", "--isolated",
             "--artifact-timeout", str(artifact_timeout)]
    if prefix:
        command = prefix + [sys.executable, "-m", "kcompat", *check]
    else:
        command = [sys.executable, "-c", AUDIT_WRAPPER, str(trace), *check]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "ignore"}
    started = time.monotonic()
    hangs: list[str] = []
    try:
        proc = subprocess.run(command, capture_output=True, text=True, errors="backslashreplace",
                              cwd=root, env=env, timeout=run_timeout)
        code, output = proc.returncode, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as exc:
        code, output = -9, str(exc.stdout or "") + str(exc.stderr or "")
        hangs.append(f"the whole run, past {run_timeout:g} s")
    wall = time.monotonic() - started
    data = json.loads(report.read_text("utf-8")) if report.exists() else {"artifacts": [], "skipped": []}
    entries = sorted(os.listdir(os.fsencode(corpus)))
    outcome = Outcome(mutants=mutants, hostile=n_hostile, entries=len(entries), exit_code=code, wall_s=wall,
                      tracer=tracer, artifacts=len(data["artifacts"]), skipped=len(data["skipped"]))
    outcome.hangs = hangs
    if code not in (0, 1, 2) or not report.exists():
        outcome.crashes.append(f"exit {code}, report {'written' if report.exists() else 'missing'}: {output[-2000:]}")
    outcome.tracebacks = output.count("Traceback (most recent call last)")
    outcome.internal_errors = output.count("internal error") + (code == 2)
    for entry in data["artifacts"]:
        for finding in entry["findings"]:
            if finding["code"] == "KC117":
                where = f"{entry['artifact']['path']}: {finding['message']}"
                (outcome.hangs if "gave up after" in finding["message"] else outcome.reader_errors).append(where)
    reported = {a["artifact"]["path"] for a in data["artifacts"]} | {s["path"] for s in data["skipped"]}
    prefixes = [a["artifact"]["path"] for a in data["artifacts"] if a["artifact"]["format"] == "tf-checkpoint"]
    for name in entries:
        shown = safe_text(os.fsdecode(os.path.join(os.fsencode(corpus), name)))
        if not covered(shown, reported, prefixes):
            outcome.missing.append(shown)
    after = digest(root)
    for path in sorted(set(before) | set(after)):
        if before.get(path) != after.get(path) and not path.startswith(os.fsencode(str(report))) \
                and not path.startswith(os.fsencode(str(trace))):
            outcome.modified.append(os.fsdecode(path))
    outcome.outside_reads = sorted({p for p in opened_paths(trace, tracer) if p.startswith(str(bait))})
    return outcome
