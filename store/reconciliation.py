"""SQL of reconciliation: the month's requests and bill, the pulled billing days, the inputs a sweep
compares, and the results (row, days, findings, audit events) written in the run's transaction."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from decimal import Decimal
from typing import NamedTuple

import pandas as pd
from psycopg import sql

from core.db import Conn
from core.errors import present
from core.periods import next_month, utc_midnight
from reconciliation.compute import REQUEST_COLUMNS
from reconciliation.model import DayBill, LineItem, Reconciliation
from reconciliation.sources import PulledMonth, StatementRow
from reconciliation.statement import MAX_PASTE_CHARS
from store.bulk import copy_into
from store.frames import NO_PROJECT, Condition, read_requests

# -- reads of one month -------------------------------------------------------------------------------

def month_requests(conn: Conn, workspace_id: int, provider: str, period: dt.date) -> pd.DataFrame:
    """The month's rows of the provider (reconciliation.compute.REQUEST_COLUMNS), in id order, through the
    COPY reader; no project is a missing project_id here, as reconciliation reads it."""
    frame = read_requests(conn, workspace_id, utc_midnight(period), utc_midnight(next_month(period)),
                          REQUEST_COLUMNS, condition=Condition(sql.SQL("provider = %s"), (provider,)))
    frame["project_id"] = frame["project_id"].astype("Int64").mask(frame["project_id"] == NO_PROJECT)
    return frame.sort_values("id", ignore_index=True)


def provider_months(conn: Conn, workspace_id: int, provider: str) -> list[dt.date]:
    """The UTC months in which the workspace logged traffic with the provider."""
    return [row[0] for row in conn.execute(
        """select distinct date_trunc('month', started_at at time zone 'UTC')::date from meter.requests
            where workspace_id = %s and provider = %s order by 1""", (workspace_id, provider)).fetchall()]


def month_statements(conn: Conn, workspace_id: int, provider: str, period: dt.date) -> list[StatementRow]:
    """The month's pastes (and statement rows), newest first: the latest readable one counts."""
    rows = conn.execute(
        # a paste over the parser's cap stays in the database, only its length comes out; a byte count
        # within the cap needs no character count (the cheap test first: CASE evaluates in order)
        """select id, source,
                  case when octet_length(raw_text) <= %(cap)s then raw_text
                       when char_length(raw_text) <= %(cap)s then raw_text end,
                  amount_nanos, entered_at, entered_by,
                  case when octet_length(raw_text) <= %(cap)s then null
                       when char_length(raw_text) > %(cap)s then char_length(raw_text) end
             from meter.billing_statements
            where workspace_id = %(ws)s and provider = %(provider)s and period = %(period)s
            order by entered_at desc, id desc""",
        {"cap": MAX_PASTE_CHARS, "ws": workspace_id, "provider": provider, "period": period},
    ).fetchall()
    return [StatementRow(*row) for row in rows]


def pulled_month(conn: Conn, workspace_id: int, provider: str, period: dt.date) -> PulledMonth | None:
    head = conn.execute(
        """select origin, changed_at from analysis.billing_months
            where workspace_id = %s and provider = %s and period = %s""",
        (workspace_id, provider, period),
    ).fetchone()
    if head is None:
        return None
    days = conn.execute(
        """select day, charges_nanos, credits_nanos, line_items from analysis.billing_days
            where workspace_id = %s and provider = %s and day >= %s and day < %s order by day""",
        (workspace_id, provider, period, next_month(period)),
    ).fetchall()
    return PulledMonth(str(head[0]), head[1], tuple(
        DayBill(day, int(charges), int(credits),
                tuple(LineItem(str(item["description"]), int(item["amount_nanos"])) for item in lines))
        for day, charges, credits, lines in days))


# -- what a month was computed from ------------------------------------------------------------------

