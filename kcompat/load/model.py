"""Typed results of the guarded load: one ``Attempt`` per loader x strategy, gathered in a ``LoadMatrix``.

These models carry no TF/Keras types: a worker subprocess writes plain JSON and ``.npz``
files, and the parent turns them into these objects.
"""

from __future__ import annotations

from typing import Literal

from kcompat.record import Field, Record

Status = Literal["ok", "error", "crash", "timeout", "oom", "skipped", "refused-unsafe"]

LOADERS = ("keras", "keras-nocompile", "tf_keras", "tf_saved_model", "tfsmlayer", "config+weights")
STRATEGIES = ("default", "one-device-cpu", "one-device-gpu", "mirrored", "multi-worker")
FORMATS = (
    "hdf5-model",
    "hdf5-weights",
    "hdf5-weights-v3",
    "keras-zip",
    "keras-dir",
    "saved-model",
    "tf-checkpoint",
    "json-config",
)


class OutputSummary(Record):
    """Shape and dtype of one output tensor of an attempt (the values stay in the .npz)."""

    name: str
    shape: list[int]
    dtype: str


class Attempt(Record):
    """One loader under one strategy, run in its own isolated subprocess (or worker pair for MWMS)."""

    loader: str
    strategy: str
    status: Status
    exception_type: str | None = None
    message: str | None = None  # first line of the exception, at most 300 characters
    traceback_tail: str | None = None  # last ~15 lines of the traceback
    signal: str | None = None  # e.g. 'SIGSEGV' when the process died from a signal
    stdout_tail: str | None = None  # last lines the process printed (stdout + stderr)
    wall_s: float = 0.0
    num_replicas: int | None = None
    worker_replicas: list[int | None] | None = None  # multi-worker: num_replicas_in_sync as each worker saw it
    outputs: list[OutputSummary] = Field(default_factory=list)
    max_abs_diff: float | None = None
    max_rel_diff: float | None = None
    agrees: bool | None = None
    loaded: bool = False  # the loader returned; a failure after this is in inference or training
    trained: bool | None = None  # True when one training step ran, False when it was tried and failed
    code: str | None = None  # rule code (KCxxx) the failure was classified as
    note: str | None = None
    isolation: list[str] = Field(default_factory=list)  # e.g. ['process-group', 'rss-watch', 'unshare-net']


class LoadMatrix(Record):
    path: str
    format: str
    attempts: list[Attempt] = Field(default_factory=list)
    total_wall_s: float = 0.0
    reference: str | None = None  # 'loader/strategy' of the attempt the others were compared with
    python: str | None = None
    isolation: list[str] = Field(default_factory=list)

    def get(self, loader: str, strategy: str) -> Attempt | None:
        for a in self.attempts:
            if a.loader == loader and a.strategy == strategy:
                return a
        return None
