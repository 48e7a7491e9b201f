"""Repair one artifact statically: run the rules, apply the fixers of the errors they find in the order
a load meets them, write a copy, check the copy, and repeat while a pass still changes something
(a rewrite can let the next problem show: a Keras 2 JSON config given modules is then read the
Keras 3 way, so its batch_input_shape becomes KC302's).
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from kcompat.catalog import load_catalog
from kcompat.checks import _resolve as R
from kcompat.config import RunConfig
from kcompat.fix.copy import EDITABLE, CopyError, read_parts, write_copy
from kcompat.model import Artifact, ArtifactReport, Finding, FixResult, Format, Severity
from kcompat.pipeline.runner import check_paths

PASSES = 4
# Findings no rewrite of the configs can answer, with the reason `fix` gives.
BLOCKERS = {
    "KC100": "the path does not exist",
    "KC101": "a git-LFS pointer, not the model: fetch the real file (git lfs pull) and fix that",
    "KC102": "the HDF5 file is corrupt: there is nothing sound to rewrite",
    "KC103": "the zip is corrupt: there is nothing sound to rewrite",
    "KC104": "a member the loader needs is missing from the archive",
    "KC110": "the SavedModel proto is corrupt",
    "KC112": "not a model file kcompat recognises",
    "KC113": "the file cannot be read",
    "KC115": "the model config cannot be parsed",
    "KC117": "kcompat could not read the file within its budget",
    "KC206": "a Lambda whose bytecode another Python wrote: it cannot be rewritten without running it; "
             "rebuild the Lambda in code and load the weights",
    "KC701": "a Lambda layer: it loads only with safe_mode=False, which kcompat fix never turns on",
    "KC301": "a custom object the target cannot import: pass --custom-objects MODULE (or register the class)",
}
CONVERT_SUFFIX = {"keras": ".keras", "h5": ".h5"}


@dataclass
class Repair:
    """One artifact's repair in progress: the result, and where its copy waits to be proven."""

    result: FixResult
    artifact: Artifact | None = None
    staged: Path | None = None  # the statically repaired copy (temporary)
    training_kept: bool = False
    workdir: Path | None = None
    converted: Path | None = None  # --format: where the target's Keras saves the migrated copy
    weight_moves: list[tuple[str, str]] = field(default_factory=list)  # the .keras weights groups the copy moved
    copy_loader: str | None = None  # the loader that proves the copy, where the target's is not the default
    refusals: dict[str, list[str]] = field(default_factory=dict)


def errors(entry: ArtifactReport) -> list[Finding]:
    return [f for f in entry.findings if f.severity is Severity.error]


def _check(path: Path | str, config: RunConfig, env) -> ArtifactReport:
    return check_paths([str(path)], config, env=env).artifacts[0]


def _reason(code: str, refusals: dict[str, list[str]]) -> str:
    if refusals.get(code):
        return "; ".join(refusals[code])
    if code in BLOCKERS:
        return BLOCKERS[code]
    rule = load_catalog().get(code)
    return f"no fixer for {code} {rule.name if rule else ''}".strip()


def plan(path: str, config: RunConfig, env, convert: str | None = None) -> Repair:
    """Check ``path`` and repair a temporary copy; nothing is written where the user will look."""
    entry = _check(path, config, env)
    artifact = entry.artifact
    found = errors(entry)
    repair = Repair(FixResult(path=path, status="nothing-to-fix"), artifact=artifact)
    wants_convert = convert is not None and artifact.format in EDITABLE[:2] and \
        CONVERT_SUFFIX[convert] != {Format.hdf5_model: ".h5", Format.keras_zip: ".keras"}[artifact.format]
    if not found and not wants_convert:
        return repair
    catalog = load_catalog()
    fixable = [f for f in found if catalog[f.code].fixer]
    if found and (not fixable or artifact.format not in EDITABLE):
        repair.result.status = "not-fixed"
        why = None if artifact.format in EDITABLE else f"kcompat fix does not rewrite {artifact.format.value} artifacts"
        repair.result.not_fixed = [{"code": f.code, "reason": BLOCKERS.get(f.code) or why or _reason(f.code, {})}
                                   for f in _unique(found)]
        return repair
    repair.workdir = Path(tempfile.mkdtemp(prefix="kcompat-fix-"))
    current, current_path = entry, Path(path)
    try:
        for n in range(PASSES):
            rewrite = read_parts(current.artifact)
            before = len(repair.result.changes)
            for code in dict.fromkeys(f.code for f in errors(current)):
                fixer = catalog[code].fixer_function()
                if fixer is None:
                    continue
                start = (len(rewrite.changes), len(rewrite.refusals))
                fixer(rewrite, current.artifact, env, [f for f in current.findings if f.code == code])
                repair.result.changes += [{"code": code, "change": c} for c in rewrite.changes[start[0]:]]
                repair.refusals.setdefault(code, []).extend(rewrite.refusals[start[1]:])
            if len(repair.result.changes) == before:
                break
            suffix = rewrite.suffix or current_path.suffix
            staged = repair.workdir / f"pass{n}{suffix}"
            write_copy(current.artifact, rewrite, staged)
            current, current_path = _check(staged, config, env), staged
            repair.staged = staged
            repair.weight_moves += rewrite.weight_moves
            compiles = isinstance(rewrite.model, dict) and bool(rewrite.model.get("compile_config"))  # a .keras
            repair.training_kept = (rewrite.training is not None and not rewrite.drop_training) or compiles
    except CopyError as exc:
        repair.result.status = "error"
        repair.result.not_fixed = [{"code": "", "reason": str(exc)}]
        return repair
    if repair.staged is None and not wants_convert:
        repair.result.status = "not-fixed"
        repair.result.not_fixed = [{"code": f.code, "reason": _reason(f.code, repair.refusals)} for f in _unique(found)]
        return repair
    if repair.staged is None:
        repair.training_kept = artifact.training is not None
    if repair.weight_moves and R.keras_major(env) == 2:
        repair.copy_loader = "tf_keras"  # a Keras 2 target: its copy is proven by the Keras 2 the prover has
    left = errors(current)
    repair.result.remaining = list(dict.fromkeys(f.code for f in left))
    repair.result.not_fixed = [{"code": f.code, "reason": _reason(f.code, repair.refusals)} for f in _unique(left)]
    repair.result.status = "still-fails" if left else "fixed"
    return repair


def _unique(findings: list[Finding]) -> list[Finding]:
    return list({f.code: f for f in reversed(findings)}.values())[::-1]


def default_output(path: str, repair: Repair, convert: str | None) -> Path:
    source = Path(path)
    suffix = CONVERT_SUFFIX[convert] if convert else (repair.staged.suffix if repair.staged else source.suffix)
    stem = source.name[: -len(source.suffix)] if source.suffix else source.name
    return source.with_name(f"{stem}.fixed{suffix}")


def place(repair: Repair, output: Path) -> None:
    """Move the staged copy to ``output`` (the proof has passed, or --keep-unproven)."""
    if repair.staged is not None and repair.staged.exists():
        output.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(repair.staged), output)
        repair.result.kept = True
        repair.result.output = str(output)


def cleanup(repair: Repair) -> None:
    if repair.workdir is not None:
        shutil.rmtree(repair.workdir, ignore_errors=True)
