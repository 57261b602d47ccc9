"""A paste that cannot be read, on the dashboard's path, against a real Postgres: the month keeps the last
readable bill and says so (analysis.reconciliation.notice, a 'billing.paste_refused' audit event)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.money import money
from store.reconciliation import insert_statement
from tests.factories import Conn, Scene, add_request
from tests.store.test_reconciliation_store import AS_OF, NOV, november, right_cost
from workers.jobs import reconcile as jobs

D = 1_000_000_000
REFUSED = ("no amount in dollars was found in 'about three hundred dollars'; paste something like $342.04 or "
           "342.04 USD")


def statement_time(conn: Conn, statement_id: int) -> str:
    row = conn.execute("select entered_at from meter.billing_statements where id = %s", (statement_id,)).fetchone()
    assert row is not None
    return f"{row[0].astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"


def month_row(conn: Conn) -> tuple[Any, ...]:
    row = conn.execute("""select status, billed_nanos, bill_reference, error, notice
                            from analysis.reconciliation""").fetchone()
    assert row is not None
    return tuple(row)


def refusal_events(conn: Conn) -> list[tuple[Any, ...]]:
    return conn.execute("""select resource, details->>'reason', details->>'reconciled_against'
                             from analysis.audit_events where event = 'billing.paste_refused' order by id""").fetchall()


def test_an_unreadable_paste_keeps_the_last_readable_bill_says_so_and_is_audited_once(db_conn: Conn) -> None:
    ws = november(db_conn)
    good = insert_statement(db_conn, ws, "anthropic", NOV, "$342.04", "finance@acme")
    jobs.reconcile(db_conn, ws, "anthropic", NOV, AS_OF)
    bad = insert_statement(db_conn, ws, "anthropic", NOV, "about three hundred dollars", "intern@acme")
    outcome = jobs.reconcile(db_conn, ws, "anthropic", NOV, AS_OF)
    assert outcome.status == "succeeded" and outcome.stats["refused_pastes"] == 1
    status, billed, reference, error, notice = month_row(db_conn)
    assert (status, billed, reference, error) == ("ok", 342_040_000_000, f"statement:{good}", None)
    assert notice == (f"a paste entered {statement_time(db_conn, bad)} by intern@acme was refused: {REFUSED}; "
                      f"reconciled against the bill entered {statement_time(db_conn, good)} by finance@acme "
                      f"({money(342_040_000_000)})")
    assert refusal_events(db_conn) == [(f"statement:{bad}", REFUSED, f"statement:{good}")]
    # recomputed (a request synced late, then forced): the same refusal is not recorded again
    add_request(db_conn, _scene(db_conn, ws), dt.datetime(2026, 11, 12, 10, tzinfo=dt.UTC), cost_nanos=right_cost(12),
                input_tokens=100_000, output_tokens=10_000)
    jobs.reconcile(db_conn, ws, "anthropic", NOV, AS_OF)
    jobs.reconcile(db_conn, ws, "anthropic", NOV, AS_OF, force=True)
    assert month_row(db_conn)[:2] == ("ok", 342_040_000_000) and len(refusal_events(db_conn)) == 1
    computed = db_conn.execute("""select details->>'notice' from analysis.audit_events
                                   where event = 'reconciliation.computed' order by id desc limit 1""").fetchone()
    assert computed == (notice,)


def test_a_readable_paste_after_the_refused_one_counts_and_clears_the_notice(db_conn: Conn) -> None:
    ws = november(db_conn)
    insert_statement(db_conn, ws, "anthropic", NOV, "$342.04", "finance@acme")
    insert_statement(db_conn, ws, "anthropic", NOV, "about three hundred dollars", "intern@acme")
    jobs.reconcile(db_conn, ws, "anthropic", NOV, AS_OF)
    assert month_row(db_conn)[4] is not None
    insert_statement(db_conn, ws, "anthropic", NOV, "$300.00", "intern@acme")
    jobs.reconcile(db_conn, ws, "anthropic", NOV, AS_OF)
    assert month_row(db_conn)[:2] == ("ok", 300 * D) and month_row(db_conn)[4] is None


def test_an_unreadable_paste_after_an_export_reconciles_against_the_export(db_conn: Conn) -> None:
    ws = november(db_conn, provider="xai", model="grok-4")
    export = "date,model,cost_usd\n2026-11-02,grok-4,1.00\n2026-11-20,grok-4,2.00\n"
    jobs.import_billing_export(db_conn, ws, "xai", export, AS_OF, name="usage.csv")
    bad = insert_statement(db_conn, ws, "xai", NOV, "Total: $5.00\nTotal: $6.00", "finance@acme")
    jobs.reconcile(db_conn, ws, "xai", NOV, AS_OF)
    status, billed, reference, _error, notice = month_row(db_conn)
    assert (status, billed, reference) == ("ok", 3 * D, "pull:xai_usage_export")
    assert notice is not None and notice.startswith(f"a paste entered {statement_time(db_conn, bad)} by finance@acme "
                                                    "was refused: the paste has 2 totals that differ")
    assert "; reconciled against the bill imported " in notice and notice.endswith("from an xAI usage export ($3.00)")
    finding = db_conn.execute("select count(*) from analysis.reconciliation_findings where cause = 'unlogged_spend'")
    assert finding.fetchone() == (1,)  # the export's days are still read: its findings stand


def _scene(conn: Conn, workspace_id: int) -> Scene:
    projects = [r[0] for r in conn.execute("select id from meter.projects where workspace_id = %s order by id",
                                           (workspace_id,)).fetchall()]
    devices = [r[0] for r in conn.execute("select id from meter.devices where workspace_id = %s order by id",
                                          (workspace_id,)).fetchall()]
    return Scene(workspace_id, projects, devices)
