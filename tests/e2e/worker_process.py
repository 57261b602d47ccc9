"""A real `halton-workers worker` process for end-to-end and chaos tests."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

from celery import Celery

from workers.runtime.embedded import CliProcess


class WorkerProcess(CliProcess):
    """A real `halton-workers worker` (one pool child) for end-to-end and chaos tests."""

    @classmethod
    def start(cls, env: dict[str, str], log_path: Path, *args: str) -> WorkerProcess:
        worker = cls.spawn("worker", ["worker", "--concurrency", "1", *args], env, log_path)
        assert isinstance(worker, WorkerProcess)
        worker.wait_ready()
        return worker

    @classmethod
    def start_with_defaults(cls, env: dict[str, str], log_path: Path) -> WorkerProcess:
        """`halton-workers worker --concurrency 2` as an operator starts it: no --queues, so every queue."""
        worker = cls.spawn("worker", ["worker", "--concurrency", "2"], env, log_path)
        assert isinstance(worker, WorkerProcess)
        worker.wait_ready()
        return worker

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited with {self.process.returncode}:\n{self.log()}")
            if " ready." in self.log():
                return
            time.sleep(0.1)
        raise RuntimeError(f"worker not ready after {timeout}s:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL the worker and its pool children at once: no warm shutdown, no acknowledgement."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)


def dashboard_client(env: dict[str, str]) -> Celery:
    """What the dashboard holds: a bare Celery client that knows the broker and nothing of our code."""
    client = Celery("dashboard", broker=env["REDIS_URL"], backend=env["REDIS_URL"])
    client.conf.update(task_serializer="json", accept_content=["json"], result_serializer="json")
    return client


def enqueue(client: Celery, env: dict[str, str], name: str, **kwargs: Any) -> Any:
    """Enqueue by task name on the queue the README names for it."""
    queue = {"halton.refresh_workspace": "HALTON_QUEUE_ANALYSIS", "halton.nightly_fanout": "HALTON_QUEUE_ANALYSIS",
             "halton.apply_decisions": "HALTON_QUEUE_ANALYSIS"}
    return client.send_task(name, kwargs=kwargs, queue=env[queue[name]])
