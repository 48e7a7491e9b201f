"""The guarded load of a remote artifact: downloaded whole into a private folder, only then, and removed."""

from __future__ import annotations

import json
import os
import stat

import pytest

from tests.helpers import ROOT, run_cli
from tests.servers import range_http

pytestmark = [pytest.mark.slow, pytest.mark.remote]

HEALTHY = ROOT / "fixtures" / "keras3.15-tf2.21" / "seq_uncompiled.keras"


def test_check_load_of_an_http_model_downloads_it_privately(tmp_path):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    seen: list = []
    with range_http(HEALTHY.parent) as (base, log):
        url = f"{base}/{HEALTHY.name}"
        out = tmp_path / "report.json"
        proc = run_cli("check", url, "--load", "--strategy", "default", "--loader", "keras", "--json", str(out),
                       cwd=tmp_path, env={"TMPDIR": str(scratch)})
        seen = list(log)
    assert out.exists(), proc.stderr[-3000:]
    report = json.loads(out.read_text())
    assert proc.returncode == 0, proc.stderr
    entry = report["artifacts"][0]
    assert entry["artifact"]["path"] == url
    loads = [a for a in entry["loads"] if a["loader"] == "keras"]
    assert loads and all(a["status"] == "ok" for a in loads), loads
    source = entry["artifact"]["source"]
    assert source["downloaded"] is True
    assert source["bytes_fetched"] >= HEALTHY.stat().st_size  # the ranged reads, then the whole object
    assert [g for g in seen if g[0] == "GET" and g[2] is None], "one whole-object GET, for the load"
    assert not list(scratch.glob("kcompat-remote-*")), "the private copy is removed after the load"


def test_the_private_folder_is_the_users_alone():
    from kcompat.sources.remote import private_folder

    folder = private_folder()
    try:
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    finally:
        folder.rmdir()
