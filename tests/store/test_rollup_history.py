"""Issue 14's acceptance for the rollup: a workspace with 120 days of history and a row synced late for a
day 90 days old is rolled up exactly on every day, and the executive summary of the last full month, rendered
as the worker renders it, shows that month, the month before and the year to date exactly, a row that
arrived after the last nightly refresh included; a report reaching before the history kept is refused, never
printed with zeros."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, tzinfo

import pytest

from core.errors import UserError
from core.money import money
from store.report_reads import ReportRequest
from store.report_writes import report_row
from synthetic import SeedOptions, seed_workspace
from tests.factories import Conn, add_request, make_workspace
from tests.store.report_scene import insert_request
from tests.store.rollup_sums import assert_rollup_equals_requests
from tests.unit.pdf_text import pdf_text
from workers.jobs import refresh_workspace
from workers.jobs import reports as report_jobs
from workers.jobs.reports import build_artifact, render_report
from workers.settings import SigningSettings, rollup_settings

END = date(2026, 11, 20)  # the seed's days: 23 July to 19 November 2026
AS_OF = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
LATE_COST = 7_654_321_987


def spend(conn: Conn, workspace_id: int, as_of: datetime, first: date, end: date) -> tuple[int, int]:
    """(requests, cost) of the rows synced by as_of that started in [first, end), straight from meter."""
    row = conn.execute(
        """select count(*), coalesce(sum(cost_nanos), 0) from meter.requests
           where workspace_id = %s and synced_at <= %s
             and started_at >= %s::date::timestamp at time zone 'UTC'
             and started_at < %s::date::timestamp at time zone 'UTC'""",
        (workspace_id, as_of, first, end)).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def rendered_summary_of_october(conn: Conn, workspace_id: int) -> str:
    """The executive summary of October as the worker renders it: its own rollup refresh, reads and PDF."""
    request = insert_request(conn, workspace_id, "executive", None, date(2026, 10, 1), date(2026, 11, 1))
    render_report(conn, request, signing=SigningSettings())
    status, error, pdf, *_ = report_row(conn, request, workspace_id) or ()
    assert (status, error) == ("succeeded", None)
    return pdf_text(bytes(pdf))


def assert_summary_shows_meter(text: str, conn: Conn, workspace_id: int, as_of: datetime) -> None:
    """October, September and the year to date as the PDF prints them, worked out from meter.requests."""
    for label, (first, end) in [("This month October 2026", (date(2026, 10, 1), date(2026, 11, 1))),
                                ("Last month September 2026", (date(2026, 9, 1), date(2026, 10, 1))),
                                ("Year to date 01 Jan 2026 – 31 Oct 2026; data from 23 Jul 2026",
                                 (date(2026, 1, 1), date(2026, 11, 1)))]:
        requests, cost = spend(conn, workspace_id, as_of, first, end)
        assert requests > 0 and f"{label} {requests:,} {money(cost)}" in text, (label, requests, money(cost), text)


def add_late_row(conn: Conn, workspace_id: int, started_at: datetime, synced_at: datetime) -> None:
    """One request of an offline laptop, on an existing device and project, synced long after it ran."""
    conn.execute(
        """insert into meter.requests (workspace_id, device_id, project_id, attribution_tier, provider, model,
               started_at, status_code, service_tier, input_tokens, output_tokens, cost_nanos, rates_version,
               synced_at)
           select workspace_id, device_id, project_id, attribution_tier, provider, model, %s, 200, service_tier,
                  1200, 300, %s, rates_version, %s
           from meter.requests where workspace_id = %s and project_id is not null order by id limit 1""",
        (started_at, LATE_COST, synced_at, workspace_id))


def test_120_days_and_a_row_synced_late_for_a_day_90_days_old_are_rolled_up_exactly(db_conn: Conn) -> None:
    seed = seed_workspace(db_conn, SeedOptions(slug="history", days=120, requests_per_day=300, seed=14,
                                               end_date=END))
    ws = seed.workspace_id
    assert seed.first_day == date(2026, 7, 23)

    refresh_workspace(db_conn, ws, AS_OF)
    assert assert_rollup_equals_requests(db_conn, ws, AS_OF) == 120

    late_day = AS_OF - timedelta(days=90)  # 22 August
    add_late_row(db_conn, ws, late_day + timedelta(hours=9), synced_at=AS_OF + timedelta(hours=7))
    before = spend(db_conn, ws, AS_OF, late_day.date(), late_day.date() + timedelta(days=1))
    next_night = AS_OF + timedelta(days=1)
    refresh_workspace(db_conn, ws, next_night)
    assert assert_rollup_equals_requests(db_conn, ws, next_night) == 120  # no rows on 20 November
    assert spend(db_conn, ws, next_night, late_day.date(), late_day.date() + timedelta(days=1)) == \
        (before[0] + 1, before[1] + LATE_COST)

    # a row of 8 September arrives after the last nightly refresh: only the report's own refresh counts it
    add_late_row(db_conn, ws, datetime(2026, 9, 8, 15, tzinfo=UTC), synced_at=datetime.now(UTC) - timedelta(minutes=1))
    assert rolled_up(db_conn, ws, date(2026, 9, 8)) == spend(db_conn, ws, next_night, date(2026, 9, 8),
                                                             date(2026, 9, 9))
    text = rendered_summary_of_october(db_conn, ws)
    counted_to = rollup_moment(db_conn, ws)
    assert rolled_up(db_conn, ws, date(2026, 9, 8)) == spend(db_conn, ws, counted_to, date(2026, 9, 8),
                                                             date(2026, 9, 9))
    assert spend(db_conn, ws, counted_to, date(2026, 9, 1), date(2026, 10, 1))[1] - \
        spend(db_conn, ws, next_night, date(2026, 9, 1), date(2026, 10, 1))[1] == LATE_COST
    assert_summary_shows_meter(text, db_conn, ws, counted_to)


def rolled_up(conn: Conn, workspace_id: int, day: date) -> tuple[int, int]:
    row = conn.execute("""select coalesce(sum(requests), 0), coalesce(sum(cost_nanos), 0) from analysis.daily_spend
                          where workspace_id = %s and day = %s""", (workspace_id, day)).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def rollup_moment(conn: Conn, workspace_id: int) -> datetime:
    row = conn.execute("select synced_through from analysis.rollup_state where workspace_id = %s",
                       (workspace_id,)).fetchone()
    assert row is not None
    moment: datetime = row[0]
    return moment


@pytest.fixture
def history_years(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    rollup_settings.cache_clear()
    yield monkeypatch
    rollup_settings.cache_clear()


def request_for(workspace_id: int, kind: str, start: date, end: date) -> ReportRequest:
    return ReportRequest(None, workspace_id, kind, None, start, end, "test", datetime.now(UTC))


def test_a_report_reaching_before_the_history_kept_is_refused(db_conn: Conn,
                                                             history_years: pytest.MonkeyPatch) -> None:
    history_years.setenv("HALTON_ROLLUP_HISTORY_YEARS", "2")
    first_kept = date(datetime.now(UTC).year - 2, 1, 1)
    ws = seed_workspace(db_conn, SeedOptions(slug="short", days=2, requests_per_day=10)).workspace_id
    before = first_kept - timedelta(days=1)
    with pytest.raises(UserError, match=f"starts before {first_kept}, the first day the rollup keeps "
                                        r"\(HALTON_ROLLUP_HISTORY_YEARS=2"):
        build_artifact(db_conn, request_for(ws, "executive", before.replace(day=1), first_kept),
                       SigningSettings())
    # the executive summary of the first month kept compares with the month before it
    february = first_kept.replace(month=2)
    with pytest.raises(UserError, match=f"compares with days from {before.replace(day=1)}, before {first_kept}"):
        build_artifact(db_conn, request_for(ws, "executive", first_kept, february), SigningSettings())


def test_a_report_made_as_the_year_turns_keeps_the_one_moment_it_took(db_conn: Conn,
                                                                      history_years: pytest.MonkeyPatch) -> None:
    """Across midnight on 31 December, a second look at the clock would check the history kept against the
    new year (the first day kept moves a year on) while the rollup counts as of the old one."""
    history_years.setenv("HALTON_ROLLUP_HISTORY_YEARS", "2")  # kept from 1 January 2024 until the year turns
    scene = make_workspace(db_conn, "turn", projects=1, devices=1)
    for day in (3, 17):
        add_request(db_conn, scene, datetime(2024, 12, day, 10, tzinfo=UTC), cost_nanos=2_500_000_000)
    moments = [datetime(2026, 12, 31, 23, 59, 59, 900_000, tzinfo=UTC), datetime(2027, 1, 1, 0, 0, 0, 100_000,
                                                                               tzinfo=UTC)]

    class TurningClock(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
            return moments.pop(0) if len(moments) > 1 else moments[0]

    history_years.setattr(report_jobs, "datetime", TurningClock)
    artifact = build_artifact(db_conn, request_for(scene.workspace_id, "executive", date(2024, 12, 1),
                                                   date(2025, 1, 1)), SigningSettings())
    assert artifact.counted is not None and artifact.counted.end_day == date(2025, 1, 1)
    text = pdf_text(artifact.pdf)
    assert "This month December 2024; data from 3 Dec 2024 2 $5.00" in text, text
