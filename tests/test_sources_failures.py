"""A remote failure is a finding on that artifact, with its cause and fix, and the run goes on.

Each failure is real: a server that answers 403 or 404, a port nobody listens on, a server that
never answers, and an S3 server asked without credentials.
"""

from __future__ import annotations

import json
import time
from http.server import SimpleHTTPRequestHandler

import pytest

from kcompat.config import RunConfig
from kcompat.pipeline.runner import check_paths
from tests.helpers import ROOT, run_cli
from tests.servers import environ, forget_clients, free_port, moto_s3, range_http

pytestmark = pytest.mark.remote

GOOD = ROOT / "fixtures" / "keras3.15-tf2.21" / "seq_compiled.keras"


class Refusing(SimpleHTTPRequestHandler):
    """403 for everything under /private/, a slow answer under /slow/; files elsewhere."""

    log: list = []

    def log_message(self, *args) -> None:
        pass

    def send_head(self):
        if self.path.startswith("/private/"):
            self.send_error(403, "Forbidden")
            return None
        if self.path.startswith("/slow/"):
            time.sleep(4)
        return super().send_head()


@pytest.fixture(autouse=True)
def fresh_clients():
    forget_clients()
    yield
    forget_clients()


def only(report, code: str):
    entry = report.artifacts[0]
    assert [f.code for f in entry.findings] == [code], entry.findings
    return entry.findings[0]


def test_http_403_404_refused_and_timeout_are_findings_and_the_run_goes_on():
    config = RunConfig(jobs=1, remote_timeout=1)
    with range_http(GOOD.parent, handler=Refusing) as (base, _):
        refused = f"http://127.0.0.1:{free_port()}/model.keras"
        urls = [f"{base}/private/model.keras", f"{base}/nowhere.keras", refused, f"{base}/slow/model.keras"]
        started = time.monotonic()
        report = check_paths([*urls, str(GOOD)], config)
        took = time.monotonic() - started
    by_path = {e.artifact.path: e for e in report.artifacts}
    assert list(by_path) == [*urls, str(GOOD)]
    forbidden = by_path[urls[0]].findings[0]
    assert forbidden.code == "KC123" and "403" in forbidden.message and "access" in forbidden.fix.lower()
    assert [f.code for f in by_path[urls[1]].findings] == ["KC100"]  # 404: the object is not there
    refusal = by_path[refused].findings[0]
    assert refusal.code == "KC123" and "cannot connect" in refusal.message and "endpoint" in refusal.fix
    slow = by_path[urls[3]].findings
    assert [f.code for f in slow] == ["KC123"] and "in time" in slow[0].message, slow
    assert by_path[str(GOOD)].artifact.format.value == "keras-zip"  # the run went on
    assert took < 30
    assert report.exit_code == 1


def test_s3_without_credentials_and_a_missing_key(tmp_path):
    with moto_s3(tmp_path) as endpoint:
        import s3fs

        fs = s3fs.S3FileSystem()
        fs.mkdir("models")
        fs.put(str(GOOD), "models/seq.keras")
        present = check_paths(["s3://models/seq.keras", "s3://models/absent.keras"], RunConfig(jobs=1))
        assert present.artifacts[0].artifact.format.value == "keras-zip"
        assert [f.code for f in present.artifacts[1].findings] == ["KC100"]
        no_creds = {"AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None, "AWS_SESSION_TOKEN": None,
                    "AWS_PROFILE": None, "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
                    "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_EC2_METADATA_DISABLED": "true",
                    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": None, "AWS_CONTAINER_CREDENTIALS_FULL_URI": None}
        with environ(**no_creds):
            forget_clients()
            finding = only(check_paths(["s3://models/seq.keras"], RunConfig(jobs=1)), "KC123")
        assert "no credentials" in finding.message and "AWS_ACCESS_KEY_ID" in finding.fix
    with environ(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing"):
        forget_clients()  # the server is gone: its port now refuses
        finding = only(check_paths(["s3://models/seq.keras"], RunConfig(jobs=1, remote_timeout=2)), "KC123")
    assert "cannot connect" in finding.message, finding.message


def test_exit_codes_follow_the_usual_rules(tmp_path):
    refused = f"http://127.0.0.1:{free_port()}/model.keras"
    proc = run_cli("check", refused, str(GOOD), "--no-env", "--no-report", "-o", f"json={tmp_path / 'r.json'}")
    assert proc.returncode == 1, proc.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert [a["artifact"]["format"] for a in report["artifacts"]] == ["unreachable", "keras-zip"]
    assert report["artifacts"][0]["findings"][0]["code"] == "KC123"
    assert run_cli("check", refused, "--no-env", "--no-report", "--ignore", "KC123").returncode == 0
    assert run_cli("check", refused, "--no-env", "--no-report", "--remote-timeout", "-1").returncode == 2
