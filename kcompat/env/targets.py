"""Declared target profiles shipped with kcompat: snapshots probed from real virtualenvs."""

from __future__ import annotations

from pathlib import Path

PROFILES_DIR = Path(__file__).resolve().parent / "profiles"


def shipped() -> dict[str, Path]:
    return {p.stem: p for p in sorted(PROFILES_DIR.glob("*.json"))}


def resolve_profile(value: str) -> str:
    """A profile given by file path, or by the name of a shipped profile (e.g. tf2.15)."""
    if Path(value).is_file():
        return value
    named = shipped().get(value)
    return str(named) if named else value
