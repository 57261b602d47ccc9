"""The dashboard's "Generate PDF": a report_requests row, the task enqueued by name on the pdf queue through
Redis, a real worker, and a valid PDF read back from analysis.reports."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.e2e.worker_process import WorkerProcess, dashboard_client
from tests.factories import Conn
from tests.store.report_scene import insert_request, make_report_scene
from tests.unit.pdf_certs import self_signed
from tests.unit.test_pdf_signing import validate

pytestmark = pytest.mark.e2e


def wait_for_report(conn: Conn, request_id: int, timeout: float = 90) -> tuple[object, ...]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = conn.execute("select status, error, pdf, pages, signed from analysis.reports where request_id = %s",
                           (request_id,)).fetchone()
        if row is not None and row[0] != "running":
            return tuple(row)
        time.sleep(0.2)
    raise AssertionError(f"report {request_id} not finished within {timeout}s")


def test_generate_pdf_through_a_real_worker(db_conn: Conn, fleet_env: dict[str, str], tmp_path: Path) -> None:
    scene = make_report_scene(db_conn)
    cert = self_signed(tmp_path / "cert")
    env = {**fleet_env, "HALTON_SIGNING_CERT": str(cert.cert), "HALTON_SIGNING_KEY": str(cert.key)}
    project_request = insert_request(db_conn, scene.workspace_id, "project", scene.project_id)
    summary_request = insert_request(db_conn, scene.workspace_id, "executive", None)
    worker = WorkerProcess.start(env, tmp_path / "worker.log")
    try:
        client = dashboard_client(env)
        results = [client.send_task("halton.render_report", kwargs={"request_id": request_id},
                                    queue=env["HALTON_QUEUE_PDF"])
                   for request_id in (project_request, summary_request)]
        outcomes = [result.get(timeout=120) for result in results]
        project = wait_for_report(db_conn, project_request)
        summary = wait_for_report(db_conn, summary_request)
    finally:
        worker.stop()
    assert [o["status"] for o in outcomes] == ["succeeded", "succeeded"]
    status, error, pdf, pages, signed = project
    assert (status, error, signed) == ("succeeded", None, False)
    assert isinstance(pdf, bytes) and len(PdfReader(io.BytesIO(pdf)).pages) == pages
    assert summary[0] == "succeeded" and summary[4] is True
    assert isinstance(summary[2], bytes) and validate(summary[2], cert) == (True, True)
