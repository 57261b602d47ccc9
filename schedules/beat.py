"""The beat schedule as data (no Celery here: workers/app/config.py turns it into Celery entries).

Every periodic task carries `expires`, so a backlog (a worker fleet that was down overnight) does not
run yesterday's fan-out when it comes back."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_NIGHTLY = "0 2 * * *"
HOURLY = "17 * * * *"
NIGHTLY_ENTRY = "nightly-refresh"
# after the nightly refresh's default hour; its own time, so a demo's fast nightly schedule leaves it alone
NIGHTLY_BILLING = "30 3 * * *"
# after the refresh and the billing pulls (a new bill's adjustments go out the same night)
NIGHTLY_EXPORT = "30 4 * * *"
DEFAULT_PULSE = "*/10 * * * *"
# a pulse still queued when the next fires is dropped: the next one brings the same workspaces up to date
PULSE_EXPIRES = 9 * 60


@dataclass(frozen=True)
class BeatEntry:
    name: str
    task: str
    schedule: str  # crontab "m h dom mon dow" in UTC, or "every:N" seconds
    expires: int  # seconds after which a queued run is dropped


def beat_entries(nightly: str = DEFAULT_NIGHTLY, pulse: str = DEFAULT_PULSE) -> list[BeatEntry]:
    entries = [
        # a fan-out still queued 6 hours later is dropped: the next night's replaces it
        BeatEntry(name=NIGHTLY_ENTRY, task="halton.nightly_fanout", schedule=nightly, expires=6 * 3600),
    ]
    if nightly.startswith("every:"):
        # an interval is the demo's fast-forward: it reconciles in its own section, and billing runs
        # fired by an old beat schedule file would only race its shutdown and leave abandoned runs
        return entries
    return [
        *entries,
        # pull every live billing connection and reconcile, then sweep months whose inputs changed
        BeatEntry(name="nightly-billing", task="halton.pull_billing_fanout", schedule=NIGHTLY_BILLING,
                  expires=6 * 3600),
        # a missed trigger (a paste whose task was lost, late rows) is caught within the hour
        BeatEntry(name="hourly-reconcile-sweep", task="halton.reconcile_sweep", schedule=HOURLY, expires=50 * 60),
        # every changed day of each workspace with a live export destination, to each destination
        BeatEntry(name="nightly-export", task="halton.export_fanout", schedule=NIGHTLY_EXPORT, expires=6 * 3600),
        # today's rollup and the month-end forecasts of every workspace with requests since its last pulse
        BeatEntry(name="pulse", task="halton.pulse", schedule=pulse, expires=PULSE_EXPIRES),
    ]
