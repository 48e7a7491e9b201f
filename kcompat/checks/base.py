from __future__ import annotations

from typing import Any

from kcompat.model import Artifact, Format, SavedModelFacts
from kcompat.record import Field, Record


class Hit(Record):
    """What a check yields; the engine adds the code, name and severity from the catalog."""

    message: str
    location: str | None = None
    fix: str | None = None
    evidence: dict[str, Any] = Field(default_factory=dict)
    key: str | None = None  # stable identity for baselines; defaults to the location
    severity: str | None = None  # overrides the rule's default where one rule spans "loses something" to "fails"
    # Hits of one rule with the same group are one cause, reported as one finding with every location;
    # group_message words it for n of them ({n} and {locations} are filled in).
    group: str | None = None
    group_message: str | None = None


def saved_model_facts(artifact: Artifact) -> SavedModelFacts | None:
    """The SavedModel facts when there are whole ones to judge; a corrupt proto is KC110's alone."""
    if artifact.format is not Format.saved_model or artifact.saved_model is None:
        return None
    if artifact.problem("savedmodel-corrupt"):
        return None
    return artifact.saved_model


class Rewrite(Record):
    """What a rule's fixer may change in a copy of an artifact: its JSON configs as saved, and its name.

    ``model`` is the model config (an .h5's model_config attribute, a .keras's config.json, a JSON file),
    ``training`` the training config (.h5 training_config; None when there is none or it is dropped);
    ``weight_moves`` the one change a fixer may ask of a .keras's weights file: its groups moved, in order.
    Fixers edit them in place and say what they did (``change``) or why they would not (``refuse``).
    """

    model: dict[str, Any] | None
    training: dict[str, Any] | None = None
    suffix: str = ""
    changes: list[str] = Field(default_factory=list)
    refusals: list[str] = Field(default_factory=list)
    drop_training: bool = False
    weight_moves: list[tuple[str, str]] = Field(default_factory=list)  # (group, its new path) in model.weights.h5

    def change(self, text: str) -> None:
        if text not in self.changes:
            self.changes.append(text)

    def refuse(self, text: str) -> None:
        if text not in self.refusals:
            self.refusals.append(text)
