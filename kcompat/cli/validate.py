"""Inputs that cannot mean what the user wants are usage errors (exit 2, one line), never a quiet skip:
a --loader or --strategy name that does not exist, a --python that is not an interpreter, a --profile
that does not resolve, a --custom-objects module the probe cannot import."""

from __future__ import annotations

import re
from typing import Any

from kcompat.cli.common import UsageError
from kcompat.config import RunConfig

IMPORT_FAILED = re.compile(r"custom objects module '([^']+)' failed to import: (.*)")


def check_names(config: RunConfig) -> None:
    if not (config.load.loaders or config.load.strategies):
        return
    from kcompat.load.model import LOADERS, STRATEGIES  # only when names were given: it imports numpy

    for flag, given, known in (("--loader", config.load.loaders, LOADERS), ("--strategy", config.load.strategies, STRATEGIES)):
        unknown = [name for name in given or [] if name not in known]
        if unknown:
            raise UsageError(f"{flag}: unknown name(s) {', '.join(map(repr, unknown))}; choose from {', '.join(known)}")


def check_environment(config: RunConfig, env: Any, info: dict | None) -> None:
    """After the environment was had (or not): say why it cannot be the one the user named."""
    if env is None and info and info.get("error") and (config.python or config.profile):
        named = f"--python {config.python}" if config.python else f"--profile {config.profile}"
        raise UsageError(f"{named}: {info['error']}")
    for error in getattr(env, "errors", None) or []:
        match = IMPORT_FAILED.match(error)
        if match:
            raise UsageError(f"--custom-objects {match.group(1)}: cannot be imported in "
                             f"{env.python_executable}: {match.group(2)}")
