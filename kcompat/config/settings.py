"""Configuration files: find them, validate them into RunConfig, and merge the command line on top.

Discovery walks up from the working directory. In each directory ``.kcompat.toml`` (top-level
keys) is tried first, then ``pyproject.toml`` (the ``[tool.kcompat]`` table); the first file that
holds kcompat configuration wins, and no others are merged. ``--config FILE`` names one
explicitly and ``--isolated`` ignores them all.

Precedence is default < file < command line, key by key. ``--select`` and ``--fail-on`` replace
what the file says; ``--ignore``, ``--custom-objects`` and ``-o`` add to it. Paths in a file
(``baseline``, ``outputs``, ``per-path-ignores`` globs, a ``profile`` or ``python`` that names a
file) are relative to the directory of that file.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from kcompat.config import RunConfig
from kcompat.model import Severity
from kcompat.record import Field, Record

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CONFIG_NAMES = (".kcompat.toml", "pyproject.toml")
DEFAULT_BASELINE = ".kcompat-baseline.json"
DEFAULT = "default"
COMMAND_LINE = "command line"


class ConfigError(Exception):
    """A config file that cannot be used; the CLI prints it as one line and exits 2."""


class ConfigFile(Record):
    path: Path
    data: dict[str, Any]

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def label(self) -> str:
        return display(self.path) + (" [tool.kcompat]" if self.path.name == "pyproject.toml" else "")


class Resolved(Record):
    """The effective configuration, the file it came from, and where each key's value came from."""

    config: RunConfig
    file: ConfigFile | None = None
    sources: dict[str, str] = Field(default_factory=dict)
    shown: dict[str, Any] = Field(default_factory=dict)  # values as written, before path rebasing


def display(path: Path) -> str:
    try:
        return os.path.relpath(path) if not os.path.relpath(path).startswith("..") else str(path)
    except ValueError:  # another drive on Windows
        return str(path)


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{display(path)}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{display(path)}: cannot read: {exc.strerror or exc}") from None


def kcompat_table(path: Path) -> dict[str, Any] | None:
    """The kcompat settings in one file, or None when the file holds none."""
    data = read_toml(path)
    if path.name == "pyproject.toml":
        table = data.get("tool", {}).get("kcompat") if isinstance(data.get("tool"), dict) else None
        if table is not None and not isinstance(table, dict):
            raise ConfigError(f"{display(path)}: [tool.kcompat] must be a table")
        return table
    return data


def find_config(start: Path | None = None) -> ConfigFile | None:
    """Walk up from start (the working directory); the first file with kcompat settings wins."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        for name in CONFIG_NAMES:
            candidate = folder / name
            if candidate.is_file():
                table = kcompat_table(candidate)
                if table is not None:
                    return ConfigFile(candidate, table)
    return None


def load_file(path: Path) -> ConfigFile:
    if not path.is_file():
        raise ConfigError(f"{display(path)}: no such config file")
    table = kcompat_table(path)
    if table is None:
        raise ConfigError(f"{display(path)}: no [tool.kcompat] table")
    return ConfigFile(path.resolve(), table)


def describe(error: dict[str, Any]) -> str:
    where = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        return f"unknown key '{where}'"
    return f"key '{where}': {error['msg']}"


def validate(file: ConfigFile) -> RunConfig:
    from pydantic import ValidationError

    try:
        return RunConfig.model_validate(file.data)
    except ValidationError as exc:
        problems = [describe(e) for e in exc.errors()]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ConfigError(f"{display(file.path)}: {problems[0]}{more}") from None


def rebase(value: str, root: Path) -> str:
    """A path written in a config file, made absolute against that file's directory."""
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else root / path)


def rebase_output(value: str, root: Path) -> str:
    fmt, sep, target = value.partition("=")
    return value if not sep or target == "-" else f"{fmt}={rebase(target, root)}"


def path_patterns(pattern: str, root: Path, cwd: Path) -> list[str]:
    """A per-path-ignores glob written relative to the config file, in the forms a checked path may take.

    The engine matches globs (fnmatch: '*' crosses '/') against the path as given on the command
    line, so a glob relative to the config file is also offered absolute and relative to cwd.
    """
    if pattern.startswith("*") or Path(pattern).is_absolute():
        return [pattern]  # global globs ("*.h5", "**/legacy/*") and absolute ones apply as written
    absolute = (root / pattern).as_posix()
    try:
        relative = os.path.relpath(absolute, cwd).replace(os.sep, "/")
    except ValueError:  # another drive
        return [absolute]
    if relative.startswith("*"):
        # cwd lies inside the glob's folder ("legacy/*" seen from legacy/ is "*"): keep it from
        # also matching paths outside that folder ("../new/b.h5", "/abs/...").
        relative = "[!./]" + relative
    forms = [absolute, relative, "./" + relative]
    return list(dict.fromkeys(forms))


