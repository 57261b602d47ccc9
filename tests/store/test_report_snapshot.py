"""A report reads in one snapshot: a late request and a rollup committed by another session between two of
its reads change nothing it prints, so the headline is each table's total and the footer's moment is the
one its figures count up to."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import psycopg
import pytest

from core.money import money
from store.report_coverage import RollupMoved
from store.report_writes import report_row
from tests.factories import Conn
from tests.store.interleave import before_statement
from tests.store.report_scene import PERIOD_END, PERIOD_START, ReportScene, insert_request, make_report_scene
from tests.unit.pdf_text import pdf_text
from workers.jobs import refresh_workspace
from workers.jobs.reports import render_report
from workers.settings import SigningSettings

LATE_COST = 100_000_000_000  # $100.00 of 3 November, received while the report reads


def late_request_and_rollup(database_url: str, scene: ReportScene, arrived: list[datetime]) -> None:
    """What another session does meanwhile: a laptop's request of 3 November arrives, the rollup counts it."""
    with psycopg.connect(database_url, autocommit=True) as other:
        now = datetime.now(UTC)
        arrived.append(now)
        scene.add(other, datetime(2026, 11, 3, 9, tzinfo=UTC), project=0, cost_nanos=LATE_COST, synced_at=now)
        refresh_workspace(other, scene.workspace_id, datetime.now(UTC), stage="rollup")


def rendered(conn: Conn, scene: ReportScene, kind: str) -> tuple[int, str]:
    request = insert_request(conn, scene.workspace_id, kind, scene.project_id if kind == "project" else None)
    render_report(conn, request, signing=SigningSettings())
    status, error, pdf, *_ = report_row(conn, request, scene.workspace_id) or ()
    assert (status, error) == ("succeeded", None)
    return request, pdf_text(bytes(pdf))


def later_requests(conn: Conn, request: int) -> bool:
    row = conn.execute("select later_requests from analysis.report_freshness where request_id = %s",
                       (request,)).fetchone()
    assert row is not None
    return bool(row[0])


def counted_moment(text: str) -> datetime:
    found = re.search(r"Counts the requests received by (\d+ \w+ \d{4} [\d:]+) UTC\.", text)
    assert found, text
    return datetime.strptime(found.group(1), "%d %b %Y %H:%M:%S").replace(tzinfo=UTC)


def test_a_rollup_committed_between_two_reads_of_a_project_report_changes_nothing_it_prints(
        db_conn: Conn, database_url: str) -> None:
    scene = make_report_scene(db_conn)
    before = scene.spend(PERIOD_START, PERIOD_END, project=0)
    requests_before = sum(1 for s in scene.sent if s.project == 0 and PERIOD_START <= s.started_at.date() < PERIOD_END)
    arrived: list[datetime] = []
    # the days are read first, then the developers: the other session commits in between
    with before_statement(db_conn, "left join meter.devices",
                          lambda: late_request_and_rollup(database_url, scene, arrived)) as sent:
        request, text = rendered(db_conn, scene, "project")
    assert arrived and any("left join meter.devices" in s for s in sent)
    headline = re.search(r"Headline (\$[\d,.]+) spend in the period .*? ([\d,]+) requests \(", text)
    developers = re.search(r"Share by developer .*? total ([\d,]+) (\$[\d,.]+) 100\.0 %", text)
    models = re.search(r"Spend by model .*? total ([\d,]+) [\d,]+ [\d,]+ (\$[\d,.]+) 100\.0 %", text)
    assert headline and developers and models, text
    printed = (headline.group(2), headline.group(1))
    assert printed == developers.groups() == models.groups() == (f"{requests_before:,}", money(before))
    assert counted_moment(text) < arrived[0]  # the footer's moment is what the figures count up to
    assert later_requests(db_conn, request)  # and the stored report knows a request of its days came later


def test_a_rollup_committed_while_the_summary_reads_is_neither_printed_nor_claimed(
        db_conn: Conn, database_url: str) -> None:
    scene = make_report_scene(db_conn)
    year_start = datetime(2026, 1, 1, tzinfo=UTC).date()
    this_month, year = scene.spend(PERIOD_START, PERIOD_END), scene.spend(year_start, PERIOD_END)
    arrived: list[datetime] = []
    # the summary's one read of the days' totals comes after the footer's moment is worked out
    with before_statement(db_conn, "select day, provider, project_id, requests, cost_nanos",
                          lambda: late_request_and_rollup(database_url, scene, arrived)):
        request, text = rendered(db_conn, scene, "executive")
    assert arrived
    assert f"This month 01 Nov 2026 – 19 Nov 2026 114 {money(this_month)}" in text, text
    assert f"Year to date 01 Jan 2026 – 19 Nov 2026; data from 22 Oct 2026 174 {money(year)}" in text, text
    assert counted_moment(text) < arrived[0]
    assert later_requests(db_conn, request)


def test_a_replay_committed_before_the_reads_makes_the_report_wait_not_print_zeros(
        db_conn: Conn, database_url: str) -> None:
    scene = make_report_scene(db_conn)
    request = insert_request(db_conn, scene.workspace_id, "project", scene.project_id, PERIOD_START, PERIOD_END)

    def replay_of_the_first_night() -> None:  # someone replays 21 October's rollup, which has none of November
        with psycopg.connect(database_url, autocommit=True) as other:
            refresh_workspace(other, scene.workspace_id, datetime(2026, 10, 21, 2, tzinfo=UTC), replay=True,
                              stage="rollup")

    with before_statement(db_conn, "settled_through, window_start, window_end from analysis.rollup_state",
                          replay_of_the_first_night), \
            pytest.raises(RollupMoved, match="the daily rollup changed while this report was being prepared: it "
                                             "now covers 2022-01-01 to 2026-10-21"):  # 21 October so far
        render_report(db_conn, request, signing=SigningSettings())
    status, error, pdf, *_ = report_row(db_conn, request, scene.workspace_id) or ()
    assert status == "running" and pdf is None  # a sentence for people, no exception type (issue 16)
    assert error.startswith("retrying after: the daily rollup changed while this report was being prepared")
    render_report(db_conn, request, signing=SigningSettings())  # the retry brings the rollup forward again
    _, _, pdf, *_ = report_row(db_conn, request, scene.workspace_id) or ()
    assert f"{money(scene.spend(PERIOD_START, PERIOD_END, project=0))} spend in the period" in pdf_text(bytes(pdf))
