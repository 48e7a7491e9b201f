"""Declared target profiles: an ``Environment`` saved as JSON.

``kcompat env --save-profile FILE`` writes one; ``--profile FILE`` checks against it,
so a model can be checked for an environment that is not installed here.
"""

from __future__ import annotations

import os
from pathlib import Path

from kcompat.env.model import Environment


class ProfileError(ValueError):
    """A profile file is missing or is not a valid Environment."""


def load_profile(path: str | os.PathLike[str]) -> Environment:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError(f"cannot read profile {p}: {exc.strerror or exc}") from exc
    from pydantic import ValidationError

    try:
        env = Environment.model_validate_json(text)
    except ValidationError as exc:
        raise ProfileError(f"{p} is not a kcompat environment profile: {exc.error_count()} error(s), first: {exc.errors()[0]['msg']} at {'.'.join(map(str, exc.errors()[0]['loc']))}") from exc
    return env.model_copy(update={"source": "profile", "cache_path": None})


def save_profile(env: Environment, path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    if p.parent and not p.parent.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
    data = env.model_copy(update={"source": "probe", "cache_path": None}).model_dump_json(indent=1)
    tmp = p.with_name(f".{p.name}.tmp")
    tmp.write_text(data + "\n", encoding="utf-8")
    os.replace(tmp, p)
    return p
