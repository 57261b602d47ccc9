"""Reconciliation jobs as plain functions (what the billing tasks and the command line run).

- reconcile: one workspace, provider and UTC month: read the requests and the bill that counts,
  compute (reconciliation.compute), write the row, its days and findings with the run row. The same
  inputs twice change nothing (the row keeps the inputs it was computed from). A paste that cannot be
  read does not displace the last bill that could (the row's notice says so, an audit event records
  it); with no readable bill at all the run writes an 'error' row and fails with the reason, in one
  transaction.
- pull_billing: every live connection of a workspace (OpenAI, Anthropic), the previous and current
  month, then reconcile those months. One connection's failure does not stop the others, nor does one
  month that cannot be reconciled (it is listed in the outcome's failed_months).
- import_billing_export: a Gemini or xAI export file through the same write path as a pull.
- stale_months: the months whose inputs changed since they were reconciled (the sweep's question).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from functools import lru_cache

from adapters.billing import API_CLIENTS, AdminKey, BillingClient, shown_hint
from core.db import Conn
from core.errors import ConfigError, FleetError, TransientError, UserError
from core.periods import month_start, next_month, previous_month, refuse_future_month, utc_midnight
from pricing import RateTable, load_rates
from reconciliation.compute import reconcile as compute_reconciliation
from reconciliation.exports import ExportSource, parse_export
from reconciliation.model import PROVIDERS, Bill, BillUnusable
from reconciliation.parsers import BillingFormatError, LimitExceeded
from reconciliation.sources import BillChoice, choose_bill
from store import reconciliation as store
from store.audit import audit
from store.runs import FailureKind, RunSpec, claimed_run, describe_failure
from store.tenancy import workspace_scope
from store.workspaces import all_workspace_ids, workspace_by_id
from workers.jobs import JobOutcome, worker_name
from workers.runtime.billing_keys import open_admin_key
from workers.runtime.failures import is_transient
from workers.runtime.logs import bind_context
from workers.settings import billing_settings

log = logging.getLogger(__name__)

API_ORIGINS = {"openai": "openai_costs_api", "anthropic": "anthropic_cost_report"}
EXPORT_ORIGINS = {"gemini": "gemini_billing_export", "xai": "xai_usage_export"}
SWEEP_MONTHS = 3  # the sweep looks at this many months up to the current one

ClientFactory = Callable[[str, AdminKey], BillingClient]


@lru_cache(maxsize=1)
def rates() -> RateTable:
    return load_rates()


def rates_version(table: RateTable) -> str:
    return table.versions[-1].id


def check_provider(provider: str) -> str:
    if provider not in PROVIDERS:
        raise UserError(f"unknown provider '{provider}'; choose from {', '.join(PROVIDERS)}")
    return provider


def reconcile(conn: Conn, workspace_id: int, provider: str, period: dt.date, as_of: dt.datetime,
              task_id: str | None = None, attempt: int = 0, force: bool = False) -> JobOutcome:
    check_provider(provider)
    workspace_by_id(conn, workspace_id)
    period = month_start(period)
    end = next_month(period)
    table = rates()
    spec = RunSpec(job="reconcile", workspace_id=workspace_id, as_of=as_of, window_start=utc_midnight(period),
                   window_end=utc_midnight(end), lock_scope=f"{provider}|{period}", task_id=task_id,
                   worker=worker_name(), attempt=attempt)
    with claimed_run(conn, spec) as run, bind_context(run=run.id):
        run.stats.update(provider=provider, period=period.isoformat())
        refuse_future_month(period, dt.datetime.now(dt.UTC).date())  # inside the run: it records why
        inputs = store.month_inputs(conn, workspace_id, period, end, rates_version(table), provider).get(
            (provider, period), f"requests=-|statement=-|pull=-|rates={rates_version(table)}")
        before = store.stored_state(conn, workspace_id, provider, period)
        if before is not None and before[0] == inputs and not force:
            if before[1] == "error":  # the same unreadable paste: the same failure, nothing rewritten
                raise UserError(before[2] or "the bill could not be used")
            with run.results():
                run.stats["unchanged"] = True
            return JobOutcome("reconcile", workspace_id, "succeeded", run.id, dict(run.stats))
        choice = choose_bill(store.month_statements(conn, workspace_id, provider, period),
                             store.pulled_month(conn, workspace_id, provider, period))
        bill = choice.bill
        result = compute_reconciliation(provider, period, store.month_requests(conn, workspace_id, provider, period),
                                        bill, table, choice.notice)
        summary = result.summary()
        run.stats.update(status=result.status, band=result.band, logged_nanos=result.logged_nanos,
                         billed_nanos=result.billed_nanos, variance_nanos=result.variance_nanos,
                         findings=len(result.findings), refused_pastes=len(choice.refused))
        reference = bill.reference if bill is not None else ""
        now = dt.datetime.now(dt.UTC)
        resource = f"reconciliation:{provider}:{period:%Y-%m}"
        if isinstance(bill, BillUnusable):
            with conn.transaction():
                store.write_reconciliation(conn, workspace_id, result, run.id, inputs, reference, now)
                _audit_refusals(conn, workspace_id, provider, period, choice, run.id, now)
                audit(conn, workspace_id, worker_name(), "reconciliation.failed", resource,
                            {**summary, "bill": reference, "run_id": run.id}, now)
                run.fail_within(conn, bill.reason, FailureKind.USER_ERROR)
            raise UserError(bill.reason)
        with run.results() as tx:
            store.write_reconciliation(tx, workspace_id, result, run.id, inputs, reference, now)
            _audit_refusals(tx, workspace_id, provider, period, choice, run.id, now)
            audit(tx, workspace_id, worker_name(), "reconciliation.computed", resource,
                        {**summary, "bill": reference, "run_id": run.id,
                         "request_ids": sorted({f.request_id for f in result.findings if f.request_id})[:200]}, now)
        log.info("reconciled %s %s: %s", provider, period, summary)
        return JobOutcome("reconcile", workspace_id, "succeeded", run.id, dict(run.stats))


def _audit_refusals(conn: Conn, workspace_id: int, provider: str, period: dt.date, choice: BillChoice, run_id: int,
                    now: dt.datetime) -> None:
    """One 'billing.paste_refused' event per refused paste, the first time a reconciliation meets it (a
    month recomputed for new requests does not record the same paste again)."""
    done = store.recorded_refusals(conn, workspace_id, [r.reference for r in choice.refused])
    counted = choice.bill.reference if isinstance(choice.bill, Bill) else None
    for refusal in choice.refused:
        if refusal.reference in done:
            continue
        statement = refusal.statement
        audit(conn, workspace_id, worker_name(), "billing.paste_refused", refusal.reference,
              {"provider": provider, "period": period, "entered_at": statement.entered_at,
               "entered_by": statement.entered_by, "reason": refusal.reason, "reconciled_against": counted,
               "notice": choice.notice, "run_id": run_id}, now)


def default_client(provider: str, key: AdminKey) -> BillingClient:
    billing = billing_settings()
    return API_CLIENTS[provider](key, billing.base_url(provider), http=billing.http(), limits=billing.limits())


def pull_billing(conn: Conn, workspace_id: int, as_of: dt.datetime, task_id: str | None = None, attempt: int = 0,
                 client_for: ClientFactory = default_client) -> JobOutcome:
    """Pull every live connection of the workspace, then reconcile the months pulled."""
    workspace_by_id(conn, workspace_id)
    current = month_start(as_of.date())
    start, end = previous_month(current), next_month(current)
    transient: list[TransientError] = []
    unexpected: list[str] = []
    pulled: list[str] = []
    failed: list[str] = []
    skipped: list[str] = []
    for connection_id, provider, ciphertext, hint in store.active_connections(conn, workspace_id):
        if provider not in API_CLIENTS:
            skipped.append(provider)  # gemini and xai bill through export files
            continue
        spec = RunSpec(job="pull_billing", workspace_id=workspace_id, as_of=as_of,
                       window_start=utc_midnight(start), window_end=utc_midnight(end), lock_scope=provider,
                       task_id=task_id, worker=worker_name(), attempt=attempt)
        try:
            with claimed_run(conn, spec) as run, bind_context(run=run.id):
                key = open_admin_key(conn, workspace_id, connection_id, ciphertext, hint)  # refused before use
                with client_for(provider, key) as client:
                    days = client.daily_costs(start, end)
                now = dt.datetime.now(dt.UTC)
                with run.results() as tx:
                    changed = store.write_billing_days(tx, workspace_id, provider, API_ORIGINS[provider], days,
                                                       [start, current], run.id, now)
                    run.stats.update(provider=provider, days=len(days), months_changed=[str(p) for p in changed])
                    audit(tx, workspace_id, worker_name(), "billing.pulled", f"connection:{connection_id}",
                                {"provider": provider, "key_hint": shown_hint(hint), "from": start, "to": end,
                                 "days": len(days), "months_changed": changed, "run_id": run.id}, now)
            pulled.append(provider)
        except TransientError as error:
            transient.append(error)
            failed.append(f"{provider}: {error}")
        except (UserError, BillingFormatError) as error:  # this connection's problem; its run says why
            limit = f" (HALTON_BILLING_{error.limit.upper()})" if isinstance(error, LimitExceeded) else ""
            log.warning("billing pull of %s for workspace %s failed: %s%s", provider, workspace_id, error, limit)
            failed.append(f"{provider}: {error}")
        except Exception as error:  # a fault of ours or of the fleet's set-up: the others still go on
            if isinstance(error, ConfigError) or is_transient(error):
                raise  # the same for every connection (a missing key, the database gone): stop here
            log.exception("billing pull of %s for workspace %s failed; the other connections go on", provider,
                          workspace_id)
            unexpected.append(f"{provider}: {describe_failure(error)}")
            failed.append(unexpected[-1])
    failed_months = _reconcile_pulled(conn, workspace_id, pulled, (start, current), as_of, task_id, attempt)
    if transient:
        raise TransientError(f"billing pull of workspace {workspace_id}: {transient[0]}")
    if unexpected:  # the task is seen to fail, after the others were pulled and reconciled
        raise FleetError(f"billing pull of workspace {workspace_id} failed for {'; '.join(unexpected)} (pulled: "
                         f"{', '.join(pulled) or 'none'})")
    return JobOutcome("pull_billing", workspace_id, "succeeded", None,
                      {"pulled": pulled, "failed": failed, "skipped": skipped, "failed_months": failed_months})


def _reconcile_pulled(conn: Conn, workspace_id: int, providers: list[str], periods: tuple[dt.date, ...],
                      as_of: dt.datetime, task_id: str | None, attempt: int) -> list[str]:
    """Reconcile each pulled (provider, month); a month that cannot be (an unreadable paste) already says
    so on its 'error' row and its run, and stops no other month: return those months, with why."""
    failed = []
    for provider in providers:
        for period in periods:
            try:
                reconcile(conn, workspace_id, provider, period, as_of, task_id=task_id, attempt=attempt)
            except UserError as error:
                log.warning("reconciling %s %s of workspace %s failed: %s", provider, period, workspace_id, error)
                failed.append(f"{provider} {period:%Y-%m}: {error}")
    return failed


def import_billing_export(conn: Conn, workspace_id: int, provider: str, data: ExportSource, as_of: dt.datetime,
                          name: str = "export") -> JobOutcome:
    """A Gemini or xAI billing export (the open file, read as a stream; or its bytes or text) through the same
    path as a pull, then reconcile its months."""
    check_provider(provider)
    if provider not in EXPORT_ORIGINS:
        raise UserError(f"{provider} bills through its API; export files are read for {', '.join(EXPORT_ORIGINS)}")
    workspace_by_id(conn, workspace_id)
    try:
        days = parse_export(provider, data, billing_settings().limits())
    except BillingFormatError as error:
        raise UserError(f"the {provider} export {name} could not be read: {error}") from None
    if not days:
        raise UserError(f"the {provider} export {name} has no billed days")
    periods = sorted({month_start(d.day) for d in days})
    spec = RunSpec(job="import_billing", workspace_id=workspace_id, as_of=as_of,
                   window_start=utc_midnight(periods[0]), window_end=utc_midnight(next_month(periods[-1])),
                   lock_scope=provider, worker=worker_name())
    with claimed_run(conn, spec) as run, bind_context(run=run.id):
        now = dt.datetime.now(dt.UTC)
        with run.results() as tx:
            changed = store.write_billing_days(tx, workspace_id, provider, EXPORT_ORIGINS[provider], days, periods,
                                               run.id, now)
            run.stats.update(provider=provider, days=len(days), months_changed=[str(p) for p in changed])
            audit(tx, workspace_id, worker_name(), "billing.imported", f"export:{provider}:{name}",
                        {"provider": provider, "days": len(days), "months_changed": changed, "run_id": run.id}, now)
        stats = dict(run.stats)
    stats["reconciled"] = [reconcile(conn, workspace_id, provider, p, as_of).stats.get("band") for p in periods]
    return JobOutcome("import_billing", workspace_id, "succeeded", None, stats)


def stale_months(conn: Conn, workspace_id: int, as_of: dt.datetime,
                 months: int = SWEEP_MONTHS) -> list[tuple[str, dt.date]]:
    """Months (of the last `months`) whose inputs differ from those their row was computed from."""
    until = next_month(month_start(as_of.date()))
    since = until
    for _ in range(months):
        since = previous_month(since)
    current = store.month_inputs(conn, workspace_id, since, until, rates_version(rates()))
    stored = store.stored_inputs(conn, workspace_id, since, until)
    return sorted(key for key, inputs in current.items() if key[0] in PROVIDERS and stored.get(key) != inputs)


def sweep(conn: Conn, as_of: dt.datetime, send: Callable[[int, str, dt.date], None]) -> dict[str, int]:
    """Hand every stale month of every workspace to `send`. One workspace failing stops no other, but the
    sweep then fails naming them, so the task is seen to fail; a transient failure is raised at once, for
    Celery to retry the whole (idempotent) sweep."""
    sent = 0
    failed: list[str] = []
    for workspace_id in all_workspace_ids(conn):
        try:
            with workspace_scope(conn, workspace_id):
                months = stale_months(conn, workspace_id, as_of)
            for provider, period in months:
                send(workspace_id, provider, period)
                sent += 1
        except Exception as error:
            if is_transient(error):
                raise
            failed.append(f"workspace {workspace_id}: {describe_failure(error)}")
            log.exception("sweep of workspace %s failed; the others go on", workspace_id)
    if failed:
        raise FleetError(f"the reconcile sweep failed for {len(failed)} workspace(s) ({sent} month(s) sent for the "
                         f"others): {'; '.join(failed)}")
    return {"sent": sent}
