"""Guarded-load worker: the MultiWorkerMirroredStrategy launcher (no TF).

``python worker mwms SPEC.json`` brings loopback up inside the fresh network namespace, starts two real
``run`` workers (this same folder) with ``TF_CONFIG`` naming a two-worker cluster, and waits for both.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

# The worker folder: ``python <folder> run SPEC.json`` runs its ``__main__.py``.
WORKER_DIR = os.path.dirname(os.path.abspath(__file__))


def loopback_up() -> str:
    """Bring ``lo`` up inside a fresh network namespace (needed by the two MWMS workers)."""
    import fcntl
    import socket
    import struct

    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        ifr = struct.pack("16sH", b"lo", 0)
        flags = struct.unpack("16sH", fcntl.ioctl(s, siocgifflags, ifr)[:18])[1]
        if not flags & iff_up:
            fcntl.ioctl(s, siocsifflags, struct.pack("16sH", b"lo", flags | iff_up))
        return "lo-up"
    finally:
        s.close()


def mwms_launch(spec_path: str) -> int:
    spec = json.load(open(spec_path))
    out = spec["out_dir"]
    info: dict = {"net": None, "workers": []}
    if spec.get("net_isolated"):
        try:
            info["net"] = loopback_up()
        except Exception as e:  # pragma: no cover - depends on the kernel
            info["net"] = f"lo-up failed: {e}"
    ports = spec["ports"]
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs = []
    for i in range(len(ports)):
        env = dict(os.environ)
        env["TF_CONFIG"] = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})
        env["KC_WORKER_INDEX"] = str(i)
        log = open(os.path.join(out, f"worker{i}.log"), "ab")
        procs.append(
            subprocess.Popen([sys.executable, WORKER_DIR, "run", spec_path], env=env, stdout=log, stderr=log)
        )
    # When one worker dies abnormally, the other would wait on a collective forever: stop it.
    while True:
        codes = [p.poll() for p in procs]
        if all(c is not None for c in codes):
            break
        if any(c is not None and c != 0 for c in codes):
            time.sleep(3)
            for p in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            time.sleep(2)
            for p in procs:
                if p.poll() is None:
                    p.kill()
        time.sleep(0.1)
    info["workers"] = [p.returncode for p in procs]
    with open(os.path.join(out, "launcher.json"), "w") as f:
        json.dump(info, f)
    return 0
