"""Containment per artifact: a wall-clock budget, and what is reported when an artifact defeats it."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class ArtifactTimeout(BaseException):
    """The artifact's budget ran out.

    A BaseException, not an Exception: readers catch Exception to fall back to another reader,
    and a timeout must end the artifact's work, not start more of it.
    """

    def __init__(self, seconds: float) -> None:
        super().__init__(f"gave up after {seconds:g} s (artifact-timeout)")
        self.seconds = seconds


def budget_available() -> bool:
    """SIGALRM interrupts even a blocking read, but only the main thread of a POSIX process gets it."""
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextmanager
def budget(seconds: float | None) -> Iterator[None]:
    """Raise ArtifactTimeout in this thread once ``seconds`` of wall-clock time have passed.

    Without a budget (None or 0, or off the main thread) the body runs unbounded; every read
    it makes is bounded by size on its own.
    """
    if not seconds or seconds <= 0 or not budget_available():
        yield
        return

    def fire(signum, frame):  # noqa: ARG001 - the signal handler's signature
        raise ArtifactTimeout(seconds)

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def cause(exc: BaseException) -> str:
    """One line naming what went wrong, for the KC117 finding."""
    if isinstance(exc, ArtifactTimeout):
        return str(exc)
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:400] if text else type(exc).__name__
