"""A report never prints a figure it does not have: it brings the rollup up to date first (or fails saying
so), says up to which moment requests are counted, compares like for like, and the stored report says when
requests of its days arrived later."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import psycopg
import pytest

from core.errors import JobBusy, UserError
from core.money import money
from store import claims, rollup
from store.claims import RunSpec
from store.incremental import settled_moment
from store.report_coverage import RollupCoverage, RollupMoved, RollupNotCurrent, refuse_uncovered
from store.report_writes import report_row
from tests.conftest import TEST_ROLES
from tests.factories import Conn, logged_failure, make_workspace
from tests.store.report_scene import (
    AS_OF,
    PERIOD_END,
    PERIOD_START,
    ReportScene,
    Sent,
    insert_request,
    make_report_scene,
)
from tests.unit.pdf_text import pdf_text
from workers.jobs import refresh_workspace
from workers.jobs.reports import render_report
from workers.runtime.embedded import as_role
from workers.settings import SigningSettings

UNSIGNED = SigningSettings()


def rendered_text(conn: Conn, scene: ReportScene, kind: str, start: date = PERIOD_START,
                  end: date = PERIOD_END) -> str:
    request = insert_request(conn, scene.workspace_id, kind, scene.project_id if kind == "project" else None,
                             start, end)
    render_report(conn, request, signing=UNSIGNED)
    status, error, pdf, *_ = report_row(conn, request, scene.workspace_id) or ()
    assert (status, error) == ("succeeded", None)
    return pdf_text(bytes(pdf))


def freshness(conn: Conn, request: int) -> tuple[datetime, date, date, bool]:
    row = conn.execute("""select counted_through, counted_from, counted_to, later_requests
                          from analysis.report_freshness where request_id = %s""", (request,)).fetchone()
    assert row is not None
    return row[0], row[1], row[2], row[3]


def test_a_report_counts_the_requests_received_since_the_last_refresh(db_conn: Conn) -> None:
    scene = make_report_scene(db_conn)
    now = datetime.now(UTC).replace(microsecond=0)
    yesterday = now.date() - timedelta(days=1)
    noon = datetime.combine(yesterday, datetime.min.time(), UTC) + timedelta(hours=12)
    scene.add(db_conn, noon, cost_nanos=100_000_000_000)
    refresh_workspace(db_conn, scene.workspace_id, now - timedelta(minutes=30))  # yesterday is rolled up
    # then a request of it arrives late (before the render's late-commit margin: one received within it is
    # counted but not claimed, tests/store/test_report_late_commits.py)
    arrived = now - timedelta(minutes=15)
    scene.add(db_conn, noon, cost_nanos=23_450_000_000, synced_at=arrived)
    text = rendered_text(db_conn, scene, "project", yesterday, now.date())
    assert scene.spend(yesterday, now.date(), project=0) == 123_450_000_000
    assert f"{money(123_450_000_000)} spend in the period" in text
    # the footer names the latest arrival it counts: the late request's
    assert f"Counts the requests received by {arrived.day} {arrived:%b %Y %H:%M:%S} UTC." in text


def test_a_report_waits_while_another_rollup_of_the_workspace_runs(db_conn: Conn, database_url: str) -> None:
    scene = make_report_scene(db_conn)
    request = insert_request(db_conn, scene.workspace_id, "project", scene.project_id)
    with psycopg.connect(database_url, autocommit=True) as nightly:  # the nightly refresh, in its rollup
        claims.try_lock(nightly, RunSpec(job="rollup", workspace_id=scene.workspace_id, as_of=AS_OF,
                                         lock_scope="workspace"))
        with pytest.raises(JobBusy, match="the report waits for the daily rollup: another rollup"):
            render_report(db_conn, request, signing=UNSIGNED)
    status, error, pdf, *_ = report_row(db_conn, request, scene.workspace_id) or ()
    assert status == "running" and pdf is None  # a retry follows, and the row says why it is late
    assert error.startswith("retrying after: the report waits for the daily rollup: another rollup")
    render_report(db_conn, request, signing=UNSIGNED)  # the retry, once the lock is free
    assert (report_row(db_conn, request, scene.workspace_id) or ())[0] == "succeeded"


def test_a_report_fails_saying_so_when_the_rollup_cannot_be_brought_up_to_date(
        db_conn: Conn, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    scene = make_report_scene(db_conn)
    request = insert_request(db_conn, scene.workspace_id, "executive", None)

    def disk_full(*_args: object, **_kwargs: object) -> rollup.RollupResult:
        raise OSError("could not extend file: No space left on device")

    monkeypatch.setattr(rollup, "refresh_daily_spend", disk_full)
    with pytest.raises(RollupNotCurrent):
        render_report(db_conn, request, signing=UNSIGNED)
    status, error, pdf, *_ = report_row(db_conn, request, scene.workspace_id) or ()
    assert status == "failed" and pdf is None
    assert error.startswith("the daily rollup could not be brought up to date, so the report was not rendered: its "
                            "figures would miss requests") and "OSError" not in error
    ref = db_conn.execute("select error_ref from analysis.reports where request_id = %s", (request,)).fetchone()
    assert ref is not None and "OSError: could not extend file" in logged_failure(caplog, ref[0])


def test_days_the_rollup_no_longer_covers_when_the_report_reads_are_refused_for_a_retry() -> None:
    built = RollupCoverage(AS_OF, settled_moment(AS_OF), date(2024, 1, 1), date(2026, 11, 20))
    refuse_uncovered(built, date(2026, 10, 1), date(2026, 11, 20), AS_OF)  # all of it, as of the report's moment
    with pytest.raises(RollupMoved, match=r"it now covers 2024-01-01 to 2026-11-19 with the requests received by "
                                          r"2026-11-20 02:00:00 UTC, but the report reads 2026-10-01 to 2026-11-19 "
                                          r"as of 2026-11-20 02:05:00 UTC \(a replay of the rollup"):
        refuse_uncovered(built, date(2026, 10, 1), date(2026, 11, 20), AS_OF + timedelta(minutes=5))
    with pytest.raises(RollupMoved, match="it now covers 2025-01-01 to"):  # the oldest year dropped meanwhile
        refuse_uncovered(RollupCoverage(AS_OF, settled_moment(AS_OF), date(2025, 1, 1), date(2026, 11, 20)),
                         date(2024, 12, 1), date(2024, 12, 31), AS_OF)


def test_the_stored_report_says_when_requests_of_its_days_arrived_later(db_conn: Conn, database_url: str) -> None:
    scene = make_report_scene(db_conn)
    project = insert_request(db_conn, scene.workspace_id, "project", scene.project_id)
    summary = insert_request(db_conn, scene.workspace_id, "executive", None)
    for request in (project, summary):
        render_report(db_conn, request, signing=UNSIGNED)
    # what it counts: the latest arrival among the requests of the days it reads (sent 30 s after they start)
    latest = max(s.started_at for s in scene.sent) + timedelta(seconds=30)
    assert freshness(db_conn, project) == (latest, date(2026, 10, 1), PERIOD_END, False)
    assert freshness(db_conn, summary) == (latest, date(2026, 1, 1), PERIOD_END, False)
    now = datetime.now(UTC) - timedelta(seconds=5)  # received before a re-render's moment, to the second
    scene.add(db_conn, datetime(2026, 12, 1, 9, tzinfo=UTC), synced_at=now)  # after the period: neither
    scene.add(db_conn, datetime(2026, 11, 3, 9, tzinfo=UTC), project=1, synced_at=now)  # another project's
    assert [freshness(db_conn, r)[3] for r in (project, summary)] == [False, True]
    scene.add(db_conn, datetime(2026, 11, 3, 9, tzinfo=UTC), project=0, synced_at=now)
    assert [freshness(db_conn, r)[3] for r in (project, summary)] == [True, True]
    render_report(db_conn, project, signing=UNSIGNED, force=True)  # re-rendered: it counts them
    assert freshness(db_conn, project)[3] is False
    with psycopg.connect(as_role(database_url, TEST_ROLES.dashboard), autocommit=True) as dashboard:
        assert dashboard.execute("""select request_id, later_requests from analysis.report_freshness
                                    order by request_id""").fetchall() == [(project, False), (summary, True)]


def test_a_month_to_date_is_compared_with_the_same_days_of_last_month(db_conn: Conn) -> None:
    """On 6 December, all of November against six days of December read as spend falling by three quarters."""
    workspace = make_workspace(db_conn, "acme", projects=1, devices=1)
    scene = ReportScene(workspace, 0, [])
    for day in range(61):  # 1 October to 30 November, more each day
        started = datetime(2026, 10, 1, 12, tzinfo=UTC) + timedelta(days=day)
        scene.add(db_conn, started, cost_nanos=1_000_000_000 + day * 10_000_007)
    refresh_workspace(db_conn, workspace.workspace_id, datetime(2026, 10, 31, 2, tzinfo=UTC))  # 1–30 October
    refresh_workspace(db_conn, workspace.workspace_id, datetime(2026, 11, 30, 2, tzinfo=UTC))  # 31 Oct – 29 Nov
    text = rendered_text(db_conn, scene, "executive", date(2026, 11, 1), date(2026, 11, 7))
    this, same_days = scene.spend(date(2026, 11, 1), date(2026, 11, 7)), scene.spend(date(2026, 10, 1),
                                                                                     date(2026, 10, 7))
    whole = scene.spend(date(2026, 10, 1), date(2026, 11, 1))
    change = ((Decimal(this) - same_days) * 100 / same_days).quantize(Decimal("0.1"), ROUND_HALF_UP)
    assert f"This month 01 Nov 2026 – 06 Nov 2026 6 {money(this)}" in text
    assert f"Last month (same days) 01 Oct 2026 – 06 Oct 2026 6 {money(same_days)}" in text
    assert f"Last month (whole) October 2026 31 {money(whole)}" in text
    assert f"Change, this month to date against the same days of last month: +{change} %." in text
    assert change > 0 and "−" not in text.split("Change,")[1].split(".")[0]


def test_a_period_running_into_today_stops_at_yesterday_and_says_so(db_conn: Conn) -> None:
    scene = make_report_scene(db_conn)
    today = datetime.now(UTC).date()
    yesterday = today - timedelta(days=1)
    scene.add(db_conn, datetime.combine(yesterday, datetime.min.time(), UTC) + timedelta(hours=3),
              synced_at=datetime.now(UTC) - timedelta(minutes=1), cost_nanos=777_000_000_000)
    text = rendered_text(db_conn, scene, "project", yesterday - timedelta(days=1), today + timedelta(days=1))
    assert "$777.00 spend in the period" in text
    assert (f"The period asked for runs to {today.day} {today:%b %Y}; the figures stop at the end of "
            f"{yesterday.day} {yesterday:%b %Y} (UTC), the last whole day so far.") in text
    request = insert_request(db_conn, scene.workspace_id, "project", scene.project_id, today, today + timedelta(days=1))
    with pytest.raises(UserError, match="has no whole day yet: the rollup counts whole UTC days"):
        render_report(db_conn, request, signing=UNSIGNED)


def test_the_project_report_lists_each_kind_of_money_as_what_it_is(db_conn: Conn) -> None:
    scene = make_report_scene(db_conn)  # open: $45.00 and $12.35 a month
    for fingerprint, recurrence, impact in (("runaway-loop:x", "one_off", 6_690_000_000),
                                            ("spend-spike:x", "anomaly", 164_510_000_000)):
        db_conn.execute(
            """insert into analysis.recommendations (workspace_id, fingerprint, check_id, project_id, title, rationale,
                   monthly_saving_nanos, confidence, request_count, sample_request_ids, evidence, status,
                   first_seen_at, last_seen_at, run_id, recurrence, impact_nanos)
               values (%s, %s, %s, %s, %s, 'why', 0, 'high', 10, '{}', '{}', 'open', now(), now(), 0, %s, %s)""",
            (scene.workspace_id, fingerprint, fingerprint.split(":")[0], scene.project_id, f"Finding {recurrence}",
             recurrence, impact))
    text = rendered_text(db_conn, scene, "project")
    monthly = money(45_000_000_000 + 12_345_678_901)
    assert (f"4 open recommendations: monthly savings of {monthly} a month taken together; $6.69 of "
            "one-off waste already spent; $164.51 above the usual spend in an anomaly.") in text
    assert "$6.69 one-off, already spent" in text and "$164.51 above the usual spend" in text
    assert "$45.00/month" in text and "$12.35/month" in text


def test_the_summary_carries_the_catalogs_headline(db_conn: Conn) -> None:
    scene = make_report_scene(db_conn)
    db_conn.execute("delete from analysis.catalog_summary")  # as before the first catalog run
    assert "The optimisation catalog has not run for this workspace yet, so no saving is quoted." in \
        rendered_text(db_conn, scene, "executive")
    db_conn.execute(
        """insert into analysis.catalog_summary (workspace_id, run_id, computed_at, open_recommendations,
               monthly_saving_nanos, one_off_nanos, anomaly_nanos)
           values (%s, 0, '2026-11-20 02:05:00+00', 7, 612345678901, 6693412345, 0)""", (scene.workspace_id,))
    text = rendered_text(db_conn, scene, "executive")
    assert ("7 open recommendations. Taken together, the monthly ones save $612.35 a month (levers on the same "
            "requests combined, not added).") in text
    assert "Not monthly savings, and not added to them: $6.69 of one-off waste already spent" in text
    assert "anomalies" not in text and "From the optimisation catalog's latest run, 20 Nov 2026 02:05:00 UTC." in text


def test_the_scene_sends_what_its_figures_say(db_conn: Conn) -> None:
    """The scene's own bookkeeping against what it inserted, so the tests above work from true inputs."""
    scene = make_report_scene(db_conn)
    rows = db_conn.execute("""select started_at, project_id, device_id, provider, model, cost_nanos
                              from meter.requests where workspace_id = %s order by id""",
                           (scene.workspace_id,)).fetchall()
    ids = {pid: i for i, pid in enumerate(scene.scene.project_ids)}
    devices = {did: i for i, did in enumerate(scene.scene.device_ids)}
    assert [Sent(r[0], ids[r[1]], devices[r[2]], r[3], r[4], r[5]) for r in rows] == scene.sent
