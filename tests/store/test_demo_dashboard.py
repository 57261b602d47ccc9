"""The demo's printed dashboard as a person reads it on an 80-column terminal."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from rich.console import Console
from rich.table import Table

from store.claims import RunSpec, open_run
from store.dashboard_reads import SpendLine
from store.runs import refresh_progress
from store.workspaces import workspace_by_slug
from synthetic import SeedOptions, seed_workspace
from tests.factories import Conn
from workers.demo import _print_dashboard, _runs_table, _spend_table, beat_sends, pipeline_failures, refreshes_done
from workers.jobs.pipeline import STAGE_NAMES, STAGES, run_pipeline, stage_named


def _dashboard(conn: Conn) -> list[str]:
    report = seed_workspace(conn, SeedOptions(slug="acme", days=30, requests_per_day=300))
    workspace = workspace_by_slug(conn, "acme")
    run_pipeline(conn, workspace.id, datetime.now(UTC), only=None, replay=False, worker="test")
    out = io.StringIO()
    _print_dashboard(conn, workspace, report, Console(file=out, width=80, color_system=None))
    return out.getvalue().splitlines()


def _printed(table: Table) -> list[str]:
    out = io.StringIO()
    Console(file=out, width=80, color_system=None).print(table)
    return out.getvalue().splitlines()


def _amount(cell: str) -> Decimal:
    text = cell.strip()
    return -Decimal(text[2:].replace(",", "")) if text.startswith("-$") else Decimal(text[1:].replace(",", ""))


def _tables_with_totals(lines: list[str]) -> list[tuple[str, list[list[str]], list[str]]]:
    """(title, rows, total row) of every table with a total row, cells stripped."""
    tables = []
    for at, line in enumerate(lines):
        if line.startswith("│ total"):
            header = max(i for i in range(at) if lines[i].startswith("┡"))
            title = lines[header - 3].strip()  # above the top border and the header
            rows = [[cell.strip() for cell in row.split("│")[1:-1]] for row in lines[header + 1:at - 1]]
            tables.append((title, rows, [cell.strip() for cell in line.split("│")[1:-1]]))
    return tables


def _assert_rows_add_up(title: str, rows: list[list[str]], total: list[str]) -> None:
    for column in (1, 2):  # requests, errors
        assert sum(int(row[column].replace(",", "")) for row in rows) == int(total[column].replace(",", "")), title
    assert sum(_amount(row[3]) for row in rows) == _amount(total[3]), title


def test_spend_rows_add_up_to_the_total_printed_under_them() -> None:
    # each $0.005 alone rounds to $0.01: three of them printed $0.03 of rows under a $0.02 total
    halves = [SpendLine(f"p{i}", 1, 0, 5_000_000) for i in range(3)]
    tables = _tables_with_totals(_printed(_spend_table("Spend", halves, "project")))
    [(_, rows, total)] = tables
    assert total[3] == "$0.02" and sorted(row[3] for row in rows) == ["$0.00", "$0.01", "$0.01"]
    _assert_rows_add_up("Spend", rows, total)
    # a top-N list under the workspace's total: the "other" row takes part in the rounding too
    top = [SpendLine("a", 2, 1, 1_234_567_891), SpendLine("b", 3, 0, 4_995_000)]
    whole = SpendLine("total", 9, 2, 1_234_567_891 + 4_995_000 + 4_995_000)
    [(_, rows, total)] = _tables_with_totals(_printed(_spend_table("Top", top, "model", whole)))
    assert [row[0] for row in rows] == ["a", "b", "other"] and total[3] == "$1.24"
    _assert_rows_add_up("Top", rows, total)


def test_the_dashboard_fits_80_columns_with_one_line_per_run_and_totals_that_add_up(db_conn: Conn) -> None:
    lines = _dashboard(db_conn)
    assert max(len(line) for line in lines) <= 80
    title = next(i for i, line in enumerate(lines) if line.startswith("The latest refresh, one run per stage"))
    assert lines[title + 1].split() == ["run", "job", "status", "at", "took", "what", "it", "did"]
    runs = []
    for line in lines[title + 3:]:  # below the header and its rule, one line per run
        if not line[:1].isdigit():
            break
        runs.append(line)
    assert sorted(next(s for s in STAGE_NAMES if f" {s} " in line) for line in runs) == sorted(STAGE_NAMES)
    # what each run did in words and dollars, not its raw stats (avoidable_nanos=…, full_rebuild=True)
    assert not any(re.search(r"=|_|nanos|True|False", line) for line in runs), runs
    did = {stage: next(line for line in runs if f" {stage} " in line) for stage in STAGE_NAMES}
    assert re.search(r"\d+ days? rebuilt", did["rollup"]) and "$" in did["clustering"] and "$" in did["savings"]
    totals = [line for line in lines if line.startswith("│ total")]
    assert len(totals) == 4  # by provider, by project, top models, last 7 days
    assert totals[0].split("│")[-2] == totals[1].split("│")[-2] == totals[2].split("│")[-2]  # the same spend
    # every table with a total row: its rows add up to it (one dashboard built for both checks: it is slow)
    tables = _tables_with_totals(lines)
    assert [name for name, _, _ in tables] == ["Spend by provider", "Spend by project", "Top models",
                                               "Last 7 days"]
    for name, rows, total in tables:
        assert rows, name
        _assert_rows_add_up(name, rows, total)


def test_the_runs_table_shows_the_latest_run_of_each_stage_once(db_conn: Conn) -> None:
    """Beat may fire the nightly fan-out twice during the demo: the table shows the latest refresh's runs,
    not the last five runs of two refreshes mixed."""
    report = seed_workspace(db_conn, SeedOptions(slug="acme", days=3, requests_per_day=50))
    for _ in range(2):
        run_pipeline(db_conn, report.workspace_id, datetime.now(UTC), only=None, replay=False, worker="test")
    lines = _printed(_runs_table(db_conn, report.workspace_id, 80))
    shown = [line.split()[:3] for line in lines[3:] if line[:1].isdigit()]
    second = len(STAGE_NAMES)  # run ids of the second refresh follow the first's
    assert shown == [[str(second + i + 1), stage, "succeeded"] for i, stage in reversed(list(enumerate(STAGE_NAMES)))]


def _cut_off(conn: Conn, workspace_id: int, as_of: datetime, task_id: str) -> None:
    """A refresh's checks stage claimed, then left 'running': the worker was stopped under it."""
    start, end = stage_named("checks").window(as_of)
    open_run(conn, RunSpec(job="checks", workspace_id=workspace_id, as_of=as_of, window_start=start, window_end=end,
                           lock_scope="workspace", task_id=task_id, worker="test"))