def month_inputs(conn: Conn, workspace_id: int, since: dt.date, until: dt.date, rates_version: str,
                 provider: str | None = None) -> dict[tuple[str, dt.date], str]:
    """Per provider (or the one given) and month in [since, until): a text that changes whenever an input
    of its reconciliation does (a request synced, a paste entered, a pull that changed figures, new rates)."""
    only = (provider, provider)
    parts: dict[tuple[str, dt.date], dict[str, str]] = {}
    for name, period, count, total, synced, last_id in conn.execute(
        """select provider, date_trunc('month', started_at at time zone 'UTC')::date, count(*),
                  sum(cost_nanos), max(synced_at), max(id)
             from meter.requests where workspace_id = %s and started_at >= %s and started_at < %s
              and (%s::text is null or provider = %s)
            group by 1, 2""",
        (workspace_id, utc_midnight(since), utc_midnight(until), *only),
    ).fetchall():
        parts.setdefault((name, period), {})["requests"] = f"{count}:{total}:{synced.isoformat()}:{last_id}"
    for name, period, statement_id in conn.execute(
        """select distinct on (provider, period) provider, period, id from meter.billing_statements
            where workspace_id = %s and period >= %s and period < %s and (%s::text is null or provider = %s)
            order by provider, period, entered_at desc, id desc""",
        (workspace_id, since, until, *only),
    ).fetchall():
        parts.setdefault((name, period), {})["statement"] = str(statement_id)
    for name, period, checksum, changed_at in conn.execute(
        """select provider, period, checksum, changed_at from analysis.billing_months
            where workspace_id = %s and period >= %s and period < %s and (%s::text is null or provider = %s)""",
        (workspace_id, since, until, *only),
    ).fetchall():
        parts.setdefault((name, period), {})["pull"] = f"{checksum[:16]}:{changed_at.isoformat()}"
    return {key: "|".join(f"{name}={value.get(name, '-')}" for name in ("requests", "statement", "pull"))
            + f"|rates={rates_version}" for key, value in parts.items()}


def stored_inputs(conn: Conn, workspace_id: int, since: dt.date, until: dt.date) -> dict[tuple[str, dt.date], str]:
    rows = conn.execute(
        """select provider, period, coalesce(inputs, '') from analysis.reconciliation
            where workspace_id = %s and period >= %s and period < %s""",
        (workspace_id, since, until),
    ).fetchall()
    return {(provider, period): inputs for provider, period, inputs in rows}


def stored_state(conn: Conn, workspace_id: int, provider: str,
                 period: dt.date) -> tuple[str, str, str | None] | None:
    """(inputs, status, error) of the month's row, if it was reconciled."""
    row = conn.execute(
        """select coalesce(inputs, ''), status, error from analysis.reconciliation
            where workspace_id = %s and provider = %s and period = %s""",
        (workspace_id, provider, period),
    ).fetchone()
    return None if row is None else (str(row[0]), str(row[1]), row[2])


# -- writes -------------------------------------------------------------------------------------------

def recorded_refusals(conn: Conn, workspace_id: int, references: Sequence[str]) -> set[str]:
    """Which of these statements ('statement:<id>') already have their refusal in the audit log."""
    if not references:
        return set()
    return {str(row[0]) for row in conn.execute(
        """select distinct resource from analysis.audit_events
            where workspace_id = %s and resource = any(%s) and event = 'billing.paste_refused'""",
        (workspace_id, list(references))).fetchall()}


