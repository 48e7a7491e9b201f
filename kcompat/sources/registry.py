"""MLflow URIs: ``models:/NAME/VERSION`` (``models:/NAME@alias``, ``models:/NAME/latest``) and
``runs:/RUN_ID/PATH``.

MLflow's own client resolves the URI to the artifact location it stands for (``s3://``, ``gs://``,
a local or ``file://`` store, or the tracking server's artifact proxy), and that location is read
in place like any other, by ranged reads; the report keeps the URI the user gave. The tracking
server and credentials come from MLflow's standard settings (``MLFLOW_TRACKING_URI`` and so on).
"""

from __future__ import annotations

import os
from urllib.parse import urlparse

from kcompat.sources import options
from kcompat.sources.errors import RemoteError, names, translate
from kcompat.sources.remote import Meter, RemotePath, remote_path

FIX = "set MLFLOW_TRACKING_URI to the tracking server (and its credentials, e.g. MLFLOW_TRACKING_TOKEN), then check the name and version"


def resolve(uri: str) -> RemotePath:
    try:
        import mlflow  # noqa: F401 - only to tell a missing install apart
    except ImportError:
        raise RemoteError(uri, "reading models:/ and runs:/ URIs needs mlflow, which is not installed",
                          "pip install 'kcompat[mlflow]'") from None
    # MLflow retries a dead tracking server for minutes by default: as long as kcompat's own timeout, unless set
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(int(options.TIMEOUT_S)))
    base, rest = split(uri.rstrip("/"))
    try:
        location = underlying(base)
    except Exception as exc:  # noqa: BLE001 - MlflowException, requests' errors...
        raise registry_error(uri, exc) from exc
    target = located(location)
    root = RemotePath(target.fs, target.path, Meter(), alias=(target.path, base))
    if root.is_file():  # a registered file keeps its name, which tells Keras which reader to use
        folder = base[: -len(target.name) - 1] if base.endswith("/" + target.name) else base
        root = RemotePath(target.fs, target.path, Meter(), alias=(target.parent.path, folder))
        return root if rest in ("", root.name) else root.parent / rest
    return root / rest if rest else root


def split(uri: str) -> tuple[str, str]:
    """``models:/NAME/VERSION`` (or ``models:/NAME@alias``) and the path below it, which the
    registry does not resolve: an artifact found inside a registered model's folder."""
    if not uri.startswith("models:/"):
        return uri, ""
    parts = uri[len("models:/"):].split("/")
    head = 1 if "@" in parts[0] else 2
    return "models:/" + "/".join(parts[:head]), "/".join(parts[head:])


def underlying(uri: str) -> str:
    if uri.startswith("models:/"):
        from mlflow.store.artifact.models_artifact_repo import ModelsArtifactRepository

        return ModelsArtifactRepository.get_underlying_uri(uri)
    from mlflow.store.artifact.runs_artifact_repo import RunsArtifactRepository

    return RunsArtifactRepository.get_underlying_uri(uri)


def located(location: str) -> RemotePath:
    """The artifact location as a path kcompat reads: a local store through fsspec's local
    filesystem (so its reads are counted too), the artifact proxy over HTTP, or a bucket."""
    parsed = urlparse(location)
    if parsed.scheme in ("", "file"):
        from fsspec.implementations.local import LocalFileSystem

        return RemotePath(LocalFileSystem(), parsed.path if parsed.scheme else location, Meter())
    if parsed.scheme == "mlflow-artifacts":
        from mlflow.tracking import get_tracking_uri

        base = f"{parsed.scheme}://{parsed.netloc}" if parsed.netloc else get_tracking_uri().rstrip("/")
        return remote_path(f"{base}/api/2.0/mlflow-artifacts/artifacts{parsed.path}")
    return remote_path(location)


def registry_error(uri: str, exc: BaseException) -> RemoteError:
    text = f"{type(exc).__name__}: {exc}"[:300]
    code = getattr(exc, "error_code", "")
    if code == "RESOURCE_DOES_NOT_EXIST" or "RESOURCE_DOES_NOT_EXIST" in str(exc):
        return RemoteError(uri, f"the registry has no such model version or run ({text})",
                           "check the name and version: MlflowClient().search_model_versions(\"name='NAME'\") lists them")
    if code in ("PERMISSION_DENIED", "UNAUTHENTICATED") or names(exc) & {"PermissionError"}:
        return RemoteError(uri, f"the tracking server refused access ({text})", FIX)
    if names(exc) & {"ConnectionError", "MaxRetryError", "NewConnectionError", "ConnectTimeout", "ReadTimeout"}:
        return RemoteError(uri, f"cannot reach the MLflow tracking server ({text})", FIX)
    return translate(uri, exc)
