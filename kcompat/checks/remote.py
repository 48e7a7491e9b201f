"""KC123: a remote source that could not be read. Reads only the Artifact."""

from __future__ import annotations

from collections.abc import Iterator

from kcompat.checks.base import Hit
from kcompat.model import Artifact, Format


def remote_unreachable(artifact: Artifact, env) -> Iterator[Hit]:
    if artifact.format is not Format.unreachable:
        return
    for problem in artifact.problems:
        if problem.kind == "remote-error":
            yield Hit(f"{artifact.path} could not be read: {problem.detail}",
                      fix=str(artifact.notes.get("remote_fix") or "Check the URL and the credentials of its backend."),
                      evidence={"cause": problem.detail})