def write_reconciliation(tx: Conn, workspace_id: int, result: Reconciliation, run_id: int, inputs: str,
                         reference: str, computed_at: dt.datetime) -> None:
    """Replace the month's row, days and findings (call inside the run's results transaction)."""
    period, provider = result.period, result.provider
    tx.execute("""delete from analysis.reconciliation_days
                   where workspace_id = %s and provider = %s and day >= %s and day < %s""",
               (workspace_id, provider, period, next_month(period)))
    tx.execute("""delete from analysis.reconciliation_findings
                   where workspace_id = %s and provider = %s and period = %s""", (workspace_id, provider, period))
    with copy_into(tx, "reconciliation_days", ("workspace_id", "provider", "day", "logged_nanos", "billed_nanos",
                                                "variance_nanos")) as copy:
        for day in result.days:
            copy.write_row((workspace_id, provider, day.day, day.logged_nanos, day.billed_nanos, day.variance_nanos))
    with copy_into(tx, "reconciliation_findings", ("workspace_id", "provider", "period", "cause", "request_id",
                                                    "day", "attribution_tier", "delta_nanos", "detail")) as copy:
        for finding in result.findings:
            copy.write_row((workspace_id, provider, period, finding.cause, finding.request_id, finding.day,
                            finding.attribution_tier, finding.delta_nanos, json.dumps(finding.detail, default=str)))
    tx.execute(
        """insert into analysis.reconciliation
               (workspace_id, provider, period, logged_nanos, billed_nanos, billed_source, variance_nanos,
                variance_ratio, band, status, error, computed_at, run_id, inputs, bill_reference, notice)
           values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
           on conflict (workspace_id, provider, period) do update set
               logged_nanos = excluded.logged_nanos, billed_nanos = excluded.billed_nanos,
               billed_source = excluded.billed_source, variance_nanos = excluded.variance_nanos,
               variance_ratio = excluded.variance_ratio, band = excluded.band, status = excluded.status,
               error = excluded.error, computed_at = excluded.computed_at, run_id = excluded.run_id,
               inputs = excluded.inputs, bill_reference = excluded.bill_reference, notice = excluded.notice""",
        (workspace_id, provider, period, result.logged_nanos, result.billed_nanos, result.billed_source,
         result.variance_nanos, result.variance_ratio, result.band, result.status, result.error, computed_at,
         run_id, inputs, reference or None, result.notice),
    )


def write_billing_days(tx: Conn, workspace_id: int, provider: str, origin: str, days: Sequence[DayBill],
                       periods: Sequence[dt.date], run_id: int, now: dt.datetime) -> list[dt.date]:
    """Store the months a pull or import covered; return the months whose figures changed."""
    changed = []
    for period in periods:
        end = next_month(period)
        month = [d for d in days if period <= d.day < end]
        checksum = _checksum(origin, month)
        row = tx.execute("""select checksum from analysis.billing_months
                             where workspace_id = %s and provider = %s and period = %s""",
                         (workspace_id, provider, period)).fetchone()
        if row is not None and row[0] == checksum:
            tx.execute("""update analysis.billing_months set pulled_at = %s, run_id = %s
                           where workspace_id = %s and provider = %s and period = %s""",
                       (now, run_id, workspace_id, provider, period))
            continue
        tx.execute("""delete from analysis.billing_days
                       where workspace_id = %s and provider = %s and day >= %s and day < %s""",
                   (workspace_id, provider, period, end))
        with tx.cursor() as cursor:  # one round trip for the month's days
            cursor.executemany(
                """insert into analysis.billing_days (workspace_id, provider, day, origin, charges_nanos,
                       credits_nanos, line_items, run_id) values (%s, %s, %s, %s, %s, %s, %s::jsonb, %s)""",
                [(workspace_id, provider, day.day, origin, day.charges_nanos, day.credits_nanos,
                  json.dumps([{"description": i.description, "amount_nanos": i.amount_nanos} for i in day.lines]),
                  run_id) for day in month])
        tx.execute(
            """insert into analysis.billing_months (workspace_id, provider, period, origin, checksum, changed_at,
                   pulled_at, run_id) values (%s, %s, %s, %s, %s, %s, %s, %s)
               on conflict (workspace_id, provider, period) do update set origin = excluded.origin,
                   checksum = excluded.checksum, changed_at = excluded.changed_at, pulled_at = excluded.pulled_at,
                   run_id = excluded.run_id""",
            (workspace_id, provider, period, origin, checksum, now, now, run_id))
        changed.append(period)
    return changed


def _checksum(origin: str, days: Sequence[DayBill]) -> str:
    body = json.dumps([origin, [[d.day.isoformat(), d.charges_nanos, d.credits_nanos,
                                 [[i.description, i.amount_nanos] for i in d.lines]] for d in days]])
    return hashlib.sha256(body.encode()).hexdigest()


