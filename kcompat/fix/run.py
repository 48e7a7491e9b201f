"""`kcompat fix` end to end: repair each artifact statically, prove the copies by a guarded load in one
batch, keep the proven ones. The exit code is 0 only when every repaired copy is proven."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from kcompat.config import RunConfig
from kcompat.fix.repair import CONVERT_SUFFIX, Repair, cleanup, default_output, place, plan
from kcompat.model import Format, FixResult
from kcompat.sources import as_path, downloaded, is_remote

KERAS2 = (1, 2)


def _loaders(repair: Repair) -> tuple[str, list[str], str, str]:
    """(original format, the loaders that may load the original, the copy's format, the copy's loader)."""
    artifact = repair.artifact
    fmt = artifact.format.value
    if artifact.format is Format.json_config:
        return fmt, ["config+weights"], fmt, "config+weights"
    original = ["tf_keras", "keras-nocompile"] if artifact.keras_major in KERAS2 else ["keras-nocompile", "tf_keras"]
    copy_fmt = fmt if repair.staged is None or repair.staged.suffix != ".h5" else Format.hdf5_model.value
    return fmt, original, copy_fmt, repair.copy_loader or ("keras" if repair.training_kept else "keras-nocompile")


def proof_item(repair: Repair, convert_to: Path | None) -> dict:
    original_fmt, original_loaders, copy_fmt, copy_loader = _loaders(repair)
    copy = repair.staged or Path(repair.result.path)
    return {"original": str(Path(repair.result.path).resolve()), "original_fmt": original_fmt,
            "original_loaders": original_loaders, "copy": str(copy.resolve()), "copy_fmt": copy_fmt,
            "copy_loader": copy_loader, "convert_to": str(convert_to) if convert_to else None,
            "moved_weights": [list(m) for m in repair.weight_moves] if _only_moves(repair) else []}


def _only_moves(repair: Repair) -> bool:
    """The copy differs from the original in where its weights sit and nothing else."""
    return bool(repair.weight_moves) and all(c["code"] == "KC212" for c in repair.result.changes)


def _target(repair: Repair, output: str | None, many: bool, convert: str | None) -> Path:
    """-o FILE for one input; -o DIR (or several inputs): the default names in DIR; none: beside the input."""
    default = default_output(repair.result.path, repair, convert)
    if output is None:
        return default
    if many or Path(output).is_dir():
        return Path(output) / default.name
    return Path(output)


def fix_paths(paths: list[str], config: RunConfig, env, output: str | None = None, dry_run: bool = False,
              convert: str | None = None, keep_unproven: bool = False, timeout_s: float = 120) -> list[FixResult]:
    """Repair each path; the copies go to ``output`` (a file for one path, else a folder) or beside the inputs.

    A remote input (``s3://``, ``https://``, ``models:/``...) is repaired from a whole copy in a private
    temporary folder; its repaired copy goes to ``output``, or to the working directory.
    """
    if not any(is_remote(p) for p in paths):
        return fix_local(paths, config, env, output, dry_run, convert, keep_unproven, timeout_s)
    with ExitStack() as stack:
        local = [str(stack.enter_context(downloaded(as_path(p)))) if is_remote(p) else p for p in paths]
        if output is None and len(paths) > 1:
            output = "."
        elif output is None:
            output = "." if is_remote(paths[0]) else None
        results = fix_local(local, config, env, output, dry_run, convert, keep_unproven, timeout_s)
    for url, copy, result in zip(paths, local, results):
        result.path = url if copy != url else result.path
    return results


def fix_local(paths: list[str], config: RunConfig, env, output: str | None, dry_run: bool, convert: str | None,
              keep_unproven: bool, timeout_s: float) -> list[FixResult]:
    repairs = [plan(p, config, env, convert) for p in paths]
    try:
        pending = [r for r in repairs if r.result.status == "fixed"]
        if dry_run or not pending:
            return [r.result for r in repairs]
        targets = {id(r): _target(r, output, len(paths) > 1, convert) for r in pending}
        taken: set[Path] = set()
        for r in pending:  # two inputs of one name from two folders, into one folder
            if targets[id(r)] in taken:
                targets[id(r)] = targets[id(r)].with_name(f"{Path(r.result.path).parent.name}__{targets[id(r)].name}")
            taken.add(targets[id(r)])
        for r in pending:
            if convert:
                r.converted = r.workdir / f"converted{CONVERT_SUFFIX[convert]}"
        items = [proof_item(r, r.converted) for r in pending]
        from kcompat.load.prove import prove_batch

        proofs = prove_batch(items, python=config.python, timeout_s=timeout_s, custom_objects=config.custom_objects)
        for r, proof in zip(pending, proofs):
            r.result.proof = proof
            r.result.status = proof["status"] if proof["status"] != "original-fails" else "unproven"
            if r.converted is not None and r.converted.exists():
                r.staged = r.converted
            if r.result.status == "proven" or keep_unproven:
                place(r, targets[id(r)])
        return [r.result for r in repairs]
    finally:
        for r in repairs:
            cleanup(r)
