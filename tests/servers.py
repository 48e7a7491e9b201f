"""Real servers for the remote-source tests, each on 127.0.0.1 and stopped when its block ends.

- ``moto_s3()``: moto's standalone S3 server (``ThreadedMotoServer``), reached by real s3fs
  through the standard AWS environment variables, as a user's credentials would be;
- ``range_http(root)``: a static HTTP server that honours ``Range`` (the standard library's
  handler does not), with a request log;
- ``findings_by_name(report, prefix)``: a report's findings per artifact, with the root it was
  checked under taken out, to compare a remote check with a local one.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FAKE_AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def environ(**values: str | None):
    saved = {k: os.environ.get(k) for k in values}
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def forget_clients() -> None:
    """fsspec keeps one client per set of arguments; the endpoint comes from the environment, so a
    client made for an earlier server must not be reused."""
    import fsspec

    for name in ("s3", "http", "https"):
        fsspec.get_filesystem_class(name).clear_instance_cache()


@contextlib.contextmanager
def moto_s3(tmp: Path):
    """A moto S3 server; yields its endpoint. The request recorder writes to ``tmp/requests.jsonl``."""
    log = tmp / "requests.jsonl"
    with environ(MOTO_RECORDER_FILEPATH=str(log)):
        from moto.moto_api import recorder
        from moto.server import ThreadedMotoServer

        recorder._location = str(log)  # noqa: SLF001 - the recorder read its path at import, maybe before us
        port = free_port()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        endpoint = f"http://127.0.0.1:{port}"
        try:
            with environ(AWS_ENDPOINT_URL=endpoint, **FAKE_AWS):
                forget_clients()
                yield endpoint
        finally:
            server.stop()
            forget_clients()


def recorded(endpoint: str, start: bool) -> None:
    import urllib.request

    action = "start-recording" if start else "stop-recording"
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/recorder/{action}", method="POST"), timeout=10)


def ranged_bytes(log: Path, key: str, size: int) -> tuple[int, int]:
    """(bytes, requests) the server sent for ``key``, from its request log: the sum of the ranges asked."""
    total = count = 0
    for line in log.read_text().splitlines() if log.exists() else []:
        entry = json.loads(line)
        if not entry["url"].split("?")[0].endswith(key):
            continue
        count += 1
        if entry["method"] != "GET":
            continue
        match = re.match(r"bytes=(\d+)-(\d*)", {k.lower(): v for k, v in entry["headers"].items()}.get("range", ""))
        if match is None:
            total += size  # a GET without a range is the whole object
        else:
            first, last = int(match.group(1)), int(match.group(2) or size - 1)
            total += min(last, size - 1) - first + 1
    return total, count


class RangeHandler(SimpleHTTPRequestHandler):
    """Serves files with ``Range: bytes=A-B`` honoured (206), and logs every request's range."""

    log: list = []

    def log_message(self, *args) -> None:  # quiet: the log list is the record
        pass

    def send_head(self):
        self.log.append((self.command, self.path, self.headers.get("Range")))
        path = Path(self.translate_path(self.path))
        match = re.match(r"bytes=(\d+)-(\d*)$", self.headers.get("Range") or "")
        if path.is_dir() or match is None:
            return super().send_head()
        if not path.is_file():
            self.send_error(404)
            return None
        size = path.stat().st_size
        first, last = int(match.group(1)), min(int(match.group(2) or size - 1), size - 1)
        if first >= size:
            self.send_error(416)
            return None
        fh = path.open("rb")
        fh.seek(first)
        self.send_response(206)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
        self.send_header("Content-Length", str(last - first + 1))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        return LimitedFile(fh, last - first + 1)

    def end_headers(self) -> None:
        self.send_header("Accept-Ranges", "bytes")
        super().end_headers()


class LimitedFile:
    """The part of a file a range asks for, for ``copyfile``."""

    def __init__(self, fh, n: int) -> None:
        self.fh, self.left = fh, n

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        data = self.fh.read(n)
        self.left -= len(data)
        return data

    def close(self) -> None:
        self.fh.close()


@contextlib.contextmanager
def range_http(root: Path, handler: type = RangeHandler):
    """A threaded HTTP server over ``root``; yields (base URL, request log)."""
    log: list = []
    cls = type("Handler", (handler,), {"log": log})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(cls, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", log
    finally:
        server.shutdown()
        server.server_close()


def findings_by_name(report, prefix: str) -> dict[str, list]:
    """{artifact path under ``prefix``: [(code, message, location)]}, the root taken out of every text."""
    out = {}
    for entry in report.artifacts:
        rel = entry.artifact.path.replace(prefix, "<root>")
        out[rel] = sorted((f.code, f.message.replace(prefix, "<root>"), f.location or "", (f.fix or "").replace(prefix, "<root>"))
                          for f in entry.findings)
    return out


@contextlib.contextmanager
def mlflow_server(tmp: Path):
    """A real MLflow tracking server (sqlite backend, local artifact store) on 127.0.0.1; yields its URI."""
    import shutil
    import subprocess
    import sys
    import time
    import urllib.request

    exe = shutil.which("mlflow", path=str(Path(sys.executable).parent)) or "mlflow"
    port = free_port()
    uri = f"http://127.0.0.1:{port}"
    log = (tmp / "mlflow-server.log").open("wb")
    proc = subprocess.Popen([exe, "server", "--backend-store-uri", f"sqlite:///{tmp}/mlflow.db",
                             "--default-artifact-root", (tmp / "artifacts").as_uri(), "--host", "127.0.0.1",
                             "--port", str(port), "--workers", "1"], stdout=log, stderr=subprocess.STDOUT, cwd=tmp)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the MLflow server did not start: {(tmp / 'mlflow-server.log').read_text()[-2000:]}")
            time.sleep(0.5)
        with environ(MLFLOW_TRACKING_URI=uri):
            yield uri
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