# -- connections and the dashboard's paste ------------------------------------------------------------

def active_connections(conn: Conn, workspace_id: int) -> list[tuple[int, str, bytes, str]]:
    """(id, provider, ciphertext, key hint) of the workspace's live connections, the newest per provider."""
    rows = conn.execute(
        """select distinct on (provider) id, provider, admin_key_ciphertext, key_hint
             from meter.provider_connections where workspace_id = %s and revoked_at is null
            order by provider, created_at desc, id desc""",
        (workspace_id,),
    ).fetchall()
    return [(int(i), str(p), bytes(c), str(h)) for i, p, c, h in rows]


def workspaces_with_connections(conn: Conn) -> list[int]:
    """The nightly pull's fan-out (a read across workspaces, like the scheduler's list, through its narrow
    function: store/row_security.py)."""
    return [int(r[0]) for r in conn.execute("select meter.fleet_workspaces_with_connections()").fetchall()]


def insert_statement(conn: Conn, workspace_id: int, provider: str, period: dt.date, raw_text: str,
                     entered_by: str) -> int:
    """A paste as the dashboard writes it (raw text, amount left for the fleet to parse)."""
    row = conn.execute(
        """insert into meter.billing_statements (workspace_id, provider, period, source, raw_text, entered_by,
               entered_at) values (%s, %s, %s, 'manual', %s, %s, clock_timestamp()) returning id""",
        (workspace_id, provider, period, raw_text, entered_by),
    ).fetchone()
    row = present(row, "the new statement's id")
    return int(row[0])


# -- the table people read ----------------------------------------------------------------------------

class ReconciliationRow(NamedTuple):
    provider: str
    period: dt.date
    logged_nanos: int
    billed_nanos: int | None
    billed_source: str | None
    variance_nanos: int | None
    variance_ratio: Decimal | None
    band: str | None
    status: str
    error: str | None
    notice: str | None


def reconciliation_rows(conn: Conn, workspace_id: int, provider: str | None = None,
                        period: dt.date | None = None) -> list[ReconciliationRow]:
    """The table people read, newest month first; of one provider and month when given."""
    rows = conn.execute(
        """select provider, period, logged_nanos, billed_nanos, billed_source, variance_nanos, variance_ratio,
                  band, status, error, notice
             from analysis.reconciliation
            where workspace_id = %s and (%s::text is null or provider = %s) and (%s::date is null or period = %s)
            order by period desc, provider""",
        (workspace_id, provider, provider, period, period),
    ).fetchall()
    return [ReconciliationRow(*row) for row in rows]


def findings_by_cause(conn: Conn, workspace_id: int, provider: str,
                      period: dt.date) -> list[tuple[str, int, int, list[int]]]:
    """(cause, findings, delta, a few request ids) for one month, largest share first."""
    rows = conn.execute(
        """select cause, count(*), sum(delta_nanos)::bigint,
                  (array_agg(coalesce(request_id, (detail->'request_ids'->>0)::bigint) order by abs(delta_nanos) desc)
                     filter (where request_id is not null or detail ? 'request_ids'))[1:3]
             from analysis.reconciliation_findings
            where workspace_id = %s and provider = %s and period = %s
            group by cause order by abs(sum(delta_nanos)) desc, cause""",
        (workspace_id, provider, period),
    ).fetchall()
    return [(str(c), int(n), int(d), list(ids or [])) for c, n, d, ids in rows]


def findings_sums(conn: Conn, workspace_id: int) -> dict[tuple[str, dt.date, str], tuple[int, int]]:
    """(provider, month, cause) → (findings, delta) over every reconciled month of the workspace."""
    rows = conn.execute(
        """select provider, period, cause, count(*), sum(delta_nanos)::bigint from analysis.reconciliation_findings
            where workspace_id = %s group by 1, 2, 3""",
        (workspace_id,),
    ).fetchall()
    return {(str(p), period, str(c)): (int(n), int(d)) for p, period, c, n, d in rows}
