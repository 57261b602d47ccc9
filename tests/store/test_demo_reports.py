"""The demo's PDFs are named after what they report on."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from store.report_reads import top_project
from store.workspaces import workspace_by_slug
from tests.factories import Conn
from tests.store.report_scene import make_report_scene
from workers.demo.reports import demo_period, write_demo_reports


def test_the_project_report_is_named_after_its_project(db_conn: Conn, tmp_path: Path) -> None:
    make_report_scene(db_conn)
    workspace = workspace_by_slug(db_conn, "acme")
    top = top_project(db_conn, workspace.id, *demo_period(datetime.now(UTC)))
    assert top is not None
    row = db_conn.execute("select slug from meter.projects where id = %s", (top,)).fetchone()
    assert row is not None
    slug = str(row[0])
    out = io.StringIO()
    write_demo_reports(db_conn, workspace, tmp_path, Console(file=out, width=80, color_system=None))
    expected = f"{slug}-report.pdf" if slug.startswith("acme-") else f"acme-{slug}-report.pdf"
    assert (tmp_path / expected).is_file()
    assert not list(tmp_path.glob("*top-project*"))
    printed = out.getvalue()
    assert expected in printed and max(len(line) for line in printed.splitlines()) <= 80
