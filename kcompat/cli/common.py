"""What the subcommands share: the `check` flags, usage errors and the environment to check against."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from kcompat.config import RunConfig
from kcompat.config.settings import DEFAULT_BASELINE
from kcompat.model import Severity
from kcompat.report import WRITERS

DEFAULT_JSON = "reports/kcompat-report.json"


class UsageError(Exception):
    pass


def add_check_parser(sub) -> None:
    p = sub.add_parser("check", help="check saved models statically (and with --load, by a guarded load)")
    p.add_argument("paths", nargs="+", metavar="PATH", help="model files, SavedModel dirs, checkpoints or folders")
    p.add_argument("-o", "--output", action="append", default=[], metavar="FORMAT=PATH",
                   help=f"write a report; repeatable (formats: {', '.join(WRITERS)})")
    p.add_argument("--json", metavar="PATH", help="shorthand for -o json=PATH")
    p.add_argument("--no-report", action="store_true", help=f"do not write the default {DEFAULT_JSON}")
    p.add_argument("--fail-on", choices=[s.value for s in Severity], default=None,
                   help="lowest severity that makes the exit code 1 (default: error)")
    p.add_argument("--exit-zero", action="store_true", help="always exit 0 unless there is a usage or internal error")
    p.add_argument("--select", action="append", default=[], metavar="CODE", help="only these rules (code, prefix or name; comma-separated)")
    p.add_argument("--ignore", action="append", default=[], metavar="CODE", help="skip these rules (code, prefix or name)")
    p.add_argument("--load", dest="load", action="store_true", default=None, help="also run the guarded load")
    p.add_argument("--no-load", dest="load", action="store_false", help="static checks only (the default)")
    p.add_argument("--unsafe", action="store_true", default=None,
                   help="let the guarded load deserialize Lambda bytecode (safe_mode=False); trusted files only")
    p.add_argument("--strategy", action="append", default=[], metavar="NAME",
                   help="guarded-load strategies: default, one-device-cpu, one-device-gpu, mirrored, multi-worker; repeatable")
    p.add_argument("--loader", action="append", default=[], metavar="NAME",
                   help="guarded-load loaders: keras, tf_keras, tf_saved_model, tfsmlayer, config+weights; repeatable")
    p.add_argument("--timeout", type=float, metavar="S", help="per-attempt guarded-load timeout in seconds (default 120)")
    p.add_argument("--artifact-timeout", type=float, metavar="S",
                   help="give up reading and checking one artifact after S seconds, with a KC117 finding (default 30; 0: never)")
    p.add_argument("--remote-timeout", type=float, metavar="S",
                   help="for s3://, gs://, az://, http(s):// and models:/ paths: seconds to wait to connect or for a read (default 20)")
    p.add_argument("--resume", metavar="JSONL",
                   help="skip artifacts already in JSONL (an earlier -o jsonl=PATH) whose size, mtime and ETag are unchanged")
    p.add_argument("--dask", metavar="ADDRESS", help="check the artifacts on an existing Dask cluster (tcp://scheduler:8786)")
    p.add_argument("--jobs", type=int, metavar="N",
                   help="check N artifacts at once in parallel processes; the report order stays the paths' (default: one per core; 1 with --load)")
    p.add_argument("--memory-mb", type=int, metavar="MB", help="per-attempt resident memory cap (default 4096)")
    p.add_argument("--inputs", metavar="NPZ", help="model inputs for the guarded load (default: generated from the input spec)")
    p.add_argument("--arch", metavar="PATH", help="architecture (model.to_json() file, .keras or .h5) for a weights-only file or checkpoint")
    p.add_argument("--python", metavar="PATH", help="check against this interpreter's environment (default: the current one)")
    p.add_argument("--profile", metavar="FILE|NAME", help="check against a declared target profile instead of probing (see `kcompat env --list-profiles`)")
    p.add_argument("--target", action="append", default=[], metavar="SPEC",
                   help="check against a recorded release instead of probing: keras==3.9.2, tensorflow==2.15.1,keras==3.0.5, "
                        "keras>=3.6,<3.10 or latest; repeatable (see `kcompat targets`)")
    p.add_argument("--custom-objects", action="append", default=[], metavar="MODULE",
                   help="import MODULE in the probe so the classes it registers count as resolvable; repeatable")
    p.add_argument("--no-env", action="store_true", help="do not probe an environment; environment rules are skipped")
    p.add_argument("--refresh-env", action="store_true", help="re-probe the environment instead of using the cache")
    p.add_argument("-q", "--quiet", action="store_true", help="print findings only")
    p.add_argument("-v", "--verbose", action="store_true", help="print each artifact's facts too")
    p.add_argument("--color", choices=["auto", "always", "never"], default="auto",
                   help="colour the terminal summary (auto: only on a terminal with NO_COLOR unset)")
    add_config_flags(p)  # --config, --isolated, --baseline



def add_config_flags(parser: argparse.ArgumentParser) -> None:
    """The flags `kcompat check` (and `config`, `baseline`) take for config files and the baseline."""
    group = parser.add_argument_group("configuration")
    group.add_argument("--config", metavar="FILE",
                       help="read settings from FILE (.kcompat.toml, or pyproject.toml's [tool.kcompat]) "
                            "instead of searching upwards from the working directory")
    group.add_argument("--isolated", action="store_true", help="ignore all configuration files")
    group.add_argument("--baseline", metavar="FILE",
                       help=f"fail only on findings not recorded in FILE (see `kcompat baseline`; default file {DEFAULT_BASELINE})")



class _Into:
    """Lets `add_check_parser(sub)` add the check flags to a parser that already exists."""

    def __init__(self, parser: argparse.ArgumentParser) -> None:
        self.parser = parser

    def add_parser(self, *args: Any, **kwargs: Any) -> argparse.ArgumentParser:
        return self.parser


def add_check_flags(parser: argparse.ArgumentParser, paths_required: bool) -> None:
    """The flags of `kcompat check` on another subcommand's parser (`config`, `baseline`)."""
    add_check_parser(_Into(parser))
    for action in parser._actions:  # noqa: SLF001 - argparse has no public API to relax nargs
        if action.dest == "paths" and not paths_required:
            action.nargs = "*"



