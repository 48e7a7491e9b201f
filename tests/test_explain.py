"""`kcompat explain` on an error alone: the same rule the guarded load's classifier names for it."""

from __future__ import annotations

import json
import re

import pytest

from kcompat.cli import main
from kcompat.load.classify import FALLBACK, classify
from tests.helpers import ROOT

FIXTURES = ROOT / "fixtures"
NAMED = re.compile(r"^(?:or: )?(KC\d{3}) ", re.M)


def recorded():
    """Every distinct real exception in the manifests, with the format of the artifact it came from."""
    seen = set()
    for manifest in ("manifest.json", "wild/manifest.json"):
        for entry in json.loads((FIXTURES / manifest).read_text())["entries"]:
            for outcome in (entry.get("observed") or {}).values():
                if outcome["ok"] or not outcome["message"]:
                    continue
                key = (outcome["exception"], outcome["message"], entry["format"])
                if key not in seen:
                    seen.add(key)
                    yield key


CASES = sorted(recorded())


def test_there_are_real_exceptions_to_explain():
    assert len(CASES) >= 60


@pytest.mark.parametrize("exception,message,fmt", CASES)
def test_explain_names_the_rule_the_load_classifier_names(exception, message, fmt, capsys):
    code = classify(message, exception_type=exception, fmt=fmt)
    rc = main(["explain", f"{exception}: {message}"])
    out = capsys.readouterr().out
    if code == FALLBACK:
        assert rc == 1 and out.startswith("not recognised:")
    else:
        assert rc == 0
        assert code in NAMED.findall(out), out


def test_explain_names_kc608_for_tf_2_12_on_a_jax_export(capsys):
    """The real exception TF 2.12.0 raised loading the JAX export (recorded in its release observations)."""
    observed = json.loads((FIXTURES / "observed_releases" / "tf2.12.0.json").read_text())["observed"]
    outcome = observed["keras3.15-jax/seq_compiled_export"]["tf_saved_model"]
    assert not outcome["ok"]
    assert main(["explain", f"{outcome['exception']}: {outcome['message']}"]) == 0
    assert capsys.readouterr().out.startswith("KC608 op-attr-missing")


def test_explain_reads_a_whole_traceback_from_a_file(tmp_path, capsys):
    trace = tmp_path / "job.log"
    trace.write_text('Traceback (most recent call last):\n  File "serve.py", line 3, in <module>\n'
                     "    model = keras.saving.load_model('model.h5')\n"
                     "TypeError: Error when deserializing class 'DepthwiseConv2D' using config={'groups': 1}.\n\n"
                     "Exception encountered: Unrecognized keyword arguments passed to DepthwiseConv2D: {'groups': 1}\n")
    assert main(["explain", "--from", str(trace)]) == 0
    assert capsys.readouterr().out.startswith("KC302 layer-arg-unrecognized")


def test_a_rule_code_still_prints_its_doc(capsys):
    assert main(["explain", "lfs-pointer"]) == 0
    assert capsys.readouterr().out.startswith("KC101 lfs-pointer (error)")


def test_an_unknown_code_is_a_usage_error(capsys):
    assert main(["explain", "KC999"]) == 2
    assert "no rule with code or name" in capsys.readouterr().err
