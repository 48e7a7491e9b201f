"""Arguments that cannot mean what the user wants exit 2 with one line on stderr, and no traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.helpers import ROOT

MODEL = str(ROOT / "fixtures" / "tf2.15" / "seq_compiled.h5")


@pytest.mark.parametrize("args,says", [
    (["--custom-objects", "no_such_module_kc"], "--custom-objects no_such_module_kc: cannot be imported"),
    (["--python", "/nonexistent/bin/python"], "--python /nonexistent/bin/python"),
    (["--loader", "kerass"], "--loader: unknown name(s) 'kerass'"),
    (["--strategy", "mirored"], "--strategy: unknown name(s) 'mirored'"),
    (["--profile", "no_such_profile_kc"], "--profile no_such_profile_kc"),
    (["--artifact-timeout", "-1"], "--artifact-timeout: Input should be greater than or equal to 0"),
    (["--remote-timeout", "-1"], "--remote-timeout: Input should be greater than 0"),
])
def test_a_bad_argument_is_a_usage_error(args, says):
    proc = subprocess.run([sys.executable, "-m", "kcompat", "check", MODEL, "--no-report", *args],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kcompat: error: ") and says in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
