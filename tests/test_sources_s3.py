"""Models in a bucket: moto's S3 server on 127.0.0.1, read by the real s3fs, never downloaded whole."""

from __future__ import annotations

import pytest

from kcompat.config import RunConfig
from kcompat.pipeline.runner import check_paths
from tests.bigmodels import write_big_h5, write_big_keras
from tests.helpers import ROOT
from tests.servers import findings_by_name, moto_s3, ranged_bytes, recorded

pytestmark = pytest.mark.remote

CORPUS = sorted(p for p in (ROOT / "fixtures").iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))
MB = 1024 * 1024


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("s3")
    with moto_s3(tmp) as endpoint:
        yield endpoint, tmp


@pytest.fixture(scope="module")
def release_env():
    from kcompat.cli.common import target_environment

    return target_environment("latest")[0]


@pytest.fixture(scope="module")
def corpus(s3):
    import s3fs

    fs = s3fs.S3FileSystem()
    fs.mkdir("corpus")
    for folder in CORPUS:
        fs.put(str(folder), f"corpus/{folder.name}", recursive=True)
    return "s3://corpus"


def test_every_fixture_reads_the_same_from_s3_as_from_disk(corpus, release_env):
    config = RunConfig(jobs=1)
    checked = 0
    for folder in CORPUS:
        local = check_paths([str(folder)], config, env=release_env)
        checked += len(local.artifacts)
        remote = check_paths([f"s3://corpus/{folder.name}"], config, env=release_env)
        assert findings_by_name(remote, f"s3://corpus/{folder.name}") == findings_by_name(local, str(folder)), folder.name
        assert [e.artifact.format for e in remote.artifacts] == [e.artifact.format for e in local.artifacts]
        assert len(remote.skipped) == len(local.skipped)
        for entry in remote.artifacts:
            if entry.artifact.problem("no-artifact"):  # a folder's placeholder, not an object
                continue
            source = entry.artifact.source
            assert source is not None and source.url == entry.artifact.path, (entry.artifact.path, entry.artifact.format, entry.artifact.problems)
            # a byte at most once (but for the 8-byte HDF5 signature probes), or twice when h5meta hands a
            # damaged file to h5py, which reads a whole local copy
            limit = source.object_size * (2 if source.downloaded else 1) + 22 * 8
            assert source.bytes_fetched <= limit, entry.artifact.path
            assert source.bytes_fetched > 0 or source.object_size == 0, entry.artifact.path
            assert not source.downloaded or entry.artifact.notes.get("hdf5_reader"), entry.artifact.path
    assert checked > 100  # the corpus is not empty


def test_forked_jobs_and_the_matrix_read_remote_paths_too(corpus, release_env):
    from kcompat.pipeline.matrix import build_matrix
    from kcompat.releases.store import environment, names

    folder = CORPUS[0]
    url = f"{corpus}/{folder.name}"
    serial = check_paths([url], RunConfig(jobs=1), env=release_env)
    forked = check_paths([url], RunConfig(jobs=2), env=release_env)  # the pool's children make their own clients
    assert findings_by_name(forked, url) == findings_by_name(serial, url)
    assert "KC123" not in [f.code for f in forked.findings]
    keras_file = next(p for p in sorted(folder.iterdir()) if p.suffix == ".keras")
    releases = [(name, environment(name)) for name in names()[-3:]]
    remote = build_matrix([f"{url}/{keras_file.name}"], releases, RunConfig())
    local = build_matrix([str(keras_file)], releases, RunConfig())
    assert [m.rows for m in remote] == [m.rows for m in local] and remote[0].rows


@pytest.mark.parametrize("kind", ["keras", "h5"])
def test_a_1gb_model_is_checked_by_fetching_under_2mb(s3, kind, tmp_path):
    from moto.s3.models import s3_backends

    endpoint, tmp = s3
    local = (write_big_keras if kind == "keras" else write_big_h5)(tmp_path / f"big.{kind}", 1.0)
    size = local.stat().st_size
    assert size >= 1024**3
    backend = s3_backends["123456789012"]["aws"]  # seeded in the server's store: an upload would take a minute
    if "big" not in backend.buckets:
        backend.create_bucket("big", "us-east-1")
    backend.put_object("big", local.name, local.read_bytes())
    recorded(endpoint, start=True)
    try:
        remote = check_paths([f"s3://big/{local.name}"], RunConfig(jobs=1, artifact_timeout=0))  # moto is slow, not us
    finally:
        recorded(endpoint, start=False)
    served, requests = ranged_bytes(tmp / "requests.jsonl", f"/big/{local.name}", size)
    source = remote.artifacts[0].artifact.source
    assert source.object_size == size
    assert source.bytes_fetched <= 2 * MB, source
    assert served == source.bytes_fetched, (served, source)  # the server's log agrees with the report
    assert requests >= source.requests > 0
    here = check_paths([str(local)], RunConfig(jobs=1))
    assert remote.artifacts[0].artifact.weights == here.artifacts[0].artifact.weights
    assert len(here.artifacts[0].artifact.weights) >= 1
    assert findings_by_name(remote, f"s3://big/{local.name}") == findings_by_name(here, str(local))
    backend.delete_object("big", local.name)


def test_a_prefix_downloads_whole_for_the_guarded_load_and_is_removed(corpus):
    from kcompat.sources import as_path, downloaded
    from tests.helpers import tree_digest

    saved = ROOT / "fixtures" / "keras3.15-tf2.21" / "seq_compiled_export"
    remote = as_path(f"{corpus}/keras3.15-tf2.21/seq_compiled_export")
    with downloaded(remote) as local:
        assert local.name == saved.name and tree_digest(local) == tree_digest(saved)
        assert remote.meter.downloaded and remote.meter.bytes == sum(p.stat().st_size for p in saved.rglob("*") if p.is_file())
    assert not local.exists()
