"""The demo's printed dashboard as a person reads it on an 80-column terminal."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

from rich.console import Console

from store.workspaces import workspace_by_slug
from synthetic import SeedOptions, seed_workspace
from tests.factories import Conn
from workers.demo import _print_dashboard, pipeline_failures
from workers.pipeline import STAGE_NAMES, run_pipeline


def _dashboard(conn: Conn) -> list[str]:
    report = seed_workspace(conn, SeedOptions(slug="acme", days=30, requests_per_day=300))
    workspace = workspace_by_slug(conn, "acme")
    run_pipeline(conn, workspace.id, datetime.now(UTC), only=None, replay=False, worker="test")
    out = io.StringIO()
    _print_dashboard(conn, workspace, report, Console(file=out, width=80, color_system=None))
    return out.getvalue().splitlines()


def test_the_dashboard_fits_80_columns_with_one_line_per_run_and_totals(db_conn: Conn) -> None:
    lines = _dashboard(db_conn)
    assert max(len(line) for line in lines) <= 80
    title = next(i for i, line in enumerate(lines) if line.startswith("Recent runs"))
    bottom = next(i for i in range(title, len(lines)) if lines[i].startswith("└"))
    runs = lines[title + 4:bottom]  # below the top border, the header and the header's rule
    assert sorted(next(s for s in STAGE_NAMES if f" {s} " in line) for line in runs) == sorted(STAGE_NAMES)
    totals = [line for line in lines if line.startswith("│ total")]
    assert len(totals) == 4  # by provider, by project, top models, last 7 days
    assert totals[0].split("│")[-2] == totals[1].split("│")[-2] == totals[2].split("│")[-2]  # the same spend


def test_what_the_seed_planted_is_plain_sentences_with_figures(db_conn: Conn) -> None:
    lines = _dashboard(db_conn)
    section = lines[next(i for i, line in enumerate(lines) if "planted" in line) + 1:]
    text = " ".join(section)
    assert not re.search(r"[0-9a-f]{12}", text)  # no prompt hashes
    assert "where " not in text and "=" not in text  # no developer key=value notes
    assert len(section) >= 8 and sum("$" in line for line in section) >= 8
    assert "acme-support-bot" in text and "word for word" in text


def test_a_failed_stage_is_named_with_its_error_for_the_demo_to_end_failed(db_conn: Conn) -> None:
    report = seed_workspace(db_conn, SeedOptions(slug="acme", days=3, requests_per_day=50))
    started = datetime.now(UTC)
    run_pipeline(db_conn, report.workspace_id, started, only=None, replay=False, worker="test")
    assert pipeline_failures(db_conn, report.workspace_id, started) == []
    db_conn.execute("""insert into meter.requests (workspace_id, device_id, provider, model, started_at, status_code,
                           input_tokens, output_tokens, cost_nanos, rates_version, prompt_hash, synced_at)
                       select workspace_id, device_id, provider, model, now() - interval '1 hour', 200, 10, 10, 1,
                              rates_version, 'not hex', now()
                       from meter.requests where workspace_id = %s limit 1""", (report.workspace_id,))
    again = datetime.now(UTC)
    run_pipeline(db_conn, report.workspace_id, again, only=None, replay=False, worker="test")
    failures = pipeline_failures(db_conn, report.workspace_id, again)
    assert failures[0].startswith("clustering failed: meter.requests of workspace")
    assert "not a hex digest" in failures[0]
    assert failures[1:] == ["checks failed: skipped because clustering failed",
                            "savings failed: skipped because checks skipped"]
