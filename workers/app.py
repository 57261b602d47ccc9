"""The Celery app. Configured lazily from the settings, so importing it never needs the environment
until something is sent or a worker starts."""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.signals import beat_init, celeryd_init, setup_logging, worker_process_init, worker_process_shutdown

from workers import db
from workers.logs import configure_logging
from workers.sentry import init_sentry
from workers.settings import get_settings

app = Celery("halton", include=["workers.tasks", "workers.tasks_reports", "workers.tasks_reconcile",
                                   "workers.tasks_checks", "workers.tasks_alerts"])
# Loaded on first use of app.conf, so importing this module needs no environment.
app.config_from_object("workers.celery_settings")


@setup_logging.connect
def _logging(**kwargs: Any) -> None:
    configure_logging()


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
def _close_pool(**kwargs: Any) -> None:
    db.close_pool()
