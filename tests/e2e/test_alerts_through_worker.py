"""Alerts end to end: a refresh's `alerts` stage raises them on the analysis queue, a real worker of the
billing queue (the one that holds the key) delivers them to a webhook receiver, signed, once each, a 503
retried; a refresh rerun raises and sends nothing more."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from adapters.alert_delivery import alert_event_id
from adapters.webhooks import verify_signature
from tests.e2e.worker_process import WorkerProcess, dashboard_client
from tests.factories import Conn, make_workspace
from tests.store.alert_scene import AS_OF, DOLLAR, add_channel, put_forecast, set_workspace_budget
from tests.unit.webhook_receiver import Reply, receiver

pytestmark = pytest.mark.e2e

SECRET = "whsec_e2e_s1gn1ng_s3cr3t_0123456789"


def wait_for_deliveries(conn: Conn, count: int, timeout: float = 60) -> list[tuple[Any, ...]]:
    """The delivery rows once `count` of them are delivered (the task runs after the refresh returns)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = conn.execute("select alert_id, channel_id, status, attempts from analysis.alert_deliveries"
                            " order by alert_id").fetchall()
        if sum(1 for row in rows if row[2] == "delivered") >= count or time.monotonic() > deadline:
            return rows
        time.sleep(0.2)


def test_a_refresh_raises_alerts_and_the_billing_worker_delivers_each_once_signed(
        db_conn: Conn, fleet_env: dict[str, str], tmp_path: Path) -> None:
    ws = make_workspace(db_conn, "acme").workspace_id
    set_workspace_budget(db_conn, ws, 100 * DOLLAR)
    put_forecast(db_conn, ws, spent=85 * DOLLAR, forecast=99 * DOLLAR)  # 50 % and 80 % crossed
    fernet = Fernet(fleet_env["HALTON_ENCRYPTION_KEY"].encode())
    env = {**fleet_env, "HALTON_ALLOW_PRIVATE_DESTINATIONS": "true"}  # the receiver is on loopback, over http
    with receiver([Reply(503, b"busy"), Reply(200)]) as hook:
        channel = add_channel(db_conn, fernet, ws, "webhook", hook.url("/halton"), SECRET)
        worker = WorkerProcess.start(env, tmp_path / "worker.log")
        client = dashboard_client(env)
        try:
            refresh = {"workspace_id": ws, "as_of": AS_OF.isoformat(), "stage": "alerts"}
            first = client.send_task("halton.refresh_workspace", kwargs=refresh,
                                     queue=env["HALTON_QUEUE_ANALYSIS"]).get(timeout=60)
            rows = wait_for_deliveries(db_conn, 2)
            again = client.send_task("halton.refresh_workspace", kwargs=refresh,
                                     queue=env["HALTON_QUEUE_ANALYSIS"]).get(timeout=60)
            direct = client.send_task("halton.deliver_alerts", kwargs={"workspace_id": ws},
                                      queue=env["HALTON_QUEUE_BILLING"]).get(timeout=60)
        finally:
            worker.stop()
    assert first["stages"][0]["stats"]["alerts_raised"] == 2
    assert again["stages"][0]["stats"]["alerts_raised"] == 0
    assert direct == {"workspace_id": ws, "delivered": 0, "failed": 0, "retry_later": 0, "revoked": 0}
    alerts = [row[0] for row in rows]
    # the first alert's first try met the 503 and was retried; each alert delivered once
    assert rows == [(alerts[0], channel, "delivered", 2), (alerts[1], channel, "delivered", 1)]
    assert [r.headers["x-halton-event-id"] for r in hook.received] == [
        alert_event_id(alerts[0], channel), alert_event_id(alerts[0], channel), alert_event_id(alerts[1], channel)]
    for request in hook.received[1:]:
        assert verify_signature(SECRET, request.headers, request.body) == request.headers["x-halton-event-id"]
    log = worker.log()
    assert "halton.deliver_alerts" in log and "/halton" not in log and SECRET not in log
