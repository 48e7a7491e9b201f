"""A one-line progress indicator for multi-artifact runs, on stderr, and only on a terminal.

    with Progress() as progress:
        report = check_paths(paths, config, progress=progress)

Each call ``progress(path)`` redraws one status line (``[3] checking models/foo.keras  1.2s``);
``close()`` (or leaving the ``with`` block) erases it, so the summary printed afterwards
starts on a clean line. When the stream is not a terminal nothing is written at all;
``TERM=dumb`` disables it too, since it relies on carriage return and erase-line.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from typing import IO

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
ASCII_SPINNER = "|/-\\"
ERASE = "\r\x1b[2K"


class Progress:
    def __init__(self, stream: IO[str] | None = None, enabled: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            enabled = self._is_terminal()
        self.enabled = enabled
        encoding = (getattr(self.stream, "encoding", None) or "").lower().replace("-", "")
        self.spinner, self.ellipsis = (SPINNER, "…") if encoding == "utf8" else (ASCII_SPINNER, "...")
        self.count = 0
        self.started = time.monotonic()
        self.drawn = False

    def _is_terminal(self) -> bool:
        if os.environ.get("TERM") == "dumb":
            return False
        try:
            return bool(self.stream.isatty())
        except (AttributeError, ValueError):
            return False

    def __call__(self, path: str) -> None:
        self.count += 1
        if not self.enabled:
            return
        width = shutil.get_terminal_size((80, 24)).columns
        elapsed = f"{time.monotonic() - self.started:.1f}s"
        head = f"{self.spinner[self.count % len(self.spinner)]} [{self.count}] checking "
        room = max(10, width - len(head) - len(elapsed) - 3)
        shown = path if len(path) <= room else self.ellipsis + path[-(room - len(self.ellipsis)):]
        self._write(f"{ERASE}{head}{shown}  {elapsed}")
        self.drawn = True

    def close(self) -> None:
        if self.enabled and self.drawn:
            self._write(ERASE)
            self.drawn = False

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # a closed terminal must not fail the run
            self.enabled = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
