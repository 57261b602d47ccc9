"""What an operator sees of a worker (issue 18 item 4): Prometheus metrics on HALTON_METRICS_PORT.

Why multiprocess mode: under Celery's prefork pool the tasks run in pool children, while the port belongs to
the parent, and a child may be recycled at any time. prometheus_client's multiprocess mode has every process
write its samples to files of its own in PROMETHEUS_MULTIPROC_DIR; the parent's server sums them at scrape
time (MultiProcessCollector), so a count survives the child that made it. The worker command points the
variable at a private temporary directory when it is unset (`prepare_multiprocess_dir`), before any sample
is written; without it (tests, the command line) the metrics are plain in-process ones, never served.

The parent adds what it reads at scrape time (`FleetCollector`): each queue's length from Redis and the
refresh lag from Postgres, each with a short timeout; a source that does not answer is left out of that
scrape (halton_metrics_source_up says which), never failing the scrape.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

import redis
from prometheus_client import CollectorRegistry, Counter, Histogram, multiprocess, start_http_server, values
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from core.errors import ConfigError
from store.fleet_health import refresh_lag_seconds
from workers.app.queues import PRIORITY_STEPS, priority_lists
from workers.runtime.db import connect

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
OUTCOMES = ("succeeded", "failed", "retried")
# a task runs from a few milliseconds (a fan-out) to half an hour (a large workspace's refresh)
TASK_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0)
# a small workspace's stage takes milliseconds (the fleet's target is 60 ms for four of them)
STAGE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0)
SOURCE_TIMEOUT = 1.0  # seconds for Redis or Postgres to answer a scrape's read
# the refresh lag is that of the rollup, the refresh's first stage: the dashboard's spend figures are its rows
# (a later stage's failure is counted by halton_tasks_total{outcome="failed"})
REFRESH_LAG_JOB = "rollup"

# Every metric has labels, so no sample exists (nor any file is opened) before the first .labels() call:
# prepare_multiprocess_dir may still switch the value class after this module is imported.
TASKS = Counter("halton_tasks", "Tasks finished by a worker, by task and outcome (succeeded, failed, retried)",
                ["task", "outcome"])
TASK_SECONDS = Histogram("halton_task_seconds", "Wall time of one run of a task in a worker process", ["task"],
                         buckets=TASK_BUCKETS)
STAGE_SECONDS = Histogram("halton_stage_seconds", "Wall time of one stage of a refresh that ran (not skipped)",
                          ["stage"], buckets=STAGE_BUCKETS)
ROWS_PROCESSED = Counter("halton_rows_processed", "Rows a stage processed, from the stat its run records "
                         "(workers/jobs/pipeline.py ROWS_STATS)", ["stage"])
ALERT_DELIVERIES = Counter("halton_alert_deliveries", "Alert deliveries tried, by outcome (delivered, failed, "
                           "retry_later, revoked)", ["outcome"])


def count_task(task: str, outcome: str) -> None:
    TASKS.labels(task=task, outcome=outcome).inc()


def observe_task(task: str, seconds: float) -> None:
    TASK_SECONDS.labels(task=task).observe(seconds)


def observe_stage(stage: str, seconds: float, rows: int | None) -> None:
    STAGE_SECONDS.labels(stage=stage).observe(seconds)
    if rows:
        ROWS_PROCESSED.labels(stage=stage).inc(rows)


def count_alert_deliveries(outcome: str, count: int = 1) -> None:
    if count:
        ALERT_DELIVERIES.labels(outcome=outcome).inc(count)


def prepare_multiprocess_dir() -> Path:
    """PROMETHEUS_MULTIPROC_DIR for this worker: the one set (created if missing; it must be this worker's
    alone and empty at start, as prometheus_client requires), else a private temporary directory, removed
    when the worker's parent exits. Call before the pool forks and before any metric is touched."""
    configured = os.environ.get(MULTIPROC_ENV)
    if configured:
        path = Path(configured)
        path.mkdir(parents=True, exist_ok=True)
    else:
        path = Path(tempfile.mkdtemp(prefix="halton-metrics-"))
        os.environ[MULTIPROC_ENV] = str(path)
        atexit.register(_remove_when_parent, path, os.getpid())
    # prometheus_client picks the value class when it is imported, which this module did before the variable
    # was set: pick it again (no metric has a sample yet, see above)
    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]
    return path


def _remove_when_parent(path: Path, owner: int) -> None:
    """Pool children inherit the exit handler: only the parent that made the directory removes it."""
    if os.getpid() == owner:
        shutil.rmtree(path, ignore_errors=True)


