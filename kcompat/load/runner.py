"""Parent side of the guarded load: spawn, watch, contain, collect. Imports no TF/Keras.

How a matrix runs
-----------------
* **Few processes, units in sequence.** TF import costs seconds (about 4 s on this 2-core box,
  where a bare ``load_model`` in a fresh process takes ~4 s in all), so one worker process runs
  several (strategy, loader) *units* in order, each inside its own ``strategy.scope()``. The
  process plan (in ``kcompat.load.run_matrix``): ``default``, ``one-device-cpu``,
  ``one-device-gpu`` and ``mirrored`` share ONE process; ``multi-worker`` gets its own pair
  (``MultiWorkerMirroredStrategy`` must exist before any other TF op and owns the process's
  collective context). Sharing is safe because the only process-wide set-up is mirrored's split of
  the CPU into 2 logical devices, done before TF initialises devices: default and one-device place
  everything on ``/cpu:0`` (or ``/gpu:0``) as they would anyway; with >= 2 real GPUs no split is
  needed at all. Measured here: 4 strategies in 2 processes instead of 3 cut the matrix from
  ~25 s to ~15-18 s. Between units the worker clears the Keras session (``clear_session`` +
  ``gc``; the worker freezes the objects TF's import made out of the collector, so each collection
  costs ~0 instead of ~0.1 s, and imports TF with the collector off, ~15% faster). Strategies are
  created once and reused. Up to ``jobs`` launches run in parallel; the multi-worker pair is one
  launch (one attempt that needs two processes by its nature), so with ``jobs=2`` on 2 cores the
  shared process and the pair start together: 3 processes for 2 cores during the TF imports, which
  took the 4-strategy matrix from ~13 s to ~7 s here (the pair after the shared process kept one
  core idle while the shared process ran its units). After the
  last unit the worker calls ``os._exit(0)``: results are on disk, and TF's interpreter teardown
  costs over a second.
* **Fallback to one process per attempt.** If the worker dies (signal, non-zero exit) or is killed
  (timeout, memory cap) in the middle of unit *A*, *A* is recorded as crash / timeout / oom with the
  signal and the tail of its output (a ``faulthandler`` Python stack for a segfault), and every unit
  still left in that job is re-run in a fresh process of its own. A poisoned process never hosts
  another attempt. When ``keras`` (compile=True) dies, ``keras-nocompile`` is still tried, alone.
* **Containment per process group.** Each worker starts in a new session (its own process group),
  optionally inside ``unshare -n`` (no network; detected once per interpreter with
  ``unshare -n true``). The parent polls every ~100 ms: the events file (which attempt is in flight,
  to restart the per-attempt timeout), and the resident set size of every process in the group, read
  from ``/proc/<pid>/statm`` (per process against ``memory_mb``, and the group total). RLIMIT_AS is
  useless with TF (it reserves huge virtual ranges). Where a cgroup v2 hierarchy with the memory
  controller is writable, the worker is also placed in its own cgroup with ``memory.max`` (a kernel
  cap; see ``sandbox.cgroup_join``); on the development machine (cgroup v1) only the RSS watch runs.
  Timeout or cap means ``killpg(SIGKILL)``.
* **Clean environment.** Each process runs in a fresh temporary directory with its own ``HOME`` and
  ``KERAS_HOME`` (so ``~/.keras`` is empty), and imports user modules only when ``custom_objects``
  names them.
* **Multi-worker.** A launcher (the same worker folder, in ``mwms`` mode, no TF) brings loopback up
  inside the new network namespace and starts two real worker processes with ``TF_CONFIG`` naming
  ``127.0.0.1:<port>`` pairs picked at run time. Each worker loads the model and reports
  ``num_replicas_in_sync``; the attempt carries both reports in ``worker_replicas``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from kcompat.load.protocol import Unit, attempt_log, events_path, read_events, worker_returncodes, worker_state
from kcompat.load.sandbox import (
    cgroup_join,
    cgroup_oom_killed,
    free_ports,
    group_pids,
    rss_mb,
    signal_name,
    tail,
    unshare_net_works,
)

# The worker is a folder run by path (``python worker run SPEC.json``): see worker/__main__.py.
WORKER = str(Path(__file__).with_name("worker"))
POLL_S = 0.1


@dataclass
class RawResult:
    """What one worker run produced for one (strategy, loader) unit, before classification."""

    strategy: str
    loader: str
    data: dict = field(default_factory=dict)  # the worker's result dict, or a synthesised one
    worker_results: list[dict] = field(default_factory=list)  # multi-worker: one per worker


@dataclass
class Job:
    """Units that share one process: several strategies that need no device set-up of their own
    (default, one-device-*), or mirrored alone, or multi-worker alone."""

    path: str
    fmt: str
    units: list[Unit]
    python: str
    unsafe: bool
    timeout_s: float
    memory_mb: int
    inputs_npz: str | None
    config_path: str | None
    custom_objects: list[str]
    base_tmp: str

    @property
    def multi_worker(self) -> bool:
        return any(st == "multi-worker" for st, _ in self.units)


class Launch:
    """One worker process (or MWMS launcher + 2 workers) running a list of units in order."""

    def __init__(self, job: Job, units: list[Unit], tag: str) -> None:
        self.job = job
        self.units = units
        self.n_workers = 2 if job.multi_worker else 1
        name = "+".join(dict.fromkeys(st for st, _ in units))
        self.dir = Path(tempfile.mkdtemp(prefix=f"{name}-{tag}-", dir=job.base_tmp))
        self.home = self.dir / "home"
        self.work = self.dir / "work"
        self.home.mkdir()
        self.work.mkdir()
        self.isolation = ["subprocess", "process-group", "tmp-home", "rss-watch"]
        self.net_isolated = unshare_net_works()
        self.isolation.append("unshare-net" if self.net_isolated else "net-shared")
        self.t_end = time.time()

    def spec(self) -> dict:
        j = self.job
        return {
            "path": os.path.abspath(j.path),
            "fmt": j.fmt,
            "units": [list(u) for u in self.units],
            "unsafe": j.unsafe,
            "inputs_npz": os.path.abspath(j.inputs_npz) if j.inputs_npz else None,
            "config_path": os.path.abspath(j.config_path) if j.config_path else None,
            "custom_objects": [os.path.abspath(c) if c.endswith(".py") else c for c in j.custom_objects],
            "out_dir": str(self.dir),
            "net_isolated": self.net_isolated,
            "ports": free_ports(2) if self.n_workers == 2 else [],
        }

    def env(self) -> dict:
        env = dict(os.environ)
        env.update(
            HOME=str(self.home),
            KERAS_HOME=str(self.home / ".keras"),
            TMPDIR=str(self.work),
            PYTHONDONTWRITEBYTECODE="1",
            PYTHONUNBUFFERED="1",
        )
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
        env.pop("TF_CONFIG", None)
        return env

    def run(self) -> tuple[dict[Unit, RawResult], list[Unit]]:
        """Run; return results for the units that finished or failed, plus units never started."""
        spec = self.spec()
        spec_path = self.dir / "spec.json"
        spec_path.write_text(json.dumps(spec))
        mode = "mwms" if self.n_workers == 2 else "run"
        cmd = [self.job.python, WORKER, mode, str(spec_path)]
        if self.net_isolated:
            cmd = [shutil.which("unshare") or "unshare", "-n", "--", *cmd]
        out_log = open(self.dir / "process.log", "wb")
        t_launch = time.time()
        proc = subprocess.Popen(
            cmd, cwd=self.work, env=self.env(), stdout=out_log, stderr=subprocess.STDOUT, start_new_session=True
        )
        pgid = proc.pid
        cgroup = self._cgroup_join(proc.pid)
        offsets = [0] * self.n_workers
        state = [worker_state(t_launch) for _ in range(self.n_workers)]
        killed: str | None = None  # 'timeout' | 'oom' | 'hung-at-exit'
        peak = 0.0
        while True:
            done = proc.poll() is not None
            self.t_end = time.time()
            for i in range(self.n_workers):
                offsets[i] = read_events(events_path(self.dir, i), offsets[i], state[i])
            if done:
                break
            now = time.time()
            # per-attempt timeout (the start-up phase gets its own timeout_s)
            for st in state:
                if not st.get("done") and now - st["since"] > self.job.timeout_s:
                    killed = "timeout"
            if all(st.get("done") for st in state) and now - max(st["since"] for st in state) > 30:
                killed = "hung-at-exit"
            pids = group_pids(pgid)
            rss = [rss_mb(p) for p in pids]
            total = sum(rss)
            peak = max(peak, total)
            if rss and (max(rss) > self.job.memory_mb or total > self.job.memory_mb * self.n_workers + 300):
                killed = "oom"
            if killed:
                try:
                    os.killpg(pgid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()
                self.t_end = time.time()
                for i in range(self.n_workers):
                    offsets[i] = read_events(events_path(self.dir, i), offsets[i], state[i])
                break
            time.sleep(POLL_S)
        out_log.close()
        # stragglers in the group (children that outlived the leader)
        for p in group_pids(pgid):
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if killed == "hung-at-exit":
            killed = None  # every unit had reported; nothing was lost
        if cgroup is not None:
            if killed is None and cgroup_oom_killed(cgroup):
                killed = "oom"
            try:
                cgroup.rmdir()
            except OSError:
                pass
        return self._collect(proc.returncode, killed, state, peak)

    def _cgroup_join(self, pid: int) -> Path | None:
        """Put the worker in its own cgroup v2 with memory.max, where the hierarchy is delegated."""
        cg = cgroup_join(pid, f"kcompat-{os.getpid()}-{self.dir.name}", self.job.memory_mb * self.n_workers * 2**20)
        if cg is not None:
            self.isolation.append("cgroup-v2-memory")
        return cg

    def _collect(self, rc, killed, state, peak) -> tuple[dict[Unit, RawResult], list[Unit]]:
        wrc = worker_returncodes(self.dir, self.n_workers, rc)
        results: dict[Unit, RawResult] = {}
        all_started: list[Unit] = []
        for st in state:
            for u in st["order"]:
                if u not in all_started:
                    all_started.append(u)
        inflight: Unit | None = None
        for unit in all_started:
            per_worker = []
            for i, st in enumerate(state):
                if unit in st["ended"]:
                    d = dict(st["ended"][unit])
                    d.setdefault("stdout_tail", tail(attempt_log(self.dir, i, unit), lines=15) or None)
                    per_worker.append(d)
                    continue
                # started (on some worker) but never ended: this is where the process died
                status, sig = self._death(killed, wrc[i])
                log = attempt_log(self.dir, i, unit if unit in st["order"] else st["current"])
                if unit not in st["order"] and st["current"] is None:
                    log = attempt_log(self.dir, i, None)
                d = {
                    "loader": unit[1],
                    "strategy": unit[0],
                    "status": status,
                    "signal": sig,
                    "stdout_tail": tail(log),
                    "num_replicas": st.get("replicas", {}).get(unit),
                    "wall_s": max(0.0, self.t_end - st["since"]),
                    "notes": [self._death_note(status, wrc[i], peak)],
                }
                if self.n_workers == 2:
                    d["notes"].append(f"worker {i} of 2")
                per_worker.append(d)
                inflight = unit
            results[unit] = RawResult(unit[0], unit[1], self._pick(per_worker), per_worker)
        never_started = [u for u in self.units if u not in results]
        # keras failed (crash/timeout/oom) => the worker's automatic compile=False retry never ran
        if inflight is not None and inflight[1] == "keras":
            nc = (inflight[0], "keras-nocompile")
            if nc not in results and nc not in never_started:
                never_started.insert(0, nc)
        if inflight is None and never_started and (rc not in (0, None) or killed):
            # died before the first attempt started: charge it to all units of this launch
            status, sig = self._death(killed, rc)
            for u in never_started:
                results[u] = RawResult(
                    u[0],
                    u[1],
                    {
                        "loader": u[1],
                        "strategy": u[0],
                        "status": status,
                        "signal": sig,
                        "stdout_tail": tail(attempt_log(self.dir, 0, None)) or tail(self.dir / "process.log"),
                        "notes": [self._death_note(status, rc, peak) + " (during start-up, before loading)"],
                    },
                )
            never_started = []
        for r in results.values():
            r.data.setdefault("notes", [])
            r.data["isolation"] = self.isolation
        return results, never_started

    @staticmethod
    def _pick(per_worker: list[dict]) -> dict:
        for d in per_worker:
            if d.get("status") != "ok":
                return d
        return per_worker[0]

    @staticmethod
    def _death(killed: str | None, rc: int | None) -> tuple[str, str | None]:
        if killed == "timeout":
            return "timeout", "SIGKILL"
        if killed == "oom":
            return "oom", "SIGKILL"
        sig = signal_name(rc)
        if sig == "SIGKILL":
            # killed from outside (the kernel OOM killer most likely)
            return "oom", sig
        return "crash", sig

    def _death_note(self, status: str, rc: int | None, peak: float) -> str:
        if status == "timeout":
            return f"killed after {self.job.timeout_s:g} s without finishing the attempt"
        if status == "oom":
            return f"killed at the memory cap of {self.job.memory_mb} MB (peak RSS of the process group {peak:.0f} MB)"
        if rc is not None and rc > 0:
            return f"the process exited with code {rc} in the middle of the attempt"
        return f"the process died from {signal_name(rc)}"


def run_job(job: Job) -> list[RawResult]:
    """All units of one job, with fallback to one process per unit after a crash/timeout/oom."""
    out: list[RawResult] = []
    remaining = list(job.units)
    isolate = False
    n = 0
    while remaining:
        batch = [remaining[0]] if isolate else list(remaining)
        launch = Launch(job, batch, f"{n}")
        n += 1
        results, never = launch.run()
        out.extend(results.values())
        if any(r.data.get("status") in ("crash", "timeout", "oom") for r in results.values()):
            isolate = True
        if not results and never == batch:
            for st, lo in batch:  # nothing happened at all: do not loop forever
                out.append(RawResult(st, lo, {"loader": lo, "status": "crash", "notes": ["the worker produced nothing"]}))
            never = []
        rest = [u for u in remaining if u not in batch and u not in results and u not in never]
        remaining = list(never) + rest
    return out


def default_python() -> str:
    return sys.executable
