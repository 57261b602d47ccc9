"""Reconciliation against a real Postgres: pastes, reruns, pulls, exports, the sweep, the CLI."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from cryptography.fernet import Fernet

from adapters.billing import API_CLIENTS
from core.errors import FleetError, TransientError, UserError
from core.money import cents
from pricing import load_rates, price_requests
from reconciliation.limits import HttpPolicy
from store.reconciliation import insert_statement
from tests.factories import Conn, add_request, make_workspace
from tests.unit.billing_server import Answer, Script, billing_server, openai_page
from workers.jobs import reconcile as jobs
from workers.settings import get_settings

NOV = dt.date(2026, 11, 1)
AS_OF = dt.datetime(2026, 11, 28, 3, 0, tzinfo=dt.UTC)
D = 1_000_000_000


def right_cost(day: int) -> int:
    batch = price_requests(load_rates(), model=["claude-sonnet-4-6"], service_tier="standard", input_tokens=[100_000],
                           cache_read_tokens=[0], cache_write_tokens=[0], output_tokens=[10_000],
                           at=dt.date(2026, 11, day))
    return int(batch.cost_nanos[0])


def november(conn: Conn, slug: str = "acme", provider: str = "anthropic", model: str = "claude-sonnet-4-6") -> int:
    scene = make_workspace(conn, slug)
    for day in range(2, 12):
        add_request(conn, scene, dt.datetime(2026, 11, day, 10, tzinfo=dt.UTC), cost_nanos=right_cost(day),
                    provider=provider, model=model, input_tokens=100_000, output_tokens=10_000)
    return scene.workspace_id


def snapshot(conn: Conn) -> dict[str, list[tuple[Any, ...]]]:
    return {table: conn.execute(f"select * from analysis.{table} order by 1, 2, 3").fetchall()
            for table in ("reconciliation", "reconciliation_days", "reconciliation_findings", "audit_events",
                          "billing_days", "billing_months")}


def test_a_paste_reconciles_and_a_rerun_with_no_new_input_changes_nothing(db_conn: Conn) -> None:
    ws = november(db_conn)
    logged = sum(right_cost(d) for d in range(2, 12))
    insert_statement(db_conn, ws, "anthropic", NOV, f"Total: ${logged / D:.2f}", "finance")
    outcome = jobs.reconcile(db_conn, ws, "anthropic", NOV, AS_OF)
    row = db_conn.execute("select logged_nanos, billed_source, band, status from analysis.reconciliation").fetchone()
    assert row == (logged, "manual", "green", "ok") and outcome.stats["status"] == "ok"
    assert db_conn.execute("select count(*) from analysis.reconciliation_days").fetchone() == (10,)
    before = snapshot(db_conn)
    again = jobs.reconcile(db_conn, ws, "anthropic", NOV, AS_OF)
    assert again.stats["unchanged"] is True and snapshot(db_conn) == before
    runs = db_conn.execute("select status from analysis.runs where job = 'reconcile' order by id").fetchall()
    assert runs == [("succeeded",), ("succeeded",)]


def test_a_second_paste_for_the_month_replaces_the_first(db_conn: Conn) -> None:
    ws = november(db_conn)
    insert_statement(db_conn, ws, "anthropic", NOV, "$1.00", "finance")
    jobs.reconcile(db_conn, ws, "anthropic", NOV, AS_OF)
    insert_statement(db_conn, ws, "anthropic", NOV, "USD 2.50", "finance")
    jobs.reconcile(db_conn, ws, "anthropic", NOV, AS_OF)
    rows = db_conn.execute("select billed_nanos, bill_reference from analysis.reconciliation").fetchall()
    assert len(rows) == 1 and rows[0][0] == 2_500_000_000 and rows[0][1].startswith("statement:")
    causes: dict[str, int] = dict(db_conn.execute(
        "select cause, count(*) from analysis.reconciliation_findings group by 1").fetchall())
    assert causes["unexplained"] == 1  # replaced, not added to


def test_a_malformed_paste_is_an_error_row_and_a_failed_run_saying_why(db_conn: Conn) -> None:
    ws = november(db_conn)
    insert_statement(db_conn, ws, "anthropic", NOV, "Total: $5.00\nTotal: $6.00", "finance")
    with pytest.raises(UserError, match="2 totals that differ"):
        jobs.reconcile(db_conn, ws, "anthropic", NOV, AS_OF)
    row = db_conn.execute("select status, error, billed_nanos, band from analysis.reconciliation").fetchone()
    assert row is not None and row[0] == "error" and "2 totals that differ" in row[1] and row[2:] == (None, None)
    run = db_conn.execute("select status, error from analysis.runs where job = 'reconcile'").fetchone()
    assert run is not None and run[0] == "failed" and "2 totals that differ" in run[1]
    with pytest.raises(UserError, match="2 totals"):  # the same paste again: the same failure
        jobs.reconcile(db_conn, ws, "anthropic", NOV, AS_OF)
    insert_statement(db_conn, ws, "anthropic", NOV, "$6.00", "finance")
    assert jobs.reconcile(db_conn, ws, "anthropic", NOV, AS_OF).stats["status"] == "ok"


def test_a_month_with_traffic_and_no_bill_awaits_it(db_conn: Conn) -> None:
    ws = november(db_conn)
    jobs.reconcile(db_conn, ws, "anthropic", NOV, AS_OF)
    assert db_conn.execute("select status, billed_nanos, band from analysis.reconciliation").fetchone() == (
        "awaiting_bill", None, None)


def test_the_sweep_finds_months_whose_inputs_changed(db_conn: Conn) -> None:
    ws = november(db_conn)
    assert jobs.stale_months(db_conn, ws, AS_OF) == [("anthropic", NOV)]
    jobs.reconcile(db_conn, ws, "anthropic", NOV, AS_OF)
    assert jobs.stale_months(db_conn, ws, AS_OF) == []
    insert_statement(db_conn, ws, "anthropic", NOV, "$9.99", "finance")  # a paste whose task was lost
    assert jobs.stale_months(db_conn, ws, AS_OF) == [("anthropic", NOV)]
    sent: list[tuple[int, str, dt.date]] = []
    assert jobs.sweep(db_conn, AS_OF, lambda *args: sent.append(args)) == {"sent": 1}
    assert sent == [(ws, "anthropic", NOV)]


@pytest.fixture
def fleet_settings(fleet_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Fernet]:
    for name, value in fleet_env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield Fernet(fleet_env["HALTON_ENCRYPTION_KEY"].encode())
    get_settings.cache_clear()


LOCAL_HTTP = HttpPolicy(allow_insecure_http=True)  # the local billing server speaks http


def connect_billing(conn: Conn, ws: int, provider: str, ciphertext: bytes) -> None:
    conn.execute("""insert into meter.provider_connections (workspace_id, provider, admin_key_ciphertext, key_hint)
                    values (%s, %s, %s, 'sk-…beef')""", (ws, provider, ciphertext))


def test_a_nightly_pull_stores_the_days_and_reconciles_and_a_bad_key_stops_no_other(
        db_conn: Conn, fleet_settings: Fernet) -> None:
    ws = november(db_conn, provider="openai", model="gpt-4.1")
    connect_billing(db_conn, ws, "openai", fleet_settings.encrypt(b"sk-admin-openai-0123456789abcdefgh"))
    connect_billing(db_conn, ws, "anthropic", Fernet(Fernet.generate_key()).encrypt(b"sk-ant-other-fleet-key-0000"))
    start = 1_793_491_200  # 2026-11-01
    script = Script([Answer(body=openai_page([(start + 86400, [(1.25, "gpt-4.1, input"), (-0.25, "credit")])],
                                             next_page="p2")),
                     Answer(body=openai_page([(start + 2 * 86400, [(0.5, "gpt-4.1, output")])]))])
    with billing_server(script) as base:
        def client_for(provider: str, key: Any) -> Any:
            return API_CLIENTS[provider](key, base, sleep=lambda s: None, http=LOCAL_HTTP)

        outcome = jobs.pull_billing(db_conn, ws, AS_OF, client_for=client_for)
    assert outcome.stats["pulled"] == ["openai"] and "cannot be decrypted" in outcome.stats["failed"][0]
    assert "sk-admin-openai" not in str(outcome.stats)
    days = db_conn.execute("select day, charges_nanos, credits_nanos from analysis.billing_days order by 1").fetchall()
    assert days == [(dt.date(2026, 11, 2), 1_250_000_000, -250_000_000), (dt.date(2026, 11, 3), 500_000_000, 0)]
    row = db_conn.execute("""select billed_nanos, billed_source, status from analysis.reconciliation
                              where provider = 'openai' and period = '2026-11-01'""").fetchone()
    assert row == (1_500_000_000, "api", "ok")
    credit = db_conn.execute("""select delta_nanos, day from analysis.reconciliation_findings
                                 where cause = 'promo_credit'""").fetchall()
    assert credit == [(250_000_000, dt.date(2026, 11, 2))]
    failed = db_conn.execute("""select error from analysis.runs where job = 'pull_billing' and status = 'failed'""")
    assert "cannot be decrypted" in failed.fetchone()[0]  # type: ignore[index]
    events: dict[str, int] = dict(db_conn.execute(
        "select event, count(*) from analysis.audit_events group by 1").fetchall())
    assert events["billing.pulled"] == 1 and events["reconciliation.computed"] >= 1


def test_an_export_import_goes_through_the_pull_path_and_a_later_paste_wins(db_conn: Conn) -> None:
    ws = november(db_conn, provider="xai", model="grok-4")
    export = "date,model,cost_usd\n2026-11-02,grok-4,1.00\n2026-11-20,grok-4,2.00\n"
    outcome = jobs.import_billing_export(db_conn, ws, "xai", export, AS_OF, name="usage.csv")
    assert outcome.stats["months_changed"] == ["2026-11-01"]
    row = db_conn.execute("select billed_nanos, billed_source, bill_reference from analysis.reconciliation").fetchone()
    assert row == (3 * D, "api", "pull:xai_usage_export")
    unlogged = db_conn.execute("""select day, delta_nanos from analysis.reconciliation_findings
                                   where cause = 'unlogged_spend'""").fetchall()
    assert unlogged == [(dt.date(2026, 11, 20), -2 * D)]
    insert_statement(db_conn, ws, "xai", NOV, "$4.00", "finance")
    jobs.reconcile(db_conn, ws, "xai", NOV, AS_OF)
    assert db_conn.execute("select billed_nanos, billed_source from analysis.reconciliation").fetchone() == (
        4 * D, "manual")


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "workers.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_the_cli_pastes_reconciles_and_prints_the_table_in_80_columns(db_conn: Conn, fleet_env: dict[str, str]) -> None:
    november(db_conn)
    done = run_cli(fleet_env, "paste-bill", "--workspace", "acme", "--provider", "anthropic", "--period", "2026-11",
                   "--text", "$0.05")
    assert done.returncode == 0, done.stderr
    shown = run_cli(fleet_env, "reconciliation", "--workspace", "acme")
    assert shown.returncode == 0 and "2026-11" in shown.stdout and "anthropic" in shown.stdout
    assert max(len(line) for line in shown.stdout.splitlines()) <= 80
    bad = run_cli(fleet_env, "paste-bill", "--workspace", "acme", "--provider", "anthropic", "--period", "2026-11",
                  "--text", "42 EUR")
    assert bad.returncode == 1 and bad.stderr.strip().startswith("error: the pasted bill could not be read")
    again = run_cli(fleet_env, "reconciliation", "--workspace", "acme")
    assert again.stdout == shown.stdout  # refused before it was stored: the month keeps its bill
    again = run_cli(fleet_env, "reconcile", "--workspace", "acme", "--provider", "anthropic", "--period", "2026-13")
    assert again.returncode == 2 and "not a month" in again.stderr  # a malformed --period is a usage error


def test_one_workspace_failing_in_the_sweep_stops_no_other_and_the_sweep_fails_naming_it(
        db_conn: Conn, monkeypatch: pytest.MonkeyPatch) -> None:
    first = november(db_conn, "alpha")
    second = november(db_conn, "beta")
    real = jobs.stale_months

    def broken_for_alpha(conn: Conn, workspace_id: int, as_of: dt.datetime) -> list[tuple[str, dt.date]]:
        if workspace_id == first:
            raise RuntimeError("alpha's rows cannot be read")
        return real(conn, workspace_id, as_of)

    monkeypatch.setattr(jobs, "stale_months", broken_for_alpha)
    sent: list[tuple[int, str, dt.date]] = []
    with pytest.raises(FleetError, match=rf"workspace {first}: RuntimeError: alpha's rows cannot be read") as failed:
        jobs.sweep(db_conn, AS_OF, lambda *args: sent.append(args))
    assert sent == [(second, "anthropic", NOV)]  # beta was swept after alpha failed
    assert "1 month(s) sent" in str(failed.value) and not isinstance(failed.value, UserError)


def test_a_transient_failure_in_the_sweep_is_raised_at_once_for_a_retry(
        db_conn: Conn, monkeypatch: pytest.MonkeyPatch) -> None:
    november(db_conn, "alpha")
    november(db_conn, "beta")

    def database_gone(conn: Conn, workspace_id: int, as_of: dt.datetime) -> list[tuple[str, dt.date]]:
        raise TransientError("the database is failing over")

    monkeypatch.setattr(jobs, "stale_months", database_gone)
    calls: list[tuple[int, str, dt.date]] = []
    with pytest.raises(TransientError, match="failing over"):
        jobs.sweep(db_conn, AS_OF, lambda *args: calls.append(args))
    assert calls == []


def test_an_error_row_fails_its_run_as_a_user_error(db_conn: Conn) -> None:
    ws = november(db_conn)
    insert_statement(db_conn, ws, "anthropic", NOV, "42 EUR", "finance")
    with pytest.raises(UserError, match="another currency"):
        jobs.reconcile(db_conn, ws, "anthropic", NOV, AS_OF)
    run = db_conn.execute("select status, failure_kind, error, finished_at is not null from analysis.runs "
                          "where job = 'reconcile'").fetchone()
    assert run is not None and run[:2] == ("failed", "user_error") and "another currency" in run[2] and run[3]


def test_an_unreadable_paste_over_a_pulled_month_keeps_the_pull_and_stops_no_other_month(
        db_conn: Conn, fleet_settings: Fernet) -> None:
    ws = november(db_conn, provider="openai", model="gpt-4.1")
    connect_billing(db_conn, ws, "openai", fleet_settings.encrypt(b"sk-admin-openai-0123456789abcdefgh"))
    october = dt.date(2026, 10, 1)
    start = 1_793_491_200  # 2026-11-01
    script = Script([Answer(body=openai_page([(start + 86400, [(1.25, "gpt-4.1, input")])]))])
    with billing_server(script) as base:
        def client_for(provider: str, key: Any) -> Any:
            return API_CLIENTS[provider](key, base, sleep=lambda s: None, http=LOCAL_HTTP)

        jobs.pull_billing(db_conn, ws, AS_OF, client_for=client_for)
        # a later paste for October is a later word than the unchanged pull, and cannot be read
        insert_statement(db_conn, ws, "openai", october, "Total: $5.00\nTotal: $6.00", "finance")
        outcome = jobs.pull_billing(db_conn, ws, AS_OF, client_for=client_for)
    assert outcome.stats["pulled"] == ["openai"] and outcome.stats["failed_months"] == []
    rows = {row[0]: row[1:] for row in db_conn.execute(
        """select period, status, billed_nanos, bill_reference, notice from analysis.reconciliation
            where provider = 'openai'""")}
    assert rows[NOV][:3] == ("ok", 1_250_000_000, "pull:openai_costs_api") and rows[NOV][3] is None
    status, billed, reference, notice = rows[october]
    assert (status, billed, reference) == ("ok", 0, "pull:openai_costs_api")  # the pull's empty October
    assert "was refused: the paste has 2 totals that differ" in notice
    assert notice.endswith("from OpenAI's Costs API ($0.00)")


def test_a_future_month_is_refused_and_its_run_records_why(db_conn: Conn) -> None:
    ws = november(db_conn)
    future = (dt.datetime.now(dt.UTC).date().replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    with pytest.raises(UserError, match=f"{future:%Y-%m} has not started yet"):
        jobs.reconcile(db_conn, ws, "anthropic", future, AS_OF)
    run = db_conn.execute("select status, failure_kind, error from analysis.runs where job = 'reconcile'").fetchone()
    assert run is not None and run[:2] == ("failed", "user_error") and "has not started yet" in run[2]
    assert db_conn.execute("select count(*) from analysis.reconciliation").fetchone() == (0,)


def test_a_bad_paste_says_why_once_on_stderr_and_prints_nothing_else(
        db_conn: Conn, fleet_env: dict[str, str]) -> None:
    november(db_conn)
    bad = run_cli(fleet_env, "paste-bill", "--workspace", "acme", "--provider", "anthropic", "--period", "2026-11",
                  "--text", "42 EUR")
    assert bad.returncode == 1 and bad.stdout == ""
    assert len(bad.stderr.strip().splitlines()) == 1 and "another currency (EUR)" in bad.stderr
    assert db_conn.execute("select count(*) from meter.billing_statements").fetchone() == (0,)


AMOUNT = re.compile(r"-?\$[\d,]+\.\d\d")


def test_the_cli_tables_add_up_as_printed(db_conn: Conn, fleet_env: dict[str, str]) -> None:
    ws = november(db_conn, provider="xai", model="grok-4")
    logged = sum(right_cost(day) for day in range(2, 12))
    # a bill with fractions of a cent whose variance, rounded on its own, is a cent off the printed
    # logged − billed: the case the tables must not show
    billed = next(logged - variance for variance in range(1_000_000_000, 1_010_000_000, 1_000_000)
                  if cents(logged) - cents(logged - variance) != cents(variance))
    export = f"date,model,cost_usd\n2026-11-02,grok-4,{Decimal(billed) / D:.9f}\n"
    jobs.import_billing_export(db_conn, ws, "xai", export, AS_OF)
    shown = run_cli(fleet_env, "reconcile", "--workspace", "acme", "--provider", "xai", "--period", "2026-11",
                    "--force")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    row = next(line for line in lines if line.startswith(" 2026-11"))
    printed_logged, printed_billed, printed_variance = (Decimal(a.replace("$", "")) for a in AMOUNT.findall(row))
    assert printed_logged - printed_billed == printed_variance
    heading = next(i for i, line in enumerate(lines) if line.startswith("Why xai 2026-11 differs by"))
    total = next(i for i in range(heading, len(lines)) if lines[i].startswith(" total"))
    amounts = [Decimal(AMOUNT.findall(line)[0].replace("$", "")) for line in lines[heading + 1:total]
               if AMOUNT.search(line)]
    assert sum(amounts) == Decimal(AMOUNT.findall(lines[total])[0].replace("$", "")) == printed_variance
    assert AMOUNT.findall(lines[heading]) == [f"${printed_variance}"]
