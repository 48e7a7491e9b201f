"""`kcompat targets`: the recorded releases `--target` and `kcompat matrix` can judge against."""

from __future__ import annotations

import argparse
import json


def add_targets_parser(sub) -> None:
    p = sub.add_parser("targets", help="list the recorded releases for --target and kcompat matrix")
    p.add_argument("--json", action="store_true", help="print the list as JSON")


def run_targets(args: argparse.Namespace) -> int:
    from kcompat.releases.store import index

    data = index()
    if args.json:
        print(json.dumps({"base": data["base"], "releases": data["releases"], "failed": data["failed"],
                          "aliases": data["aliases"]}, indent=1))
        return 0
    print(f"{len(data['releases'])} recorded releases (--target NAME, or a pin such as keras==3.9.2):")
    print(f"  {'release':<14} {'tensorflow':<11} {'keras':<8} {'tf_keras':<9} note")
    aliases = {v: k for k, v in data["aliases"].items()}
    for release in data["releases"]:
        v = release["versions"]
        notes = []
        if release["name"] == data["base"]:
            notes.append("latest (the reference stack)")
        if release.get("tf_use_legacy_keras"):
            notes.append("TF_USE_LEGACY_KERAS=1")
        if release["name"] in aliases:
            notes.append(f"was profile {aliases[release['name']]}")
        print(f"  {release['name']:<14} {v.get('tensorflow') or '-':<11} {v.get('keras') or '-':<8} "
              f"{v.get('tf_keras') or '-':<9} {'; '.join(notes)}".rstrip())
    for failed in data["failed"]:
        print(f"  not recorded: {failed['name']} ({' '.join(failed['pins'])}): {failed['reason']}")
    if not data["failed"]:
        print("every release line in tools/build_releases.py installed and was recorded")
    return 0
