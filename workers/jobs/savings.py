"""Stage 4: realised savings of accepted recommendations (issue 8).

For each accepted recommendation whose evidence names a counterfactual (a model swap, a tier move),
the traffic in its scope since acceptance priced the way it ran before minus what it cost, per month
(checks.realised), into analysis.realised_savings.

Incremental by month: the traffic since the oldest acceptance grows every night (a year after an
acceptance it is a year of requests), so a run recomputes only the months from the earliest request
synced since the last run, and keeps the months before. It recomputes everything when what the figures
rest on changed since that run (the accepted decisions, their counterfactuals, the price table's latest
version: the run's stats keep a digest of them as `basis`), and on a replay.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime

from checks.realised import REALISED_COLUMNS, Decision, measurable, realised
from core.periods import month_start, utc_midnight
from pricing import RateTable, load_rates
from store import recommendations as store
from store.frames import empty_frame, read_requests
from store.incremental import LATE_COMMIT_MARGIN
from store.runs import Run, latest_succeeded
from workers.jobs.stage import Stage, StageContext


def run_savings(ctx: StageContext, run: Run) -> None:
    decisions = [Decision(a.fingerprint, a.project_id, a.decided_at, a.evidence.get("counterfactual"))
                 for a in store.accepted(ctx.conn, ctx.workspace_id)]
    measured = [d for d in decisions if measurable(d.counterfactual) and d.decided_at < ctx.as_of]
    rates = load_rates()
    basis = _basis(measured, rates)
    since = min((d.decided_at for d in measured), default=ctx.as_of)
    start = _recompute_from(ctx, since, basis)
    run.stats.update({"accepted": len(decisions), "measured": len(measured), "basis": basis,
                      "recomputed_from": None if start is None else start.isoformat()})
    if start is None:  # nothing synced since the last run: its months stand
        with run.results() as tx:
            run.stats["saved_nanos"] = store.realised_total(tx, ctx.workspace_id)
        return
    requests = read_requests(ctx.conn, ctx.workspace_id, start, ctx.as_of, REALISED_COLUMNS,
                             synced_by=ctx.as_of) if measured else empty_frame(REALISED_COLUMNS)
    rows = realised(measured, requests, rates)
    with run.results() as tx:
        store.write_realised(tx, ctx.workspace_id, rows, ctx.as_of,
                             from_month=None if start == since else start.date())
        run.stats["saved_nanos"] = store.realised_total(tx, ctx.workspace_id)


def _recompute_from(ctx: StageContext, since: datetime, basis: str) -> datetime | None:
    """`since` (everything), a later month's start (the months from the earliest request synced since
    the last run), or None (nothing new)."""
    previous = latest_succeeded(ctx.conn, ctx.workspace_id, "savings")
    if ctx.replay or previous is None or previous[1].get("basis") != basis or ctx.as_of < previous[0]:
        return since
    changed = store.earliest_start_synced(ctx.conn, ctx.workspace_id, previous[0] - LATE_COMMIT_MARGIN, ctx.as_of,
                                          since)
    if changed is None:
        return None
    return max(since, utc_midnight(month_start(changed.astimezone(UTC).date())))


def _basis(decisions: Sequence[Decision], rates: RateTable) -> str:
    """A digest of what the realised figures rest on besides the traffic."""
    parts = [[d.fingerprint, d.project_id, d.decided_at.isoformat(), d.counterfactual] for d in decisions]
    text = json.dumps([rates.latest_version, parts], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


STAGE = Stage(name="savings", needs=("checks",), run=run_savings)
