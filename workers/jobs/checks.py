"""Stage 3: the optimisation catalog (issue 8).

Reads the window [as_of - 30 days, as_of) through store/, aggregate first (store/catalog_scan.py): the
catalog's per-day sums, first brought up to date in a transaction of their own (a cache, like the
rollup: a failure later in the stage leaves it consistent), and request by request only the requests
sums cannot serve and those of the clustering stage's hashes; plus the daily rollups and the clusters
and loop incidents. Runs every check of the registry (pure; sample ids come from store/ per finding),
combines the monthly findings on one bill per project and model (checks/overlap.py), and writes the
recommendations, their statuses, the check history, each check's outcome, the combination and the
catalog's headline (analysis.catalog_summary) with the run, in one transaction.

A check that raises does not sink the others: its error is logged (an ERROR with the traceback: Sentry
gets it), kept in the run's stats (`failed_checks`) and in analysis.check_outcomes, its earlier
recommendations keep their state, and the headline names it in `failed_checks` and leaves it out. The
run still succeeds, so the nine other checks' findings and the savings stage after it are not lost. Not
contained: a lost connection (the refresh is retried), the soft time limit, and every check failing (then
the stage fails as any stage does and writes nothing).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from datetime import timedelta

import numpy as np
import pandas as pd
from celery.exceptions import SoftTimeLimitExceeded

from checks import CHECKS, CatalogRun, Check, CheckInputs, response_cache, run_isolated
from checks.base import SampleScope
from checks.overlap import combine
from checks.response_cache import hashes_to_read
from checks.usage import Usage
from pricing import load_rates
from store import recommendations as store
from store.catalog_reads import clusters_read, daily_read, device_names_read, loops_read, project_names_read
from store.catalog_scan import devices_read, read_hashed_requests, read_usage, sample_ids
from store.check_outcomes import outcome_error
from store.reads import read_together
from store.runs import Run
from store.workspaces import workspace_read
from workers.jobs.stage import Stage, StageContext, trailing_window
from workers.runtime.db import sibling
from workers.runtime.failures import is_transient
from workers.runtime.replica import heavy_reader

log = logging.getLogger(__name__)

SPIKE_DAYS = 14  # spend-spike compares the last two weeks of rollups
# Hashed requests from which their read goes on a second connection beside the daily sums: opening one
# costs a few milliseconds, about what the prompt_hash index reads of that many rows take
SIBLING_ROWS = 5_000


def hashed_rows(clusters: pd.DataFrame, loops: pd.DataFrame) -> int:
    """About how many requests the hashed read brings: the clusters' and loops' own counts (an upper bound
    of the clusters the catalog reads, which clusters_read already narrowed to those it can use)."""
    return int(clusters["requests"].sum()) + int(loops["requests"].sum())


def catalog_inputs(ctx: StageContext, reads: dict[str, str] | None = None) -> CheckInputs:
    """What the checks read; `reads` gets where the heavy read went (heavy_reads: primary or replica)."""
    start, end = trailing_window(ctx.as_of)
    conn, ws = ctx.conn, ctx.workspace_id
    end_day = ctx.as_of.date()
    rates = load_rates()
    # the reads beside the window's usage in one round trip (store.reads): the workspace (its time zone), only
    # the clusters a check can use (the others' hashes have no rows read: response_cache.hashes_to_read), the
    # loops, the spike's daily rollups, the devices per project and model, the names
    workspace, clusters, loops, daily, devices, project_names, device_names = read_together(
        conn, workspace_read(ws),
        clusters_read(ws, end, recurring=(response_cache.MIN_PER_HASH, response_cache.MIN_DAYS)),
        loops_read(ws, start, end), daily_read(ws, end_day - timedelta(days=SPIKE_DAYS), end_day),
        devices_read(ws, start, end), project_names_read(ws), device_names_read(ws))
    timezone = workspace.timezone

    def sampler(scope: SampleScope) -> tuple[int, ...]:
        return sample_ids(conn, ws, start, end, scope, synced_by=ctx.as_of)

    def read_rest() -> Usage:
        return read_usage(conn, ws, start, end, synced_by=ctx.as_of, timezone=timezone, rates=rates, devices=devices)

    hashes = hashes_to_read(clusters, loops)
    # The hashes' requests are scattered over the table (an index read of random pages) while the daily
    # sums are mostly CPU: when they are many, read them at the same time, on a second connection; a few
    # are read in less time than that connection takes to open, so they are read on this one, in turn.
    # On the replica when it is current (workers/runtime/replica.py).
    beside = hashed_rows(clusters, loops) >= SIBLING_ROWS
    with heavy_reader(conn, ws, ctx.read_lsn, fallback=sibling if beside else nullcontext) as (other, source):
        if reads is not None:
            reads["heavy_reads"] = source
        if other is conn:
            requests = read_hashed_requests(other, ws, start, end, hashes, synced_by=ctx.as_of)
            usage = read_rest()
        else:
            with ThreadPoolExecutor(max_workers=1) as pool:
                hashed = pool.submit(read_hashed_requests, other, ws, start, end, hashes, synced_by=ctx.as_of)
                usage = read_rest()
                requests = hashed.result()
    return CheckInputs(
        workspace_id=ws, window_start=start, as_of=end, requests=requests, daily=daily,
        clusters=clusters, loops=loops, rates=rates, timezone=timezone,
        project_names=project_names, device_names=device_names, usage_scan=usage, sampler=sampler,
    )


def run_checks(ctx: StageContext, run: Run, checks: Sequence[Check] = CHECKS) -> None:
    reads: dict[str, str] = {}
    inputs = catalog_inputs(ctx, reads)
    run.stats.update(reads)
    catalog = run_isolated(inputs, checks, contain=a_checks_own)
    report_failures(catalog)
    findings = catalog.findings
    combination = combine(findings, inputs)
    with run.results() as tx:
        statuses, summary = store.write_catalog(tx, ctx.workspace_id, run.id, ctx.as_of, findings, combination,
                                                catalog.outcomes)
        # monthly_saving_nanos: the headline (open monthly recommendations taken together), as the summary
        run.stats.update({"requests": inputs.usage.requests, "findings": len(findings), **summary.as_stats(),
                          "statuses": statuses, "unpriced_models": unpriced_models(inputs),
                          "failed_checks": [{"check_id": o.check_id, "error": outcome_error(o)[0],
                                             "error_ref": outcome_error(o)[1]} for o in catalog.failed]})


def a_checks_own(error: Exception) -> bool:
    """An error to record as the check's failure: not a lost connection (retried) nor the time limit."""
    return not is_transient(error) and not isinstance(error, SoftTimeLimitExceeded)


def report_failures(catalog: CatalogRun) -> None:
    """Each failed check as an ERROR with its traceback (Sentry's logging integration sends it); every check
    failing is the stage's failure, not theirs."""
    for outcome in catalog.failed:
        log.error("check %s failed [%s]; the other checks' findings are written: %s", outcome.check_id,
                  outcome_error(outcome)[1], outcome.error, exc_info=outcome.exception)
    if catalog.outcomes and len(catalog.failed) == len(catalog.outcomes):
        raise RuntimeError(f"every check failed, the first with {catalog.failed[0].error}") \
            from catalog.failed[0].exception


def unpriced_models(inputs: CheckInputs) -> list[str]:
    """Models of the window the price table does not know: no check quotes anything on them."""
    models = set(np.asarray(inputs.usage.columns["model"], dtype=object).tolist())  # a cast of the column costs more
    return sorted(str(m) for m in models if inputs.rates.canonical(str(m)) is None)


STAGE = Stage(name="checks", needs=("rollup", "clustering"), run=run_checks)
