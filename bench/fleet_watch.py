"""The fleet benchmark's worker: started as `halton-workers worker` (its defaults: every queue), watched for
memory while it runs, stopped by its process id afterwards; and the wait for a fan-out's refreshes."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psutil

from bench.fleet_population import Conn
from workers.jobs.pipeline import STAGE_NAMES
from workers.runtime.embedded import CliProcess

SAMPLE_EVERY = 0.2  # seconds between two RSS samples


@dataclass
class MemoryPeaks:
    """Peak resident set sizes in bytes: the worker's parent, and each pool process that ever ran (a recycled
    child is a new process), largest first."""

    parent: int = 0
    by_child: dict[int, int] = field(default_factory=dict)

    @property
    def children(self) -> list[int]:
        return sorted(self.by_child.values(), reverse=True)

    def sample(self, parent: psutil.Process) -> None:
        try:
            self.parent = max(self.parent, parent.memory_info().rss)
            for child in parent.children(recursive=True):
                try:
                    rss = child.memory_info().rss
                except psutil.Error:
                    continue  # ended between the listing and the read
                self.by_child[child.pid] = max(self.by_child.get(child.pid, 0), rss)
        except psutil.Error:
            pass  # the worker is stopping


def wait_ready(worker: CliProcess, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.process.poll() is not None:
            raise RuntimeError(f"worker exited with {worker.process.returncode}:\n{worker.log()[-4000:]}")
        if " ready." in worker.log():
            return
        time.sleep(0.1)
    raise RuntimeError(f"worker not ready after {timeout:.0f} s:\n{worker.log()[-4000:]}")


@contextmanager
def start_worker(env: dict[str, str], concurrency: int, log_path: Path) -> Iterator[tuple[CliProcess, MemoryPeaks]]:
    """A worker with `concurrency` pool processes and a thread sampling its tree's memory; stopped on exit."""
    worker = CliProcess.spawn("worker", ["worker", "--concurrency", str(concurrency)], env, log_path)
    peaks = MemoryPeaks()
    done = threading.Event()
    try:
        wait_ready(worker)
        parent = psutil.Process(worker.process.pid)

        def watch() -> None:
            while not done.is_set():
                peaks.sample(parent)
                done.wait(SAMPLE_EVERY)

        watcher = threading.Thread(target=watch, name="rss-sampler", daemon=True)
        watcher.start()
        yield worker, peaks
    finally:
        done.set()
        worker.stop()


def wait_for_refreshes(conn: Conn, workspaces: int, worker: CliProcess, timeout: float, as_of: datetime) -> None:
    """Until every workspace has a finished run of the refresh's last stage as of `as_of` (succeeded, failed or
    skipped)."""
    last = STAGE_NAMES[-1]
    deadline = time.monotonic() + timeout
    while True:
        row = conn.execute("""select count(distinct workspace_id) from analysis.runs
                              where job = %s and finished_at is not null and as_of = %s""", (last, as_of)).fetchone()
        if row is not None and row[0] == workspaces:
            return
        if worker.process.poll() is not None:
            raise RuntimeError(f"the worker exited with {worker.process.returncode}:\n{worker.log()[-4000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{row[0] if row else 0} of {workspaces} refreshes done after {timeout:.0f} s; "
                               f"worker log: {worker.log_path}")
        time.sleep(0.5)
