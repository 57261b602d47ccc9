"""Stage 1: the incremental daily rollup (analysis.daily_spend), and pruning of old runs."""

from __future__ import annotations

from datetime import datetime, timedelta

from store import rollup
from store.runs import Run, prune_runs
from workers.stages import Stage, StageContext

RUN_RETENTION = timedelta(days=90)


def rollup_window(as_of: datetime) -> tuple[datetime, datetime]:
    window = rollup.RollupWindow.ending_before(as_of)
    return window.start, window.end


def run_rollup(ctx: StageContext, run: Run) -> None:
    with run.results() as tx:
        result = rollup.refresh_daily_spend(tx, ctx.workspace_id, ctx.as_of, run.id, replay=ctx.replay)
        run.stats.update(result.stats())
        run.stats["runs_pruned"] = prune_runs(tx, ctx.workspace_id, ctx.as_of - RUN_RETENTION)


STAGE = Stage(name="rollup", needs=(), run=run_rollup, window=rollup_window)
