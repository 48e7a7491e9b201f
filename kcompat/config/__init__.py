"""Typed run configuration (``RunConfig``); ``settings`` finds and validates config files.

Command-line flags and config files both end up in a ``RunConfig``.
"""

from __future__ import annotations

import os

from kcompat.record import Field, Record, validator

from kcompat.model import Severity


class LoadConfig(Record, extra="forbid"):
    enabled: bool = False
    strategies: list[str] | None = None
    loaders: list[str] | None = None
    timeout_s: float = Field(120, alias="timeout")
    memory_mb: int = Field(4096, alias="memory-mb")
    unsafe: bool = False
    inputs: str | None = None  # an .npz of model inputs instead of generated ones
    arch: str | None = None  # the architecture (model JSON, .keras or .h5) for a weights-only file or checkpoint


class RunConfig(Record, extra="forbid"):
    select: list[str] = Field(default_factory=list)  # codes, prefixes ("KC1", "KC20") or names
    ignore: list[str] = Field(default_factory=list)
    fail_on: Severity = Field(Severity.error, alias="fail-on")
    severity: dict[str, Severity] = Field(default_factory=dict)
    per_path_ignores: dict[str, list[str]] = Field(default_factory=dict, alias="per-path-ignores")
    custom_objects: list[str] = Field(default_factory=list, alias="custom-objects")
    python: str | None = None
    profile: str | None = None
    target: list[str] = Field(default_factory=list)  # release specs for --target (keras==3.9.2, latest, ...)
    load: LoadConfig = Field(default_factory=LoadConfig)
    baseline: str | None = None
    outputs: list[str] = Field(default_factory=list)
    jobs: int | None = Field(None, ge=1)  # processes checking artifacts at once; None: one per core (1 with --load)
    artifact_timeout: float = Field(30, alias="artifact-timeout", ge=0)  # seconds per artifact; 0: no budget
    remote_timeout: float = Field(20, alias="remote-timeout", gt=0)  # seconds to connect or read, per request

    @staticmethod
    @validator("python")
    def _absolute_python(value: str | None) -> str | None:
        # The guarded load and the fix proof run the interpreter from a work folder: a path relative to where
        # kcompat started would name nothing there. Not resolved: a venv's python is a symlink to its base.
        return os.path.abspath(os.path.expanduser(value)) if value and os.sep in value else value

    @staticmethod
    @validator("target", before=True)
    def _one_target(value):
        return [value] if isinstance(value, str) else value
