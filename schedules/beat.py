"""The beat schedule as data. Every periodic task carries `expires`, so a backlog (a worker fleet that
was down overnight) does not run yesterday's fan-out twice when it comes back."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery.schedules import crontab, schedule

DEFAULT_NIGHTLY = "0 2 * * *"


def parse_schedule(text: str) -> schedule | crontab:
    """'m h dom mon dow' (UTC) or 'every:N' seconds."""
    if text.startswith("every:"):
        return schedule(timedelta(seconds=int(text.removeprefix("every:"))))
    minute, hour, day_of_month, month_of_year, day_of_week = text.split()
    return crontab(minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month_of_year,
                   day_of_week=day_of_week)


def beat_schedule(nightly: str = DEFAULT_NIGHTLY) -> dict[str, dict[str, Any]]:
    return {
        "nightly-refresh": {
            "task": "halton.nightly_fanout",
            "schedule": parse_schedule(nightly),
            # a fan-out still queued 6 hours later is dropped: the next night's replaces it
            "options": {"expires": 6 * 3600},
        },
    }
