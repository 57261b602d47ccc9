"""Stage 3: the optimisation catalog (issue 8).

Reads the window [as_of - 30 days, as_of) through store/ (per-request columns via COPY, the daily
rollups, the clustering stage's clusters and loop incidents), runs every check of the registry (pure),
and writes the recommendations, their statuses and the check history with the run, in one transaction.
"""

from __future__ import annotations

from datetime import timedelta

from checks import REQUEST_COLUMNS, CheckInputs, run_catalog
from pricing import load_rates
from store import recommendations as store
from store.frames import read_requests
from store.runs import Run
from store.workspaces import workspace_by_id
from workers.stages import Stage, StageContext, trailing_window

SPIKE_DAYS = 14  # spend-spike compares the last two weeks of rollups


def catalog_inputs(ctx: StageContext) -> CheckInputs:
    start, end = trailing_window(ctx.as_of)
    conn, ws = ctx.conn, ctx.workspace_id
    end_day = ctx.as_of.date()
    return CheckInputs(
        workspace_id=ws, window_start=start, as_of=end,
        requests=read_requests(conn, ws, start, end, REQUEST_COLUMNS, synced_by=ctx.as_of),
        daily=store.read_daily(conn, ws, end_day - timedelta(days=SPIKE_DAYS), end_day),
        clusters=store.read_clusters(conn, ws, end),
        loops=store.read_loops(conn, ws, start, end),
        rates=load_rates(), timezone=workspace_by_id(conn, ws).timezone,
        project_names=store.project_names(conn, ws), device_names=store.device_names(conn, ws),
    )


def run_checks(ctx: StageContext, run: Run) -> None:
    inputs = catalog_inputs(ctx)
    findings = run_catalog(inputs)
    with run.results() as tx:
        statuses = store.write_findings(tx, ctx.workspace_id, run.id, ctx.as_of, findings)
        run.stats.update({"requests": len(inputs.requests), "findings": len(findings),
                          "monthly_saving_nanos": sum(f.monthly_saving_nanos for f in findings),
                          "statuses": statuses, "unpriced_models": unpriced_models(inputs)})


def unpriced_models(inputs: CheckInputs) -> list[str]:
    """Models of the window the price table does not know: no check quotes anything on them."""
    models = inputs.requests["model"].astype(str).unique()
    return sorted(str(m) for m in models if inputs.rates.canonical(str(m)) is None)


STAGE = Stage(name="checks", needs=("rollup", "clustering"), run=run_checks, keep_newer=True)
