"""Stage 3: the optimisation catalog (issue 8).

Reads the window [as_of - 30 days, as_of) through store/, aggregate first (store/catalog_scan.py): the
catalog's per-day sums, first brought up to date in a transaction of their own (a cache, like the
rollup: a failure later in the stage leaves it consistent), and request by request only the requests
sums cannot serve and those of the clustering stage's hashes; plus the daily rollups and the clusters
and loop incidents. Runs every check of the registry (pure; sample ids come from store/ per finding),
combines the monthly findings on one bill per project and model (checks/overlap.py), and writes the
recommendations, their statuses, the check history, the combination and the catalog's headline
(analysis.catalog_summary) with the run, in one transaction.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from checks import CheckInputs, response_cache, run_catalog
from checks.base import SampleScope
from checks.overlap import combine
from checks.response_cache import hashes_to_read
from pricing import load_rates
from store import recommendations as store
from store.catalog_scan import read_hashed_requests, read_usage, sample_ids
from store.runs import Run
from store.workspaces import workspace_by_id
from workers.db import sibling
from workers.stages import Stage, StageContext, trailing_window

SPIKE_DAYS = 14  # spend-spike compares the last two weeks of rollups


def catalog_inputs(ctx: StageContext) -> CheckInputs:
    start, end = trailing_window(ctx.as_of)
    conn, ws = ctx.conn, ctx.workspace_id
    end_day = ctx.as_of.date()
    rates, timezone = load_rates(), workspace_by_id(conn, ws).timezone
    # only the clusters a check can use; the others' hashes have no rows read (response_cache.hashes_to_read)
    clusters = store.read_clusters(conn, ws, end, recurring=(response_cache.MIN_PER_HASH, response_cache.MIN_DAYS))
    loops = store.read_loops(conn, ws, start, end)

    def sampler(scope: SampleScope) -> tuple[int, ...]:
        return sample_ids(conn, ws, start, end, scope, synced_by=ctx.as_of)

    # The hashes' requests are scattered over the table (an index read of random pages) while the daily
    # sums are mostly CPU: read them at the same time, on a second connection.
    with sibling(conn) as other, ThreadPoolExecutor(max_workers=1) as pool:
        hashed = pool.submit(read_hashed_requests, other, ws, start, end, hashes_to_read(clusters, loops),
                             synced_by=ctx.as_of)
        usage = read_usage(conn, ws, start, end, synced_by=ctx.as_of, timezone=timezone, rates=rates)
        daily = store.read_daily(conn, ws, end_day - timedelta(days=SPIKE_DAYS), end_day)
        names = store.project_names(conn, ws), store.device_names(conn, ws)
        requests = hashed.result()
    return CheckInputs(
        workspace_id=ws, window_start=start, as_of=end, requests=requests, daily=daily,
        clusters=clusters, loops=loops, rates=rates, timezone=timezone,
        project_names=names[0], device_names=names[1], usage_scan=usage, sampler=sampler,
    )


def run_checks(ctx: StageContext, run: Run) -> None:
    inputs = catalog_inputs(ctx)
    findings = run_catalog(inputs)
    combination = combine(findings, inputs)
    with run.results() as tx:
        statuses = store.write_findings(tx, ctx.workspace_id, run.id, ctx.as_of, findings, combination)
        summary = store.catalog_summary(tx, ctx.workspace_id)
        assert summary is not None  # write_findings wrote it
        # monthly_saving_nanos: the headline (open monthly recommendations taken together), as the summary
        run.stats.update({"requests": inputs.usage.requests, "findings": len(findings), **summary.as_stats(),
                          "statuses": statuses, "unpriced_models": unpriced_models(inputs)})


def unpriced_models(inputs: CheckInputs) -> list[str]:
    """Models of the window the price table does not know: no check quotes anything on them."""
    models = inputs.usage.groups["model"].astype(str).unique()
    return sorted(str(m) for m in models if inputs.rates.canonical(str(m)) is None)


STAGE = Stage(name="checks", needs=("rollup", "clustering"), run=run_checks, keep_newer=True)
