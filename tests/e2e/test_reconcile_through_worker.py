"""The dashboard's path after a paste: insert the statement, enqueue halton.reconcile by name on the
billing queue, a real worker reconciles, the dashboard reads analysis.reconciliation."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from store.reconciliation import insert_statement
from tests.e2e.worker_process import WorkerProcess, dashboard_client
from tests.factories import Conn, add_request, make_workspace

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
