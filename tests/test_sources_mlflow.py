"""Models in an MLflow registry: a real tracking server (sqlite, local artifact store) on 127.0.0.1,
a fixture folder and a single .keras registered, and checked by models:/ and runs:/ URIs."""

from __future__ import annotations

import pytest

from kcompat.config import RunConfig
from kcompat.pipeline.runner import check_paths
from tests.helpers import ROOT
from tests.servers import environ, free_port, mlflow_server

pytestmark = pytest.mark.remote

FOLDER = ROOT / "fixtures" / "keras3.15-tf2.21"
LAMBDA = FOLDER / "lambda.keras"


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mlflow")
    with mlflow_server(tmp) as uri:
        import mlflow
        from mlflow import MlflowClient

        with mlflow.start_run() as run:
            mlflow.log_artifacts(str(FOLDER), artifact_path="model")
            mlflow.log_artifact(str(LAMBDA), artifact_path="single")
        client = MlflowClient(uri)
        client.create_registered_model("k315")
        client.create_model_version("k315", f"{run.info.artifact_uri}/model", run_id=run.info.run_id)
        client.create_registered_model("lam")
        version = client.create_model_version("lam", f"{run.info.artifact_uri}/single/lambda.keras", run_id=run.info.run_id)
        client.set_registered_model_alias("lam", "prod", version.version)
        yield uri, run.info.run_id


@pytest.fixture(scope="module")
def release_env():
    from kcompat.cli.common import target_environment

    return target_environment("latest")[0]


def by_name(report, prefix: str) -> dict:
    from tests.servers import findings_by_name

    return findings_by_name(report, prefix)


def test_a_registered_folder_gives_the_local_findings(registry, release_env):
    config = RunConfig(jobs=1)
    remote = check_paths(["models:/k315/1"], config, env=release_env)
    local = check_paths([str(FOLDER)], config, env=release_env)
    assert by_name(remote, "models:/k315/1") == by_name(local, str(FOLDER))
    assert len(remote.artifacts) > 40
    assert all(e.artifact.source.url.startswith("models:/k315/1/") for e in remote.artifacts)


@pytest.mark.parametrize("uri", ["models:/lam/1", "models:/lam@prod", "runs:/{run}/single/lambda.keras"])
def test_one_registered_file_by_version_alias_or_run(registry, release_env, uri):
    uri = uri.format(run=registry[1])
    remote = check_paths([uri], RunConfig(jobs=1), env=release_env)
    local = check_paths([str(LAMBDA)], RunConfig(jobs=1), env=release_env)
    shown = uri if uri.endswith("lambda.keras") else f"{uri}/lambda.keras"  # a registered file keeps its name
    assert remote.artifacts[0].artifact.path == shown
    assert by_name(remote, shown) == by_name(local, str(LAMBDA))
    assert "KC701" in [f.code for f in remote.findings]
    source = remote.artifacts[0].artifact.source
    assert source.url == shown and source.object_size == LAMBDA.stat().st_size
    again = check_paths([shown], RunConfig(jobs=1), env=release_env)  # the name shown resolves again
    assert by_name(again, shown) == by_name(remote, shown)


def test_registry_failures_are_findings(registry):
    report = check_paths(["models:/absent/3", str(LAMBDA)], RunConfig(jobs=1))
    missing = report.artifacts[0].findings
    assert [f.code for f in missing] == ["KC123"] and "no such model version" in missing[0].message
    assert "search_model_versions" in missing[0].fix
    assert report.artifacts[1].artifact.format.value == "keras-zip"
    with environ(MLFLOW_TRACKING_URI=f"http://127.0.0.1:{free_port()}"):
        down = check_paths(["models:/lam/1"], RunConfig(jobs=1, remote_timeout=2)).artifacts[0].findings
    assert [f.code for f in down] == ["KC123"] and "MLFLOW_TRACKING_URI" in down[0].fix, down
