"""``kcompat env``: show, save or load the environment snapshot."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from kcompat.env import EnvironmentProbeError, ProfileError, get_environment, save_profile
from kcompat.env.cache import cache_dir, cache_path
from kcompat.env.model import Environment


def build_parser(prog: str = "kcompat env") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Probe (or load) the environment a model must load in: Python, TF, Keras, "
        "backends, devices, registered ops and Keras classes.",
    )
    parser.add_argument("--python", metavar="PATH", help="interpreter to probe (default: this one)")
    parser.add_argument(
        "--custom-objects",
        metavar="MODULE",
        action="append",
        default=[],
        help="import MODULE in the probe and report what it registers with Keras (repeatable)",
    )
    parser.add_argument("--refresh", action="store_true", help="ignore the cache and probe again")
    parser.add_argument("--json", action="store_true", help="print the full snapshot as JSON")
    parser.add_argument("--save-profile", metavar="FILE", help="write the snapshot as a target profile")
    parser.add_argument("--profile", metavar="FILE|NAME",
                        help="load a saved snapshot (a file), or a recorded release by a former profile name, instead of probing")
    parser.add_argument("--list-profiles", action="store_true", help="list the former shipped profile names (now recorded releases; see kcompat targets)")
    parser.add_argument("--hide-devices", action="store_true", help="probe with CUDA_VISIBLE_DEVICES=''")
    parser.add_argument("--timeout", type=float, default=300, help="probe timeout in seconds (default 300)")
    return parser


def _summary(env: Environment) -> str:
    v = env.versions
    lines = [
        f"python      {env.python}  ({env.python_executable})",
        f"platform    {env.platform}",
        "versions    " + "  ".join(f"{k}={v.get(k) or '-'}" for k in ("tensorflow", "keras", "tf_keras", "h5py", "numpy", "protobuf")),
        f"keras       backend={env.keras_backend}  TF_USE_LEGACY_KERAS={'1' if env.tf_use_legacy_keras else '0'}"
        f"  tf.keras is Keras {env.tf_keras_major if env.tf_keras_major is not None else '-'}",
        f"backends    {', '.join(env.available_backends) or '-'}",
        f"devices     {', '.join(f'{d.name} ({d.device_type})' for d in env.devices) or '-'}",
        f"ops         {len(env.ops)}",
        f"classes     keras={len(env.keras_classes)}  tf_keras={len(env.tf_keras_classes)}  custom={len(env.custom_objects)}",
    ]
    if env.custom_objects:
        names = ", ".join(sorted({c.registered_name or c.name for c in env.custom_objects}))
        lines.append(f"custom      {names}")
    if env.source == "profile":
        lines.append("source      declared profile")
    elif env.source == "release":
        lines.append(f"source      recorded release {env.release} (kcompat targets)")
    else:
        if env.cache_path:
            where = env.cache_path
        elif env.fingerprint:
            where = str(cache_path(env.fingerprint))
        else:
            where = str(cache_dir())
        lines.append(f"source      {'cache' if env.from_cache else f'probe ({env.probe_seconds:.1f}s)'}  cache={where}")
    for err in env.errors:
        lines.append(f"note        {err}")
    return "\n".join(lines)


def list_profiles() -> int:
    """The former shipped profiles, now entries of the release knowledge base (see `kcompat targets`)."""
    from kcompat.releases.store import index, profile

    for name in sorted(index()["aliases"]):
        env = profile(name)
        versions = "  ".join(f"{k}={v}" for k, v in env.versions.items() if v and k in ("tensorflow", "keras", "tf_keras"))
        legacy = "  TF_USE_LEGACY_KERAS=1" if env.tf_use_legacy_keras else ""
        print(f"{name:<20} python {env.python}  {versions}{legacy}")
    return 0


def named_profile(value: str | None):
    """A shipped profile's name (or a release name) that is not a file: its recorded release."""
    from pathlib import Path

    from kcompat.releases.store import is_named, profile

    if value and not Path(value).is_file() and is_named(value):
        return profile(value)
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.profile and (args.python or args.custom_objects):
        parser.error("--profile cannot be combined with --python or --custom-objects")
    if args.list_profiles:
        return list_profiles()
    try:
        env = named_profile(args.profile) or get_environment(
            python=args.python,
            custom_objects=args.custom_objects,
            profile=args.profile,
            refresh=args.refresh,
            timeout=args.timeout,
            hide_devices=args.hide_devices,
        )
    except EnvironmentProbeError as exc:
        print(f"kcompat env: error: {exc.message}", file=sys.stderr)
        return 2
    except ProfileError as exc:
        print(f"kcompat env: error: {exc}", file=sys.stderr)
        return 2
    if args.save_profile:
        try:
            path = save_profile(env, args.save_profile)
        except OSError as exc:
            print(f"kcompat env: error: cannot write profile {args.save_profile}: {exc.strerror or exc}", file=sys.stderr)
            return 2
        if not args.json:
            print(f"profile written to {path}", file=sys.stderr)
    if args.json:
        print(env.model_dump_json(indent=1))
    else:
        print(_summary(env))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
