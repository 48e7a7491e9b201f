"""The readers report the right format, saved-by versions, layers and signatures for every fixture.

The expected values come from fixtures/manifest.json, which the producers wrote from what they saved.
"""

from __future__ import annotations

import json

import pytest

from kcompat.artifacts import read_artifact
from tests.helpers import ROOT

FIXTURES = ROOT / "fixtures"
ENTRIES = json.loads((FIXTURES / "manifest.json").read_text())["entries"]


def test_corpus_is_large_and_diverse():
    assert len(ENTRIES) >= 60
    assert len({e["producer"] for e in ENTRIES if not e.get("synthetic")}) >= 5


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["id"] for e in ENTRIES])
def test_reader_facts_match_manifest(entry):
    artifact = read_artifact(FIXTURES / entry["path"])
    damaged = entry.get("derived_from") and artifact.problems
    if damaged and entry["format"].startswith("hdf5"):
        assert artifact.format.value.startswith("hdf5"), artifact.format
    else:
        assert artifact.format.value == entry["format"]
    if damaged:
        return
    saved_by = entry.get("saved_by") or {}
    for fact in ("keras_version", "backend", "tensorflow_version"):
        if saved_by.get(fact) is not None:
            assert getattr(artifact, fact) == saved_by[fact], fact
    if entry.get("expected_layers") is not None:
        # Keras 2 names a registered class "package>Name"; kcompat keeps that as registered_name.
        top = [(layer.registered_name if ">" in want else layer.class_name)
               for layer, want in zip([la for la in artifact.layers if "/" not in la.path], entry["expected_layers"])]
        assert len([la for la in artifact.layers if "/" not in la.path]) == len(entry["expected_layers"])
        assert top == entry["expected_layers"]
    if entry.get("expected_signatures") is not None:
        keys = sorted(s.key for s in artifact.saved_model.signatures if not s.key.startswith("__"))
        assert keys == sorted(entry["expected_signatures"])