def child_exited(pid: int) -> None:
    """A pool child is going away: its live gauges stop counting (its counters and histograms stay)."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


class FleetCollector(Collector):
    """What the parent reads at scrape time: the length of each queue (Redis LLEN; the Celery Redis transport
    keeps a queue's waiting messages in a list named after it, and those sent at a lower priority in one list
    per priority step: workers.app.queues.priority_lists) and the refresh lag (Postgres)."""

    def __init__(self, redis_url: str, queues: Sequence[str], database_url: str,
                 refresh_job: str = REFRESH_LAG_JOB, timeout: float = SOURCE_TIMEOUT) -> None:
        self.redis_url = redis_url
        self.queues = list(dict.fromkeys(queues))
        self.database_url = database_url
        self.refresh_job = refresh_job
        self.timeout = timeout

    def describe(self) -> Iterable[Metric]:
        # without it the registry would call collect() (and reach both servers) when registering
        return [GaugeMetricFamily("halton_queue_length", ""), GaugeMetricFamily("halton_refresh_lag_seconds", ""),
                GaugeMetricFamily("halton_metrics_source_up", "")]

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily("halton_metrics_source_up", "Whether a source read at scrape time answered "
                               "(redis: queue lengths, postgres: refresh lag)", labels=["source"])
        lengths = self.queue_lengths()
        up.add_metric(["redis"], 0.0 if lengths is None else 1.0)
        if lengths is not None:
            queue = GaugeMetricFamily("halton_queue_length", "Tasks waiting in a queue, at every priority "
                                      "(Redis LLEN)", labels=["queue"])
            for name, length in lengths.items():
                queue.add_metric([name], float(length))
            yield queue
        answered, lag = self.refresh_lag()
        up.add_metric(["postgres"], 1.0 if answered else 0.0)
        if lag is not None:
            yield GaugeMetricFamily("halton_refresh_lag_seconds", "Age of the oldest of the workspaces' last "
                                    "successful refresh (its rollup; one that never had one: since its creation), "
                                    "in seconds", value=lag)
        yield up

    def queue_lengths(self) -> dict[str, int] | None:
        try:
            client = redis.Redis.from_url(redis_py_url(self.redis_url), socket_timeout=self.timeout,
                                          socket_connect_timeout=self.timeout)
            try:
                # one round trip: every priority list of every queue the worker consumes
                with client.pipeline(transaction=False) as pipe:
                    for name in self.queues:
                        for key in priority_lists(name):
                            pipe.llen(key)
                    lengths = iter(pipe.execute())
                return {name: sum(int(next(lengths)) for _ in PRIORITY_STEPS) for name in self.queues}
            finally:
                client.close()
        except Exception:  # the scrape goes on without it: halton_metrics_source_up{source="redis"} is 0
            log.warning("metrics: could not read the queue lengths from Redis", exc_info=True)
            return None

    def refresh_lag(self) -> tuple[bool, float | None]:
        millis = int(self.timeout * 1000)
        try:
            with connect(self.database_url, connect_timeout=max(1, round(self.timeout)),
                         options=f"-c statement_timeout={millis} -c lock_timeout={millis}") as conn:
                return True, refresh_lag_seconds(conn, self.refresh_job)
        except Exception:  # as for Redis: left out of this scrape, never failing it
            log.warning("metrics: could not read the refresh lag from Postgres", exc_info=True)
            return False, None


def redis_py_url(url: str) -> str:
    """Celery's redis+socket:// is redis-py's unix://; the other schemes are the same."""
    return "unix://" + url.removeprefix("redis+socket://") if url.startswith("redis+socket://") else url


def metrics_registry(collector: FleetCollector) -> CollectorRegistry:
    """The registry the parent serves: every process's samples from the multiprocess directory, and what
    the collector reads at scrape time."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    registry.register(collector)
    return registry


def start_metrics_server(port: int, collector: FleetCollector, addr: str = "0.0.0.0") -> None:
    """Serve /metrics on `addr`:`port` from a daemon thread of the worker's parent; one line if the port is
    taken or the address is not this host's."""
    try:
        start_http_server(port, addr=addr, registry=metrics_registry(collector))
    except OSError as error:
        raise ConfigError(f"HALTON_METRICS_PORT/HALTON_METRICS_ADDR: cannot serve metrics on {addr} port {port}: "
                          f"{error.strerror}") from None
    log.info("serving metrics on %s port %s", addr, port)
