"""Fleet scans: JSONL streaming and --resume on moto's S3 server, kcompat.api on executors, --dask on
a real distributed.LocalCluster with two worker processes."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from kcompat.api import check, check_many
from kcompat.artifacts.detect import MODEL_SUFFIXES
from kcompat.config import RunConfig
from tests.helpers import ROOT, run_cli
from tests.servers import moto_s3, recorded

pytestmark = pytest.mark.remote

FOLDER = ROOT / "fixtures" / "keras3.15-tf2.21"


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fleet-s3")
    with moto_s3(tmp) as endpoint:
        import s3fs

        fs = s3fs.S3FileSystem()
        fs.mkdir("fleet")
        fs.put(str(FOLDER), "fleet/copy00", recursive=True)
        yield endpoint, tmp, fs


def lines(path) -> dict[str, dict]:
    out = {}
    for text in path.read_text().splitlines():
        data = json.loads(text)
        data.pop("load_wall_s", None)  # a timing
        if data["artifact"].get("source"):  # a worker lists nothing, so it asks for each object's size itself
            data["artifact"]["source"].pop("requests")
        out[data["artifact"]["path"]] = data
    return out


def test_a_1000_artifact_jsonl_run_resumes_without_rechecking(s3, tmp_path):
    endpoint, tmp, fs = s3
    for n in range(1, 22):
        fs.copy("fleet/copy00", f"fleet/copy{n:02d}", recursive=True)
    out = tmp_path / "fleet.jsonl"
    first = run_cli("check", "s3://fleet/", "--no-env", "--no-report", "--jobs", "2", "-o", f"jsonl={out}")
    assert first.returncode == 1, first.stderr  # KC601 errors in the corpus
    written = lines(out)
    per_copy = len(list(check_many([str(FOLDER)], RunConfig())))
    assert len(written) == 22 * per_copy >= 1000
    assert f"{len(written)} artifacts, {len(written)} checked, 0 unchanged" in first.stdout, first.stdout
    assert all(line["stamp"].get("etag") for line in written.values())
    recorded(endpoint, start=True)
    try:
        again = run_cli("check", "s3://fleet/", "--no-env", "--no-report", "--resume", str(out))
    finally:
        recorded(endpoint, start=False)
    assert again.returncode == 1, again.stderr  # the fleet's findings still count
    assert f"{len(written)} artifacts, 0 checked, {len(written)} unchanged" in again.stdout, again.stdout
    assert len(out.read_text().splitlines()) == len(written)  # nothing appended
    log = [json.loads(t) for t in (tmp / "requests.jsonl").read_text().splitlines()]
    reads = [e["url"] for e in log if e["method"] == "GET" and "list-type" not in e["url"]]
    sniffed = [u for u in reads if not u.endswith(tuple(MODEL_SUFFIXES))]  # a .json may be a model config: looked at
    assert reads == sniffed and len(set(sniffed)) == len(sniffed) <= 22 * 3, reads[:5]
    fs.pipe("fleet/copy03/seq_compiled.h5", (FOLDER / "adamw.h5").read_bytes())  # one object changes
    changed = run_cli("check", "s3://fleet/", "--no-env", "--no-report", "--resume", str(out))
    assert f"1 checked, {len(written) - 1} unchanged" in changed.stdout, changed.stdout


def test_dask_gives_the_same_jsonl_as_a_local_run(s3, tmp_path):
    from distributed import LocalCluster

    paths = [str(FOLDER), "s3://fleet/copy00", str(ROOT / "fixtures" / "tf2.12")]
    here = tmp_path / "here.jsonl"
    local = run_cli("check", *paths, "--no-env", "--no-report", "--jobs", "1", "-o", f"jsonl={here}")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        assert len(cluster.workers) == 2
        there = tmp_path / "dask.jsonl"
        remote = run_cli("check", *paths, "--no-env", "--no-report", "--dask", cluster.scheduler_address, "-o", f"jsonl={there}")
    assert remote.returncode == local.returncode == 1, remote.stderr
    a, b = lines(here), lines(there)
    assert len(a) > 60 and sorted(a) == sorted(b)
    for key in a:
        assert a[key] == b[key], key
    assert remote.stdout.splitlines()[:-1] == local.stdout.splitlines()[:-1]  # the same summary, but for the file named


def test_the_api_checks_one_artifact_and_many_on_any_executor():
    one = check(str(FOLDER / "seq_compiled.keras"), RunConfig())
    assert one.artifact.format.value == "keras-zip" and one.artifact.layers
    serial = {e.artifact.path: e for e in check_many([str(FOLDER)], RunConfig())}
    with ThreadPoolExecutor(2) as pool:
        pooled = {e.artifact.path: e for e in check_many([str(FOLDER)], RunConfig(), executor=pool)}
    assert len(serial) > 40 and serial == pooled
    assert serial[str(FOLDER / "seq_compiled.keras")] == one


def test_with_several_targets_each_line_holds_the_matrix_row_of_each_release(tmp_path):
    folder = ROOT / "fixtures" / "tf2.12"
    out, matrix = tmp_path / "fleet.jsonl", tmp_path / "matrix.json"
    targets = ("--target", "keras==3.3.3", "--target", "latest")
    page = tmp_path / "fleet.html"
    fleet = run_cli("check", str(folder), *targets, "--no-report", "-o", f"jsonl={out}", "-o", f"html={page}")
    table = run_cli("matrix", str(folder), *targets, "--json", str(matrix))
    assert fleet.returncode == 1 and table.returncode in (0, 1), fleet.stderr + table.stderr
    expected = {m["path"]: m["rows"] for m in json.loads(matrix.read_text())["matrix"]}
    got = {path: line["targets"] for path, line in lines(out).items()}
    assert got == expected and len(got) > 20
    breaks = sum(1 for rows in expected.values() if not any(c["ok"] for c in rows[0]["loaders"].values()))
    loads = len(expected) - breaks
    assert f"{loads:>7} / {breaks:<7} {rows_release(expected)}" in fleet.stdout, fleet.stdout
    cells = f'<tr><td>{rows_release(expected)}</td><td class="num">{loads}</td><td class="num">{breaks}</td></tr>'
    assert cells in page.read_text("utf-8")


def rows_release(matrix: dict) -> str:
    return next(iter(matrix.values()))[0]["release"]
