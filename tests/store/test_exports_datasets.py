"""The requests and audit datasets and the command line's export, against a real Postgres: every request of
the period once, no prompt digest, spreadsheet formulas neutralised in CSV; the audit events; a FOCUS file
from the command line that passes the conformance check (run as the fleet's role, scoped by the slug)."""

from __future__ import annotations

import datetime as dt
import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from exports import conformance
from exports.sink import DirectorySink
from store.audit import audit
from tests.factories import Conn, add_request, make_workspace
from tests.store.test_cli import run_cli
from workers import jobs
from workers.jobs.exports import ExportTarget, OnDemand, export_file, export_period

AS_OF = dt.datetime(2026, 12, 2, 3, 0, tzinfo=dt.UTC)


def seeded(conn: Conn) -> int:
    scene = make_workspace(conn, "acme")
    conn.execute("update meter.projects set name = '=cmd|'' /c calc''!A0' where id = %s", (scene.project_ids[0],))
    conn.execute("update meter.projects set slug = '+evil' where id = %s", (scene.project_ids[1],))
    for day in (3, 4, 30):
        for project in (0, 1, None):
            add_request(conn, scene, dt.datetime(2026, 11, day, 9, tzinfo=dt.UTC), project=project,
                        model="gpt-4o-mini", provider="openai", cost_nanos=1_234_567)
    add_request(conn, scene, dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC))  # outside the period
    conn.execute("update meter.requests set prompt_hash = 'abc' where workspace_id = %s", (scene.workspace_id,))
    audit(conn, scene.workspace_id, "worker:test", "report.rendered", "report_request:1", {"by": "@alice"},
          at=dt.datetime(2026, 11, 4, 8, tzinfo=dt.UTC))
    return scene.workspace_id


def test_requests_as_csv_in_the_bucket_layout_and_audit_as_parquet(db_conn: Conn, tmp_path: Path) -> None:
    ws = seeded(db_conn)
    outcome = export_period(db_conn, OnDemand(ws, "requests", dt.date(2026, 11, 1), dt.date(2026, 12, 1), AS_OF),
                            ExportTarget(None, DirectorySink(tmp_path), "csv"))
    assert outcome["objects_written"] == 30 and outcome["manifests_written"] == 1
    tables = [pacsv.read_csv(p, convert_options=pacsv.ConvertOptions(strings_can_be_null=True,
                                                                       column_types={"project": pa.string()}))
              for p in sorted(tmp_path.glob("requests/billing_period=2026-11/*.csv"))]
    rows = [row for table in tables if table.num_rows for row in table.to_pylist()]
    assert len(rows) == 9 and "prompt_hash" not in tables[0].column_names
    assert {r["project"] for r in rows} == {"acme-p0", "'+evil", None}
    manifest = json.loads((tmp_path / "requests/billing_period=2026-11/manifest.json").read_text())
    assert manifest["totals"]["rows"] == 9 and len(manifest["objects"]) == 30

    audited = export_period(db_conn, OnDemand(ws, "audit", dt.date(2026, 11, 4), dt.date(2026, 11, 5), AS_OF),
                            ExportTarget(None, DirectorySink(tmp_path), "parquet"))
    assert audited["objects_written"] == 1
    events = pq.read_table(tmp_path / "audit/billing_period=2026-11/2026-11-04.parquet").to_pylist()
    assert [(e["event"], json.loads(str(e["details"]))) for e in events] == [("report.rendered", {"by": "@alice"})]


def test_the_command_line_writes_a_conformant_focus_file(db_conn: Conn, fleet_env: dict[str, str],
                                                         tmp_path: Path) -> None:
    ws = seeded(db_conn)
    jobs.refresh_workspace(db_conn, ws, AS_OF, stage="rollup")
    out = tmp_path / "nov.csv"
    done = run_cli(fleet_env, "export", "--workspace", "acme", "--dataset", "focus", "--period", "2026-11",
                   "--to", str(out))
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert outcome["rows"] > 0 and outcome["cost_nanos"] == 9 * 1_234_567
    data = out.read_bytes()
    assert conformance.check(data, "csv") == []
    names = pacsv.read_csv(io.BytesIO(data))["SubAccountName"].to_pylist()
    assert "'=cmd|' /c calc'!A0" in names  # neutralised
    recorded = db_conn.execute("select dataset, object_key, rows, destination_id from analysis.exports").fetchall()
    assert recorded == [("focus", str(out), outcome["rows"], None)]


def manifest_keys(root: Path, dataset: str) -> list[str]:
    manifest = json.loads((root / f"{dataset}/billing_period=2026-11/manifest.json").read_text())
    return [o["key"] for o in manifest["objects"]]


def test_each_directory_and_file_named_by_hand_has_records_and_a_manifest_of_its_own(
        db_conn: Conn, tmp_path: Path) -> None:
    ws = seeded(db_conn)
    whole, part = tmp_path / "whole", tmp_path / "part"
    export_period(db_conn, OnDemand(ws, "requests", dt.date(2026, 11, 1), dt.date(2026, 12, 1), AS_OF),
                  ExportTarget(None, DirectorySink(whole)))
    export_file(db_conn, OnDemand(ws, "requests", dt.date(2026, 11, 1), dt.date(2026, 12, 1), AS_OF),
                str(tmp_path / "one.parquet"), "parquet", lambda data: None)
    export_period(db_conn, OnDemand(ws, "requests", dt.date(2026, 11, 3), dt.date(2026, 11, 5), AS_OF),
                  ExportTarget(None, DirectorySink(part)))
    assert manifest_keys(part, "requests") == ["requests/billing_period=2026-11/2026-11-03.parquet",
                                               "requests/billing_period=2026-11/2026-11-04.parquet"]
    assert len(manifest_keys(whole, "requests")) == 30
    recorded = {k for (k,) in db_conn.execute("select object_key from analysis.exports where dataset = 'requests'")}
    assert f"{part}/requests/billing_period=2026-11/2026-11-03.parquet" in recorded
    assert f"{whole}/requests/billing_period=2026-11/2026-11-03.parquet" in recorded
    assert str(tmp_path / "one.parquet") in recorded and len(recorded) == 30 + 1 + 2
