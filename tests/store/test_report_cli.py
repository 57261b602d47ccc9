"""`halton-workers report …` as an operator meets it."""

from __future__ import annotations

from pathlib import Path

from tests.factories import Conn
from tests.store.report_scene import insert_request, make_report_scene
from tests.store.test_cli import run_cli
from tests.unit.pdf_text import pdf_text


def test_report_project_writes_a_pdf(db_conn: Conn, fleet_env: dict[str, str], tmp_path: Path) -> None:
    make_report_scene(db_conn)
    out = tmp_path / "acme.pdf"
    done = run_cli(fleet_env, "report", "project", "--workspace", "acme", "--project", "acme-p0",
                   "--period", "2026-11-01..2026-11-19", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"wrote {out} (") and "signed=false" in done.stdout
    assert "Project 0" in pdf_text(out.read_bytes())


def test_report_request_renders_as_the_worker_would(db_conn: Conn, fleet_env: dict[str, str], tmp_path: Path) -> None:
    scene = make_report_scene(db_conn)
    request = insert_request(db_conn, scene.workspace_id, "executive", None)
    out = tmp_path / "summary.pdf"
    done = run_cli(fleet_env, "report", "--request", str(request), "--out", str(out))
    assert done.returncode == 0, done.stderr
    stored = db_conn.execute("select status, pdf from analysis.reports where request_id = %s", (request,)).fetchone()
    assert stored is not None and stored[0] == "succeeded" and bytes(stored[1]) == out.read_bytes()


def test_report_errors_are_one_line(db_conn: Conn, fleet_env: dict[str, str], tmp_path: Path) -> None:
    make_report_scene(db_conn)
    cases = [
        (["project", "--workspace", "acme", "--project", "nope", "--period", "last-month"], "no project with slug"),
        (["executive", "--workspace", "acme", "--period", "2026-11-10..2026-11-01"], "before it starts"),
        (["executive", "--workspace", "acme", "--period", "2020-01-01..2026-11-01"], "longer than 2 years"),
        (["--request", "999"], "no report request with id 999"),
    ]
    for args, message in cases:
        done = run_cli(fleet_env, "report", *args, "--out", str(tmp_path / "x.pdf")) if args[0] != "--request" \
            else run_cli(fleet_env, "report", *args)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 1 and len(lines) == 1 and message in lines[0], done.stderr
