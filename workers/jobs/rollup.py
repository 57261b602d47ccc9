"""Stage 1: the incremental daily rollup (analysis.daily_spend) of the whole history kept, and pruning of
old runs."""

from __future__ import annotations

from datetime import datetime, timedelta

from store import rollup
from store.runs import Run, prune_runs
from workers.jobs.stage import ALREADY_CURRENT, Stage, StageContext, already_current
from workers.settings import rollup_settings

RUN_RETENTION = timedelta(days=90)


def rollup_window(as_of: datetime) -> tuple[datetime, datetime]:
    """The days the rollup covers as of `as_of` (the run row's window)."""
    coverage = rollup.history_window(as_of, rollup_settings().history_years)
    return coverage.start, coverage.end


def run_rollup(ctx: StageContext, run: Run) -> None:
    with run.results() as tx:
        # the one read of the rollup's state, locked until the results commit (a pulse waits, or is waited for)
        state = rollup.load_state(tx, ctx.workspace_id)
        if state is not None and already_current(state[0], ctx):
            run.stats[ALREADY_CURRENT] = state[0].isoformat()  # results of a later moment stay
            return
        result = rollup.refresh_daily_spend(tx, ctx.workspace_id, ctx.as_of, run.id,
                                            history_years=rollup_settings().history_years, state=state)
        run.stats.update(result.stats())
        if ctx.for_report is not None:  # a report's refresh says so; pruning is the nightly's
            run.stats["for_report"] = ctx.for_report
        else:
            run.stats["runs_pruned"] = prune_runs(tx, ctx.workspace_id, ctx.as_of - RUN_RETENTION)


STAGE = Stage(name="rollup", needs=(), run=run_rollup, window=rollup_window, decides_current_in_run=True)
