"""Models behind an HTTP(S) URL: a local server that honours Range, read by fsspec's real HTTP client."""

from __future__ import annotations

import pytest

from kcompat.config import RunConfig
from kcompat.pipeline.runner import check_paths
from tests.bigmodels import write_big_keras
from tests.helpers import ROOT
from tests.servers import findings_by_name, forget_clients, range_http

pytestmark = pytest.mark.remote

FOLDERS = [ROOT / "fixtures" / name for name in ("keras3.15-tf2.21", "keras3.3-tf2.16", "tf2.12", "derived")]


@pytest.fixture(autouse=True)
def fresh_clients():
    forget_clients()
    yield
    forget_clients()


def test_each_fixture_file_reads_the_same_over_http_as_from_disk():
    files = [p for folder in FOLDERS for p in sorted(folder.iterdir()) if p.is_file() and not p.name.startswith(".")]
    assert len(files) > 50
    config = RunConfig(jobs=1)
    downloaded = set()
    with range_http(ROOT / "fixtures") as (base, log):
        for path in files:
            url = f"{base}/{path.relative_to(ROOT / 'fixtures').as_posix()}"
            remote, local = check_paths([url], config), check_paths([str(path)], config)
            assert findings_by_name(remote, url) == findings_by_name(local, str(path)), path.name
            assert remote.artifacts[0].artifact.format == local.artifacts[0].artifact.format, path.name
            source = remote.artifacts[0].artifact.source
            assert source.object_size == path.stat().st_size
            assert source.bytes_fetched <= source.object_size * (2 if source.downloaded else 1) + 22 * 8
            if source.downloaded:  # h5meta gave a damaged file to h5py, which reads a local copy
                downloaded.add(url[len(base):])
    gets = [entry for entry in log if entry[0] == "GET"]
    assert len(gets) >= len(files) - sum(p.stat().st_size == 0 for p in files)  # each read at least once
    assert {where for _, where, rng in gets if not rng} == downloaded, "every other GET asks for a range"
    assert len(downloaded) < 10


def test_a_large_keras_over_http_costs_its_metadata_only(tmp_path):
    big = write_big_keras(tmp_path / "big.keras", 0.25)
    with range_http(tmp_path) as (base, log):
        report = check_paths([f"{base}/big.keras"], RunConfig(jobs=1))
    source = report.artifacts[0].artifact.source
    assert source.object_size == big.stat().st_size
    served = sum(int(r.split("-")[1]) - int(r.split("=")[1].split("-")[0]) + 1 for _, _, r in log if r)
    assert served == source.bytes_fetched <= 512 * 1024
    local = check_paths([str(big)], RunConfig(jobs=1))
    assert findings_by_name(report, f"{base}/big.keras") == findings_by_name(local, str(big))
    assert report.artifacts[0].artifact.weights == local.artifacts[0].artifact.weights != []


def test_fix_takes_a_url_and_lists_the_same_changes(tmp_path):
    import sys

    from tests.helpers import run_cli

    broken = ROOT / "fixtures" / "tf2.15" / "depthwise.h5"
    local = run_cli("fix", str(broken), "--dry-run", "--python", sys.executable, cwd=tmp_path)
    with range_http(broken.parent) as (base, _):
        url = f"{base}/{broken.name}"
        remote = run_cli("fix", url, "--dry-run", "--python", sys.executable, cwd=tmp_path)
    assert remote.returncode == local.returncode == 0, remote.stderr
    assert "groups=1 dropped" in local.stdout
    assert remote.stdout.replace(url, str(broken)) == local.stdout
    assert list(tmp_path.iterdir()) == []  # a dry run writes nothing here
