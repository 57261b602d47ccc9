"""The dashboard's path after a paste: insert the statement, enqueue halton.reconcile by name on the
billing queue, a real worker reconciles, the dashboard reads analysis.reconciliation."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from store.reconciliation import insert_statement
from tests.e2e.worker_process import WorkerProcess, dashboard_client
from tests.factories import Conn, add_request, make_workspace
from tests.unit.billing_server import Answer, Script, billing_server, openai_page

pytestmark = pytest.mark.e2e

AS_OF = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)


def test_a_paste_is_reconciled_by_a_worker_and_a_malformed_one_fails_without_retry(
        db_conn: Conn, fleet_env: dict[str, str], tmp_path: Path) -> None:
    scene = make_workspace(db_conn, "acme")
    for day in range(1, 6):
        add_request(db_conn, scene, dt.datetime(2026, 11, day, 9, tzinfo=dt.UTC), cost_nanos=68_436_000_000)
    ws = scene.workspace_id
    insert_statement(db_conn, ws, "anthropic", dt.date(2026, 11, 1), "Subtotal $340.00\nTax $2.04\nTotal $342.04",
                     "finance@acme")
    insert_statement(db_conn, ws, "openai", dt.date(2026, 11, 1), "$12 and $14", "finance@acme")
    worker = WorkerProcess.start(fleet_env, tmp_path / "worker.log")
    client = dashboard_client(fleet_env)
    try:
        ok = client.send_task("halton.reconcile", kwargs={"workspace_id": ws, "provider": "anthropic",
                                                          "period": "2026-11-01", "as_of": AS_OF.isoformat()},
                              queue=fleet_env["HALTON_QUEUE_BILLING"])
        outcome = ok.get(timeout=60)
        bad = client.send_task("halton.reconcile", kwargs={"workspace_id": ws, "provider": "openai",
                                                           "period": "2026-11", "as_of": AS_OF.isoformat()},
                               queue=fleet_env["HALTON_QUEUE_BILLING"])
        with pytest.raises(Exception, match="no Total line"):
            bad.get(timeout=60)
    finally:
        worker.stop()
    assert outcome["status"] == "succeeded" and outcome["stats"]["band"] == "green"
    rows = db_conn.execute("""select provider, logged_nanos, billed_nanos, variance_nanos, band, status
                                from analysis.reconciliation order by provider""").fetchall()
    assert rows[0] == ("anthropic", 342_180_000_000, 342_040_000_000, 140_000_000, "green", "ok")
    assert rows[1][0] == "openai" and rows[1][5] == "error"
    assert "Retry in" not in worker.log()


def test_a_pull_decrypts_the_key_only_in_the_worker_and_reconciles_what_it_pulled(
        db_conn: Conn, fleet_env: dict[str, str], tmp_path: Path) -> None:
    secret = "sk-admin-E2ESECRET-0123456789abcdefghij"
    scene = make_workspace(db_conn, "acme")
    add_request(db_conn, scene, dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC), cost_nanos=2 * 10**9, provider="openai",
                model="gpt-4.1")
    ciphertext = Fernet(fleet_env["HALTON_ENCRYPTION_KEY"].encode()).encrypt(secret.encode())
    db_conn.execute("""insert into meter.provider_connections (workspace_id, provider, admin_key_ciphertext, key_hint)
                       values (%s, 'openai', %s, 'sk-admin-E2E…ghij')""", (scene.workspace_id, ciphertext))
    script = Script([Answer(429, {"error": {"message": "slow down"}}, {"Retry-After": "1"}),
                     Answer(body=openai_page([(1_793_577_600, [(2, "gpt-4.1, input")])]))])
    with billing_server(script) as base:
        env = {**fleet_env, "HALTON_OPENAI_BASE_URL": base, "HALTON_ALLOW_INSECURE_HTTP": "true"}
        worker = WorkerProcess.start(env, tmp_path / "worker.log")
        try:
            pulled = dashboard_client(env).send_task(
                "halton.pull_billing", kwargs={"workspace_id": scene.workspace_id, "as_of": AS_OF.isoformat()},
                queue=env["HALTON_QUEUE_BILLING"])
            outcome = pulled.get(timeout=60)
        finally:
            worker.stop()
    assert outcome["stats"]["pulled"] == ["openai"]
    assert script.seen[-1].headers["authorization"] == f"Bearer {secret}" and len(script.seen) >= 2
    row = db_conn.execute("""select billed_nanos, billed_source, band from analysis.reconciliation
                              where provider = 'openai' and period = '2026-11-01'""").fetchone()
    assert row == (2 * 10**9, "api", "green")
    assert secret not in worker.log()


def test_a_future_month_sent_to_the_worker_fails_without_retry_and_its_run_says_why(
        db_conn: Conn, fleet_env: dict[str, str], tmp_path: Path) -> None:
    ws = make_workspace(db_conn, "acme").workspace_id
    today = dt.datetime.now(dt.UTC).date()
    future = (today.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    worker = WorkerProcess.start(fleet_env, tmp_path / "worker.log")
    try:
        sent = dashboard_client(fleet_env).send_task(
            "halton.reconcile", kwargs={"workspace_id": ws, "provider": "anthropic", "period": f"{future:%Y-%m}"},
            queue=fleet_env["HALTON_QUEUE_BILLING"])
        with pytest.raises(Exception, match="has not started yet"):
            sent.get(timeout=60)
    finally:
        worker.stop()
    run = db_conn.execute("select status, failure_kind, error from analysis.runs where job = 'reconcile'").fetchone()
    assert run is not None and run[:2] == ("failed", "user_error") and "has not started yet" in run[2]
    assert db_conn.execute("select count(*) from analysis.reconciliation").fetchone() == (0,)
    assert "Retry in" not in worker.log()
