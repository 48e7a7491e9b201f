"""`kcompat fix PATH...`: repair a copy of each broken model, then prove the copy by a guarded load.

Exit 0 when there was nothing to fix or every repaired copy is proven (with --dry-run: every
artifact can be repaired statically), 1 otherwise, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from kcompat.cli.common import UsageError, environment
from kcompat.config import RunConfig, settings
from kcompat.model import FIX_STATUS_WORDS


def add_fix_parser(sub) -> None:
    p = sub.add_parser("fix", help="repair a copy of a broken model and prove it by a guarded load")
    p.add_argument("paths", nargs="+", metavar="PATH", help=".h5 models, .keras files or model JSON configs")
    p.add_argument("-o", "--output", metavar="PATH", help="where the copy goes: a file (one PATH) or a folder "
                                                          "(default: NAME.fixed.EXT beside the input)")
    p.add_argument("--dry-run", action="store_true", help="say what would change; write nothing, load nothing")
    p.add_argument("--format", choices=["keras", "h5"], help="also migrate: save the repaired model in this "
                                                             "format with the target's Keras")
    p.add_argument("--keep-unproven", action="store_true", help="keep a copy whose proof failed")
    p.add_argument("--select", action="append", default=[], metavar="CODE", help="only these rules' findings")
    p.add_argument("--ignore", action="append", default=[], metavar="CODE", help="leave these rules' findings")
    p.add_argument("--python", metavar="PATH", help="the target interpreter (its Keras judges and proves the copy)")
    p.add_argument("--custom-objects", action="append", default=[], metavar="MODULE",
                   help="import MODULE in the probe and the proof so its registered classes resolve")
    p.add_argument("--timeout", type=float, default=120, metavar="S", help="per-model proof timeout (default 120)")
    p.add_argument("--json", metavar="FILE", help="write the JSON report: each artifact's findings, and under "
                                                  "`fixes` the changes made and the proof")
    p.add_argument("--html", metavar="FILE", help="write the HTML report, with each fix's config diff and proof")


def write_reports(args: argparse.Namespace, config: RunConfig, env, info: dict, results) -> None:
    """The check report of the inputs, with each one's fix attached: one Report for JSON and HTML alike."""
    from kcompat.pipeline.runner import check_paths
    from kcompat.report import write

    report = check_paths(list(args.paths), config, env=env, env_info=info)
    by_path = {r.path: r for r in results}
    for entry in report.artifacts:
        fix = by_path.get(entry.artifact.path)
        if fix is not None:
            entry.fixes = [fix]
    report.exit_code = 0 if all(r.status in ("nothing-to-fix", "proven", "fixed") for r in results) else 1
    for fmt, path in (("json", args.json), ("html", args.html)):
        if path:
            write(fmt, report, Path(path))


def run_fix(args: argparse.Namespace) -> int:
    from kcompat.fix.run import fix_paths

    if args.output and len(args.paths) > 1 and Path(args.output).exists() and not Path(args.output).is_dir():
        raise UsageError("-o must be a folder when fixing several paths")
    config = RunConfig(select=settings.split(args.select), ignore=settings.split(args.ignore), python=args.python,
                       custom_objects=args.custom_objects, jobs=1)
    env, info = environment(config)
    if env is None:
        raise UsageError(f"no environment to fix against: {info.get('error')}")
    results = fix_paths(args.paths, config, env, output=args.output, dry_run=args.dry_run, convert=args.format,
                        keep_unproven=args.keep_unproven, timeout_s=args.timeout)
    for result in results:
        print(f"{result.path}: {FIX_STATUS_WORDS.get(result.status, result.status)}"
              + (f" -> {result.output}" if result.output else ""))
        for change in result.changes:
            print(f"  {change['code']} {change['change']}")
        for item in result.not_fixed:
            print(f"  not fixed: {item['code']} {item['reason']}".replace("  not fixed:  ", "  not fixed: "))
        proof = result.proof or {}
        if proof:
            shown = {k: proof[k] for k in ("original_loader", "copy_loader", "max_abs_diff", "why", "proof_by")
                     if proof.get(k) is not None}
            if proof.get("proof_by") == "weights":
                shown["arrays_compared"] = proof["weights"]["compared"]
            print(f"  proof: {proof['status']} {json.dumps(shown)}")
            if proof.get("copy_error"):
                print(f"  the copy fails: {proof['copy_error']}")
    if args.json or args.html:
        write_reports(args, config, env, info, results)
    ok = {"nothing-to-fix", "fixed"} if args.dry_run else {"nothing-to-fix", "proven"}
    return 0 if all(r.status in ok for r in results) else 1