def test_two_refreshes_that_overlapped_show_as_the_latest_one_with_no_run_cut_off(db_conn: Conn) -> None:
    """The review's demo: beat fired every 5 seconds, a second refresh ran beside the first, and the worker was
    stopped under one of them. The table read `checks running … 0 findings` next to another refresh's rollup."""
    report = seed_workspace(db_conn, SeedOptions(slug="acme", days=3, requests_per_day=50))
    ws, now = report.workspace_id, datetime.now(UTC)
    earlier = now - timedelta(seconds=5)  # the fan-out beat sent first; its refresh took its stages slowly
    run_pipeline(db_conn, ws, earlier, task_id="first", worker="test", stages=STAGES[:2])
    run_pipeline(db_conn, ws, now, task_id="second", worker="test")
    _cut_off(db_conn, ws, earlier, "first")
    lines = _printed(_runs_table(db_conn, ws, 80))
    shown = [line.split() for line in lines[3:] if line[:1].isdigit()]
    second = {row[0]: row[1] for row in db_conn.execute(
        "select job, id::text from analysis.runs where task_id = 'second'").fetchall()}
    assert [row[:3] for row in shown] == [[second[stage], stage, "succeeded"] for stage in reversed(STAGE_NAMES)]
    assert not any("already current" in line for line in lines)


def test_the_demo_stops_its_worker_only_once_every_refresh_beat_sent_has_finished(db_conn: Conn) -> None:
    report = seed_workspace(db_conn, SeedOptions(slug="acme", days=3, requests_per_day=50))
    ws, since = report.workspace_id, datetime.now(UTC)
    assert not refreshes_done(refresh_progress(db_conn, ws, STAGE_NAMES, since), sent=1)  # none started yet
    run_pipeline(db_conn, ws, since, task_id="first", worker="test")
    assert refreshes_done(refresh_progress(db_conn, ws, STAGE_NAMES, since), sent=1)
    # beat had sent a second fan-out before it was stopped: its refresh is under way, one stage running
    later = datetime.now(UTC)
    _cut_off(db_conn, ws, later, "second")
    progress = refresh_progress(db_conn, ws, STAGE_NAMES, since)
    assert (progress.started, progress.finished, progress.running) == (2, 1, 1)
    assert not refreshes_done(progress, sent=2)
    run_pipeline(db_conn, ws, later, task_id="second", worker="test")  # the worker finishes it
    assert refreshes_done(refresh_progress(db_conn, ws, STAGE_NAMES, since), sent=2)


def test_beat_sends_are_counted_from_its_log() -> None:
    log = b"""2026-12-07 10:25:11,840 INFO celery.beat beat: Starting...
2026-12-07 10:25:16,846 INFO celery.beat Scheduler: Sending due task nightly-refresh (halton.nightly_fanout)
2026-12-07 10:25:18,001 INFO celery.beat Scheduler: Sending due task nightly-billing (halton.pull_billing_fanout)
2026-12-07 10:25:21,857 INFO celery.beat Scheduler: Sending due task nightly-refresh (halton.nightly_fanout)
"""
    assert beat_sends(log) == 2 and beat_sends(log[:200]) == 1 and beat_sends(b"") == 0


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