def environment(config: RunConfig, refresh: bool = False):
    """The Environment to check against, and its summary for the report; (None, why) if it cannot be had."""
    from kcompat.env import EnvironmentProbeError, ProfileError, get_environment
    from kcompat.releases.store import is_named

    if config.target:
        return target_environment(config.target[0])
    if config.profile and not Path(config.profile).is_file() and is_named(config.profile):
        return target_environment(config.profile)  # a shipped profile's name: its recorded release
    try:
        env = get_environment(python=config.python, custom_objects=config.custom_objects,
                              profile=config.profile, refresh=refresh)
    except (EnvironmentProbeError, ProfileError) as exc:
        return None, {"error": str(exc).splitlines()[0]}
    if env.source != "profile" and not any(env.versions.get(k) for k in ("tensorflow", "keras", "tf_keras")):
        # Nothing to judge against here (pre-commit's isolated venv): judge against the newest release.
        env, info = target_environment("latest")
        info["fallback"] = f"neither TensorFlow nor Keras is installed in {config.python or 'this interpreter'}"
        return env, info
    info = {"python": env.python, "python_executable": env.python_executable, "versions": env.versions,
            "keras_backend": env.keras_backend, "tf_use_legacy_keras": env.tf_use_legacy_keras,
            "devices": [d.name for d in env.devices], "source": env.source, "errors": env.errors,
            "custom_object_modules": env.custom_object_modules}
    return env, info


def resolve_targets(specs: list[str], warn=None) -> list[tuple[str, str]]:
    """[(spec, release)] for every recorded release the specs stand for; a bad spec is a UsageError."""
    import sys

    from kcompat.releases.spec import SpecError, resolve
    from kcompat.releases.store import ReleaseError

    out: list[tuple[str, str]] = []
    for spec in specs:
        try:
            target = resolve(spec)
        except (SpecError, ReleaseError) as exc:
            raise UsageError(str(exc)) from exc
        if target.warning:
            (warn or (lambda text: print(f"kcompat: warning: {text}", file=sys.stderr)))(target.warning)
        out += [(spec, name) for name in target.releases if (spec, name) not in out]
    return out


def target_environment(spec: str):
    """The recorded release a --target spec stands for (the first, for a range), and its summary."""
    from kcompat.releases.store import environment as release_environment

    spec_name, name = resolve_targets([spec])[0]
    env = release_environment(name)
    info = {"python": env.python, "python_executable": env.python_executable, "versions": env.versions,
            "keras_backend": env.keras_backend, "tf_use_legacy_keras": env.tf_use_legacy_keras,
            "devices": [d.name for d in env.devices], "source": "release", "errors": [],
            "custom_object_modules": [], "release": name, "target": spec_name}
    return env, info
