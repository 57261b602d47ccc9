"""The dashboard's path after a decision: enqueue halton.apply_decisions by name, a real worker brings
the statuses up to date within seconds, without a catalog run."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from checks import Finding
from store.recommendations import write_findings
from tests.e2e.worker_process import WorkerProcess, dashboard_client, enqueue
from tests.factories import Conn, make_workspace

pytestmark = pytest.mark.e2e


def test_a_decision_and_a_suppression_apply_through_the_worker(db_conn: Conn, fleet_env: dict[str, str],
                                                                tmp_path: Path) -> None:
    scene = make_workspace(db_conn)
    ws = scene.workspace_id
    findings = [Finding(check_id=check, project_id=scene.project_ids[0], subject="s", title="t", rationale="r",
                        impact_nanos=1, confidence="high", request_count=1, sample_request_ids=(),
                        evidence={}) for check in ("model-downgrade", "batch-api")]
    with db_conn.transaction():
        write_findings(db_conn, ws, 1, datetime(2026, 11, 1, tzinfo=UTC), findings)
    headline = "select open_recommendations, monthly_saving_nanos from analysis.catalog_summary where workspace_id = %s"
    assert db_conn.execute(headline, (ws,)).fetchone() == (2, 2)
    db_conn.execute("insert into meter.recommendation_decisions (workspace_id, fingerprint, decision) "
                    "values (%s, %s, 'dismissed')", (ws, findings[0].fingerprint))
    db_conn.execute("insert into meter.check_suppressions (workspace_id, check_id) values (%s, 'batch-api')", (ws,))
    worker = WorkerProcess.start(fleet_env, tmp_path / "worker.log")
    try:
        outcome = enqueue(dashboard_client(fleet_env), fleet_env, "halton.apply_decisions",
                          workspace_id=ws).get(timeout=60)
    finally:
        worker.stop()
    assert outcome["status"] == "succeeded"
    assert dict(db_conn.execute("select check_id, status from analysis.recommendations").fetchall()) == {
        "model-downgrade": "dismissed", "batch-api": "suppressed"}
    assert db_conn.execute(headline, (ws,)).fetchone() == (0, 0)  # the dashboard's headline follows
    assert db_conn.execute("select job, status from analysis.runs").fetchall() == [("apply_decisions", "succeeded")]