def from_file(file: ConfigFile, cwd: Path) -> RunConfig:
    config = validate(file)
    root = file.root
    if config.baseline:
        config.baseline = rebase(config.baseline, root)
    config.outputs = [rebase_output(o, root) for o in config.outputs]
    for key in ("inputs", "arch"):
        value = getattr(config.load, key, None)
        if value:
            setattr(config.load, key, rebase(value, root))
    for key in ("profile", "python"):
        value = getattr(config, key)
        if value and ("/" in value or "\\" in value or value.endswith(".json")):
            setattr(config, key, rebase(value, root))
    ignores: dict[str, list[str]] = {}
    for pattern, codes in config.per_path_ignores.items():
        for form in path_patterns(pattern, root, cwd):
            known = ignores.setdefault(form, [])
            known.extend(code for code in codes if code not in known)
    config.per_path_ignores = ignores
    return config


def split(values: list[str] | None) -> list[str]:
    return [item.strip() for value in values or [] for item in value.split(",") if item.strip()]


def resolve(args: argparse.Namespace, cwd: Path | None = None) -> Resolved:
    """Default < config file < command line. args is the `kcompat check` namespace."""
    cwd = (cwd or Path.cwd()).resolve()
    file: ConfigFile | None = None
    if getattr(args, "config", None):
        file = load_file(Path(args.config))
    elif not getattr(args, "isolated", False):
        file = find_config(cwd)
    config = from_file(file, cwd) if file else RunConfig()
    shown = validate(file).model_dump(by_alias=True) if file else {}
    origin = file.label if file else DEFAULT
    sources = {key: (origin if key in (file.data if file else {}) or alias_in(key, file) else DEFAULT)
               for key in RunConfig.model_fields}

    def cli(key: str) -> None:
        if not sources[key].endswith(COMMAND_LINE):
            sources[key] = COMMAND_LINE if sources[key] == DEFAULT else f"{sources[key]} + {COMMAND_LINE}"

    select = split(getattr(args, "select", None))
    if select:
        config.select, sources["select"] = select, COMMAND_LINE
    ignore = split(getattr(args, "ignore", None))
    if ignore:
        config.ignore = config.ignore + [c for c in ignore if c not in config.ignore]
        cli("ignore")
    if getattr(args, "fail_on", None):
        config.fail_on, sources["fail_on"] = Severity(args.fail_on), COMMAND_LINE
    if getattr(args, "jobs", None):
        config.jobs, sources["jobs"] = args.jobs, COMMAND_LINE
    if getattr(args, "artifact_timeout", None) is not None:  # 0 is a value: no budget
        config.artifact_timeout, sources["artifact_timeout"] = args.artifact_timeout, COMMAND_LINE
    if getattr(args, "remote_timeout", None):
        config.remote_timeout, sources["remote_timeout"] = args.remote_timeout, COMMAND_LINE
    for key in ("python", "profile"):
        if getattr(args, key, None):
            setattr(config, key, getattr(args, key))
            sources[key] = COMMAND_LINE
    if getattr(args, "target", None):
        config.target, sources["target"] = list(args.target), COMMAND_LINE
    modules = getattr(args, "custom_objects", None) or []
    if modules:
        config.custom_objects = config.custom_objects + [m for m in modules if m not in config.custom_objects]
        cli("custom_objects")
    if getattr(args, "load", None) is not None:
        config.load.enabled = bool(args.load)
        cli("load")
    load_flags = {"unsafe": "unsafe", "strategy": "strategies", "loader": "loaders", "timeout": "timeout_s",
                  "memory_mb": "memory_mb", "inputs": "inputs", "arch": "arch"}
    for flag, name in load_flags.items():
        value = getattr(args, flag, None)
        if value not in (None, []):
            setattr(config.load, name, split(value) if isinstance(value, list) else value)
            cli("load")
    if getattr(args, "baseline", None):
        config.baseline, sources["baseline"] = args.baseline, COMMAND_LINE
    outputs = list(getattr(args, "output", None) or [])
    if getattr(args, "json", None):
        outputs.append(f"json={args.json}")
    if outputs:
        config.outputs = config.outputs + outputs
        cli("outputs")
    check_bounds(config)
    return Resolved(config=config, file=file, sources=sources, shown=shown)


def check_bounds(config: RunConfig) -> None:
    """Refuse a flag's value out of its field's bounds (--artifact-timeout -1) with pydantic's words.

    argparse has typed every flag already; pydantic is imported only when a bound is broken.
    """
    for name, spec in RunConfig.model_fields.items():
        value = getattr(config, name)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            continue
        if (spec.ge is not None and value < spec.ge) or (spec.gt is not None and value <= spec.gt):
            from pydantic import ValidationError

            try:
                RunConfig.model_validate(config.model_dump())
            except ValidationError as exc:
                first = exc.errors()[0]
                where = f"--{str(first['loc'][-1]).replace('_', '-')}" if first["loc"] else exc.title
                raise ConfigError(f"{where}: {first['msg']}") from None


def alias_in(key: str, file: ConfigFile | None) -> bool:
    if file is None:
        return False
    alias = RunConfig.model_fields[key].alias
    return bool(alias) and alias in file.data
