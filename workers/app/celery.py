"""The Celery app. Configured lazily from the settings, so importing it never needs the environment
until something is sent or a worker starts."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import beat_init, celeryd_init, setup_logging, worker_process_init, worker_process_shutdown

from workers.app.config import build_config
from workers.runtime import db, metrics, replica
from workers.runtime.logs import configure_logging, log_pool_warnings
from workers.runtime.sentry import init_sentry
from workers.settings import get_settings

app = Celery("halton", include=["workers.tasks.refresh", "workers.tasks.reports", "workers.tasks.reconcile",
                                   "workers.tasks.checks", "workers.tasks.alerts", "workers.tasks.pulse",
                                   "workers.tasks.exports"])
# A promise Celery evaluates on first use of app.conf, so importing this module needs no environment; a
# missing or malformed setting then raises ConfigError with one clear line.
app.add_defaults(lambda: build_config(get_settings()))


@setup_logging.connect
def _logging(**kwargs: Any) -> None:
    configure_logging()
    log_pool_warnings()


@celeryd_init.connect
def _worker_main_init(**kwargs: Any) -> None:
    init_sentry(get_settings(), component="worker")


@beat_init.connect
def _beat_init(**kwargs: Any) -> None:
    init_sentry(get_settings(), component="beat")


@worker_process_init.connect
def _open_pool_after_fork(**kwargs: Any) -> None:
    # A psycopg pool must never cross a fork: each pool child opens its own.
    settings = get_settings()
    db.open_pool(settings.database_url, settings.db_pool_max)


@worker_process_shutdown.connect
def _close_pool(pid: int | None = None, **kwargs: Any) -> None:
    db.close_pool()
    replica.close_reader()  # the reader connection to DATABASE_READ_URL, if one was opened
    metrics.child_exited(pid or os.getpid())  # a child killed outright never gets here: it has no live gauge
