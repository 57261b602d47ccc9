"""What a stored report counts, with requests whose sync commits late: synced_at is when the sync transaction
started, so a request can become visible minutes after others that arrived later. The footer claims only
what the rollup surely counted, and the stored report says it may be re-rendered exactly when a request of
its days is not counted in it."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import psycopg

from core.money import money
from store.report_writes import report_row
from tests.factories import Conn
from tests.store.report_scene import PERIOD_END, PERIOD_START, ReportScene, insert_request, make_report_scene
from tests.unit.pdf_text import pdf_text
from workers.jobs import refresh_workspace
from workers.jobs.reports import render_report
from workers.settings import SigningSettings

UNSIGNED = SigningSettings()
HELD_COST = 50_000_000_000  # $50.00 in a sync transaction still open while the report renders


def render(conn: Conn, scene: ReportScene, request: int, force: bool = False) -> str:
    render_report(conn, request, signing=UNSIGNED, force=force)
    status, error, pdf, *_ = report_row(conn, request, scene.workspace_id) or ()
    assert (status, error) == ("succeeded", None)
    return pdf_text(bytes(pdf))


def later_requests(conn: Conn, request: int) -> bool:
    row = conn.execute("select later_requests from analysis.report_freshness where request_id = %s",
                       (request,)).fetchone()
    assert row is not None
    return bool(row[0])


def footer_moment(text: str) -> datetime:
    found = re.search(r"Counts the requests received by (\d+ \w+ \d{4} [\d:]+) UTC\.", text)
    assert found, text
    return datetime.strptime(found.group(1), "%d %b %Y %H:%M:%S").replace(tzinfo=UTC)


def test_a_request_committed_after_the_render_with_an_older_arrival_makes_the_report_one_to_re_render(
        db_conn: Conn, database_url: str) -> None:
    scene = make_report_scene(db_conn)
    request = insert_request(db_conn, scene.workspace_id, "project", scene.project_id)
    with psycopg.connect(database_url) as sync:  # the sync service, its transaction open
        # synced_at is the transaction's start (a few seconds ago: the render counts whole seconds)
        held = sync.execute(
            """insert into meter.requests (workspace_id, device_id, project_id, attribution_tier, provider, model,
                   started_at, status_code, input_tokens, output_tokens, cost_nanos, rates_version, synced_at)
               values (%s, %s, %s, 'header', 'anthropic', 'claude-sonnet-4-6', '2026-11-03 09:00:00+00', 200, 1000,
                       100, %s, 'test', now() - interval '5 seconds') returning synced_at""",
            (scene.workspace_id, scene.scene.device_ids[0], scene.project_id, HELD_COST)).fetchone()
        assert held is not None
        held_since = held[0]
        # meanwhile a request of another day arrives later and commits first
        scene.add(db_conn, datetime(2026, 11, 5, 9, tzinfo=UTC), synced_at=datetime.now(UTC) - timedelta(seconds=1))
        text = render(db_conn, scene, request)
        sync.commit()
    assert f"{money(scene.spend(PERIOD_START, PERIOD_END, project=0))} spend in the period" in text
    # every request received by the footer's moment is counted: not the one received at held_since
    assert footer_moment(text) < held_since
    assert later_requests(db_conn, request)
    refresh_workspace(db_conn, scene.workspace_id, datetime.now(UTC), stage="rollup")  # the rollup counts it
    assert later_requests(db_conn, request)  # the stored PDF still does not
    text = render(db_conn, scene, request, force=True)
    assert f"{money(scene.spend(PERIOD_START, PERIOD_END, project=0) + HELD_COST)} spend in the period" in text
    assert not later_requests(db_conn, request)


def test_requests_received_just_before_the_render_are_counted_and_do_not_make_it_stale(db_conn: Conn) -> None:
    scene = make_report_scene(db_conn)
    request = insert_request(db_conn, scene.workspace_id, "project", scene.project_id)
    just_now = datetime.now(UTC) - timedelta(seconds=20)  # within the late-commit margin of the render
    scene.add(db_conn, datetime(2026, 11, 4, 9, tzinfo=UTC), cost_nanos=7_000_000_000, synced_at=just_now)
    text = render(db_conn, scene, request)
    assert f"{money(scene.spend(PERIOD_START, PERIOD_END, project=0))} spend in the period" in text
    # the footer names a moment every request received by is surely counted: before the margin
    assert footer_moment(text) < just_now
    assert not later_requests(db_conn, request)
    refresh_workspace(db_conn, scene.workspace_id, datetime.now(UTC), stage="rollup")
    assert not later_requests(db_conn, request)


def test_a_request_of_today_is_later_for_a_report_whose_period_ran_into_today(db_conn: Conn) -> None:
    scene = make_report_scene(db_conn)
    today = datetime.now(UTC).date()
    request = insert_request(db_conn, scene.workspace_id, "executive", None, date(today.year, today.month, 1)
                             if today.day > 1 else today - timedelta(days=1), today + timedelta(days=1))
    received = datetime.now(UTC) - timedelta(minutes=30)  # today's, received before the render: not counted
    scene.add(db_conn, datetime.combine(today, datetime.min.time(), UTC), synced_at=received)
    render(db_conn, scene, request)
    assert later_requests(db_conn, request)
