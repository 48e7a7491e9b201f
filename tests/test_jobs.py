"""--jobs: parallel checking gives the report a serial run gives, in the order of the paths."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from kcompat.artifacts import discover
from kcompat.cli import main
from kcompat.model import Artifact, ArtifactReport, Format
from kcompat.pipeline.parallel import NUMBER, PIPE_ROOM, check_all, schedule

ROOT = Path(__file__).resolve().parent.parent
TIMINGS = {"duration_s", "started_at", "load_wall_s", "wall_s"}


def without_timings(value):
    if isinstance(value, dict):
        return {k: without_timings(v) for k, v in value.items() if k not in TIMINGS}
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    return value


def test_jobs_2_reports_what_jobs_1_reports_byte_for_byte_apart_from_timings(tmp_path):
    paths = [str(p) for p in discover(ROOT / "fixtures")][::4][:60]  # every format, damaged files included
    texts = []
    for jobs in (1, 2):
        out = tmp_path / f"jobs{jobs}.json"
        code = main(["check", *paths, "--no-env", "-q", "--jobs", str(jobs), "--json", str(out)])
        texts.append((code, json.dumps(without_timings(json.loads(out.read_text())))))
    assert len(json.loads(texts[0][1])["artifacts"]) > 40
    assert texts[0] == texts[1]


def test_the_order_is_the_order_of_the_paths_whatever_finishes_first(tmp_path):
    fixtures = sorted(discover(ROOT / "fixtures" / "keras3.15-tf2.21"))[:6]
    paths = [str(p) for p in reversed(fixtures)]
    out = tmp_path / "r.json"
    main(["check", *paths, "--no-env", "-q", "--jobs", "3", "--json", str(out)])
    assert [a["artifact"]["path"] for a in json.loads(out.read_text())["artifacts"]] == paths


def _report(path: str) -> ArtifactReport:
    return ArtifactReport(artifact=Artifact(path=path, format=Format.unknown, notes={"pid": os.getpid()}))


def test_the_parent_and_the_workers_share_the_chunks():
    def check(item, config, env, rules, tf_keras_env, progress=None):
        time.sleep(0.01)  # long enough for every process to get chunks
        return _report(item)

    items = [f"artifact/{i}" for i in range(120)]
    reports = check_all(items, 3, check, None, None, [], None)
    assert [r.artifact.path for r in reports] == items
    pids = {r.artifact.notes["pid"] for r in reports}
    assert os.getpid() in pids and len(pids) == 3


def test_artifacts_of_a_worker_that_died_are_checked_by_the_parent():
    parent = os.getpid()

    def check(item, config, env, rules, tf_keras_env, progress=None):
        if os.getpid() != parent:
            os._exit(70)  # as if killed mid-chunk
        return _report(item)

    items = [f"artifact/{i}" for i in range(60)]
    reports = check_all(items, 2, check, None, None, [], None)
    assert [r.artifact.path for r in reports] == items
    assert {r.artifact.notes["pid"] for r in reports} == {parent}


@pytest.mark.parametrize(("count", "jobs"), [(2, 2), (3, 2), (200, 2), (1000, 16), (2_000_000, 1000)])
def test_the_schedule_covers_every_item_once_in_order_and_fits_the_pipe(count, jobs):
    chunks = schedule(count, jobs)
    assert [i for chunk in chunks for i in chunk] == list(range(1, count))  # item 0 is checked before the fork
    assert len(chunks) * NUMBER.size <= PIPE_ROOM
    sizes = [len(chunk) for chunk in chunks]
    assert sizes == sorted(sizes, reverse=True)  # large first, small last: the processes end together


def test_a_run_that_also_streams_jsonl_writes_its_json_in_the_order_of_the_paths(tmp_path):
    # with -o jsonl the artifacts go to a process pool and come back as they finish; the JSON report
    # still lists them as a run without JSONL does
    paths = [str(p) for p in discover(ROOT / "fixtures")][::3][:40]
    main(["check", *paths, "--no-env", "-q", "--jobs", "2", "--json", str(tmp_path / "plain.json")])
    main(["check", *paths, "--no-env", "-q", "--jobs", "2", "--json", str(tmp_path / "fleet.json"),
          "-o", f"jsonl={tmp_path / 'fleet.jsonl'}"])
    order = [[a["artifact"]["path"] for a in json.loads((tmp_path / name).read_text())["artifacts"]]
             for name in ("plain.json", "fleet.json")]
    assert len(order[0]) > 30 and order[0] == order[1]
