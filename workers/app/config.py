"""The Celery configuration, built from the typed settings when the app first needs it (workers.app.celery)."""

from __future__ import annotations

from typing import Any

from kombu import Exchange, Queue

from schedules.beat import BeatEntry, beat_entries
from workers.app.queues import PRIORITY_STEPS, TASK_FAMILIES, limits_for, queue_for, worker_queues
from workers.settings import Settings, parse_schedule


class FamilyAnnotations:
    """Celery task annotation: route and time-limit every task by its family."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def annotate(self, task: Any) -> dict[str, Any] | None:
        family = TASK_FAMILIES.get(task.name)
        if family is None:
            return None
        soft, hard = limits_for(family, self.settings)
        return {"soft_time_limit": soft, "time_limit": hard}


class FamilyRouter:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def __call__(self, name: str, args: Any, kwargs: Any, options: Any, task: Any = None,
                 **kw: Any) -> dict[str, str] | None:
        family = TASK_FAMILIES.get(name)
        return {"queue": queue_for(family, self.settings)} if family else None


def build_config(settings: Settings) -> dict[str, Any]:
    queues = worker_queues(settings)
    return {
        "broker_url": settings.redis_url,
        "result_backend": settings.redis_url,
        "result_expires": 24 * 3600,
        "broker_connection_retry_on_startup": True,
        # Redis redelivers unacknowledged tasks after this; longer than any hard limit (checked in settings)
        "broker_transport_options": {
            "visibility_timeout": settings.visibility_timeout,
            # kombu scans only every interval x throttle seconds (100 s by default); the scan is one
            # ZRANGE on an index, so do it every interval and get a dead worker's tasks back sooner
            "unacked_restore_interval": settings.unacked_restore_interval,
            "unacked_restore_throttle": 1,
            # priorities (docs/DESIGN.md, "Fairness"): one Redis list per step; a worker polls every queue's
            # higher step before any queue's lower one, whatever the order of its queues
            "priority_steps": list(PRIORITY_STEPS),
            "queue_order_strategy": "round_robin",
        },
        "result_backend_transport_options": {"visibility_timeout": settings.visibility_timeout},
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "event_serializer": "json",
        "enable_utc": True,
        "timezone": "UTC",
        # a task is acknowledged after it ran, and given back if its worker died under it;
        # safe because every job is idempotent and takes an advisory lock
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # one message per pool slot and none reserved ahead: a slot that frees takes the highest-priority
        # message waiting then, never one it fetched while a large refresh was still queued behind small ones
        "worker_prefetch_multiplier": 1,
        # a child whose peak resident memory passed the ceiling is replaced after its task has finished and
        # been acknowledged (so nothing is lost); one the kernel kills mid-task is given back to the queue
        # (task_reject_on_worker_lost) and rerun, which the jobs' idempotence makes harmless
        "worker_max_memory_per_child": settings.worker_max_memory_per_child or None,
        # a refresh in flight when the broker blips finishes its transaction; Redis redelivers the message
        # later and the rerun is idempotent (cancelling it would leave an abandoned run instead)
        "worker_cancel_long_running_tasks_on_connection_loss": False,
        # each queue with its own exchange and routing key: a bare Queue(name) takes the default
        # queue's, which would bind all the queues to one key and copy every message into each
        "task_queues": [Queue(name, Exchange(name, type="direct"), routing_key=name) for name in queues],
        "task_default_queue": settings.queue_analysis,
        "task_routes": (FamilyRouter(settings),),
        "task_annotations": (FamilyAnnotations(settings),),
        # no STARTED state in the result backend (task_track_started): nothing reads it (the dashboard reads
        # the analysis tables, the command line waits for the outcome) and Flower sees a task start from the
        # task-started event below; it cost the pool process a GET and a SET + PUBLISH in Redis per task
        "worker_send_task_events": True,
        "task_send_sent_event": True,
        "worker_hijack_root_logger": False,
        "beat_schedule": {entry.name: _celery_entry(entry)
                          for entry in beat_entries(settings.nightly_schedule, settings.pulse_schedule)},
    }


def _celery_entry(entry: BeatEntry) -> dict[str, Any]:
    return {"task": entry.task, "schedule": parse_schedule(entry.schedule), "options": {"expires": entry.expires}}
