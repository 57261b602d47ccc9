"""The beat schedule as data (no Celery here: workers/celeryconfig.py turns it into Celery entries).

Every periodic task carries `expires`, so a backlog (a worker fleet that was down overnight) does not
run yesterday's fan-out when it comes back."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_NIGHTLY = "0 2 * * *"


@dataclass(frozen=True)
class BeatEntry:
    name: str
    task: str
    schedule: str  # crontab "m h dom mon dow" in UTC, or "every:N" seconds
    expires: int  # seconds after which a queued run is dropped


def beat_entries(nightly: str = DEFAULT_NIGHTLY) -> list[BeatEntry]:
    return [
        # a fan-out still queued 6 hours later is dropped: the next night's replaces it
        BeatEntry(name="nightly-refresh", task="halton.nightly_fanout", schedule=nightly, expires=6 * 3600),
    ]
