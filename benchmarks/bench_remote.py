"""A 1 GB model checked where it lives: bytes fetched, requests, and time against a local check.

Prints, measured in this one run, for a 1 GB `.keras` and a 1 GB `.h5` (built without TensorFlow by
tests/bigmodels.py, as bench_static.py builds its big file):
1. on moto's S3 server (ThreadedMotoServer on 127.0.0.1, read by s3fs): the bytes kcompat fetched,
   as its report counts them and as the server's request log shows them (target: <= 2 MB each), and
   the wall time of a fresh-process `kcompat check s3://...` against the same check of the local file;
2. on a local HTTP server that honours Range (served by seeking, as S3 or GCS serve a range): the
   same check by `http://` URL, and the ratio remote/local (target: <= 3x for the .keras);
3. the cost of one 8-byte ranged GET of the 1 GB object on moto: moto copies the whole object for
   every GET (its FakeKey.value), a cost real object stores do not have, and it dominates (1).

Run: `.venv/bin/python benchmarks/bench_remote.py` (needs the remote-test extra: moto, s3fs, aiohttp).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.timing import ENV  # noqa: E402
from tests.bigmodels import write_big_h5, write_big_keras  # noqa: E402
from tests.servers import FAKE_AWS, moto_s3, range_http, ranged_bytes, recorded  # noqa: E402

MB = 1024 * 1024


def check(target: str, out: Path, env: dict) -> tuple[float, dict]:
    cmd = [sys.executable, "-m", "kcompat", "check", target, "--no-report", "-q", "--no-env", "-o", f"json={out}"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    took = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{target}: kcompat failed ({proc.returncode}): {proc.stderr[-800:]}")
    return took, json.loads(out.read_text())["artifacts"][0]["artifact"]


def median_check(target: str, out: Path, env: dict, runs: int) -> tuple[float, dict]:
    results = [check(target, out, env) for _ in range(runs)]
    return statistics.median(t for t, _ in results), results[-1][1]


def one_get(endpoint: str, key: str) -> float:
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    start = time.perf_counter()
    client.get_object(Bucket="big", Key=key, Range="bytes=0-7")["Body"].read()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh-process runs per local and HTTP check (median)")
    parser.add_argument("--moto-runs", type=int, default=1, help="runs per moto check (each GET there costs ~1 s)")
    parser.add_argument("--gb", type=float, default=1.0)
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="kcompat-bench-remote-"))
    try:
        files = {"keras": write_big_keras(tmp / "big.keras", args.gb), "h5": write_big_h5(tmp / "big.h5", args.gb)}
        local = {k: median_check(str(p), tmp / f"local-{k}.json", ENV, args.runs) for k, p in files.items()}
        print(f"1 GB models ({', '.join(f'{p.name} {p.stat().st_size / MB:,.0f} MiB' for p in files.values())}); "
              f"fresh-process `kcompat check --no-env`, median of {args.runs}")
        with range_http(tmp) as (base, log):
            print("\nlocal HTTP server with Range (like S3/GCS: a range costs its length):")
            for kind, path in files.items():
                t_remote, facts = median_check(f"{base}/{path.name}", tmp / f"http-{kind}.json", ENV, args.runs)
                t_local = local[kind][0]
                src = facts["source"]
                print(f"  .{kind:<6} local {t_local * 1000:7.0f} ms   http {t_remote * 1000:7.0f} ms   ratio {t_remote / t_local:4.2f}x"
                      f"{' (target <= 3)' if kind == 'keras' else ''}   fetched {src['bytes_fetched']:,} bytes in "
                      f"{src['requests']} requests of {src['object_size']:,}")
                assert facts["weights"] == local[kind][1]["weights"], "the remote check read other weights"
        with moto_s3(tmp) as endpoint:
            from moto.s3.models import s3_backends

            backend = s3_backends["123456789012"]["aws"]
            backend.create_bucket("big", "us-east-1")
            env = {**ENV, **FAKE_AWS, "AWS_ENDPOINT_URL": endpoint}
            print("\nmoto S3 server, read by s3fs:")
            for kind, path in files.items():
                backend.put_object("big", path.name, path.read_bytes())
                (tmp / "requests.jsonl").unlink(missing_ok=True)
                recorded(endpoint, start=True)
                t_remote, facts = median_check(f"s3://big/{path.name}", tmp / f"s3-{kind}.json", env, args.moto_runs)
                recorded(endpoint, start=False)
                served, count = ranged_bytes(tmp / "requests.jsonl", f"/big/{path.name}", path.stat().st_size)
                src = facts["source"]
                get = one_get(endpoint, path.name)
                print(f"  .{kind:<6} fetched {src['bytes_fetched']:,} bytes (server log: {served // max(args.moto_runs, 1):,}) "
                      f"in {src['requests']} requests; {src['bytes_fetched'] / MB:.2f} MB (target <= 2)")
                gets = max(count // max(args.moto_runs, 1) - 1, 1)  # less the HEAD
                print(f"          local {local[kind][0] * 1000:7.0f} ms   s3 {t_remote * 1000:7.0f} ms   ratio "
                      f"{t_remote / local[kind][0]:5.1f}x; one 8-byte GET of this object on moto: {get * 1000:.0f} ms, "
                      f"so moto's {gets} whole-object copies are ~{gets * get * 1000:.0f} ms of it")
                backend.delete_object("big", path.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
