"""Process and sandbox utilities of the guarded load (parent side, no TF/Keras).

What ``runner.Launch`` builds its containment from: the network namespace check (``unshare -n``), a cgroup v2
memory cap where the hierarchy is delegated, free loopback ports for the multi-worker cluster, the processes of a
process group and their resident set size read from ``/proc``, signal names, and the tail of a log file.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
from functools import cache
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")


@cache
def unshare_net_works() -> bool:
    """True when ``unshare -n`` can create a network namespace here (root in a container, usually)."""
    exe = shutil.which("unshare")
    if not exe:
        return False
    try:
        return subprocess.run([exe, "-n", "true"], capture_output=True, timeout=10, check=False).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def free_ports(n: int) -> list[int]:
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                data = f.read()
        except OSError:
            continue
        # field 5 (pgrp) comes after the ')' that closes the command name
        rest = data[data.rfind(b")") + 2 :].split()
        if len(rest) > 2 and int(rest[2]) == pgid:
            pids.append(int(entry.name))
    return pids


def rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * PAGE / 2**20
    except (OSError, IndexError, ValueError):
        return 0.0


def signal_name(returncode: int | None) -> str | None:
    if returncode is None or returncode >= 0:
        return None
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"SIG{-returncode}"


def tail(path: Path, lines: int = 40, chars: int = 6000) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])[-chars:]


@cache
def _cgroup_v2_usable() -> bool:
    """A writable cgroup v2 hierarchy with the memory controller delegated to its root."""
    root = Path("/sys/fs/cgroup")
    try:
        ctrls = (root / "cgroup.controllers").read_text().split()
        sub = (root / "cgroup.subtree_control").read_text().split()
    except OSError:
        return False
    return "memory" in ctrls and "memory" in sub and os.access(root, os.W_OK)


def cgroup_join(pid: int, name: str, memory_max: int) -> Path | None:
    """Put ``pid`` in a new cgroup v2 ``name`` with ``memory.max`` (bytes) and no swap; None where that fails.

    The RSS watch stays on either way; the cgroup adds a kernel-enforced cap. Not exercised on
    the development machine (cgroup v1 / hybrid there), so every step falls back silently.
    """
    if not _cgroup_v2_usable():
        return None
    cg = Path("/sys/fs/cgroup") / name
    try:
        cg.mkdir()
        (cg / "memory.max").write_text(str(memory_max))
        try:
            (cg / "memory.swap.max").write_text("0")
        except OSError:
            pass
        (cg / "cgroup.procs").write_text(str(pid))
    except OSError:
        try:
            cg.rmdir()
        except OSError:
            pass
        return None
    return cg


def cgroup_oom_killed(cg: Path) -> bool:
    """True when the kernel's OOM killer killed a process of cgroup ``cg``."""
    try:
        for line in (cg / "memory.events").read_text().splitlines():
            key, _, val = line.partition(" ")
            if key == "oom_kill" and int(val) > 0:
                return True
    except (OSError, ValueError):
        pass
    return False
