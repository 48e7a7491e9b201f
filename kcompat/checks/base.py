from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Hit:
    """What a check yields; the engine adds the code, name and severity from the catalog."""

    message: str
    location: str | None = None
    fix: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    key: str | None = None  # stable identity for baselines; defaults to the location
    severity: str | None = None  # overrides the rule's default where one rule spans "loses something" to "fails"
