"""The report job against a real database: the PDF's figures are the analysis tables', to the cent."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from core.errors import ConfigError, GiveUpError, TransientError, UserError
from core.money import money, money_column
from store import claims, report_writes
from store.claims import MAX_ABANDONED_DELIVERIES, RunSpec
from store.report_reads import top_project
from store.report_writes import report_row
from store.runs import FAULT_OF_OURS, NOT_CONFIGURED
from tests.factories import Conn, logged_failure
from tests.store.report_scene import AS_OF, PERIOD_END, PERIOD_START, REQUESTED_AT, insert_request, make_report_scene
from tests.unit.pdf_certs import self_signed
from tests.unit.pdf_text import page_count, pdf_text
from tests.unit.test_pdf_signing import validate
from workers.jobs import refresh_workspace
from workers.jobs import reports as report_jobs
from workers.jobs.reports import Artifact, render_report
from workers.runtime.failures import MAX_RETRIES
from workers.settings import SigningSettings, get_settings
from workers.tasks.base import close_runs_of_killed_task, hard_limit_message

UNSIGNED = SigningSettings()


def one(conn: Conn, sql: str, *args: object) -> int:
    row = conn.execute(sql, args).fetchone()
    assert row is not None
    return int(row[0])


def test_a_project_report_prints_what_its_requests_cost(db_conn: Conn) -> None:
    scene = make_report_scene(db_conn)
    request = insert_request(db_conn, scene.workspace_id, "project", scene.project_id)
    outcome = render_report(db_conn, request, signing=UNSIGNED)
    status, error, pdf, sha256, pages, signed = report_row(db_conn, request, scene.workspace_id) or ()
    assert (status, error, signed) == ("succeeded", None, False) and outcome["sha256"] == sha256
    pdf = bytes(pdf)
    assert hashlib.sha256(pdf).hexdigest() == sha256 and pages == page_count(pdf)
    text = pdf_text(pdf)
    # the figures, worked out from the requests the scene sent (project 0 sends on even hours)
    total = scene.spend(PERIOD_START, PERIOD_END, project=0)
    assert total > 0 and f"{money(total)} spend in the period" in text
    models = sorted(((scene.spend(PERIOD_START, PERIOD_END, project=0, model=m), m)
                     for m in {s.model for s in scene.sent}), reverse=True)
    for (_, model), shown in zip(models, money_column([nanos for nanos, _ in models]), strict=True):
        assert f"{model} " in text and f" {shown} " in text
    devices = sorted(((scene.spend(PERIOD_START, PERIOD_END, project=0, device=d), d) for d in range(3)), reverse=True)
    for (_, device), shown in zip(devices, money_column([nanos for nanos, _ in devices]), strict=True):
        assert f"dev-{device} " in text and f" {shown} " in text
    assert f"total {sum(1 for s in scene.sent if s.project == 0 and s.started_at.date() >= PERIOD_START)}" in text
    assert "alice@example.com" in text and "$120.00" in text  # owner; hourly rate
    assert "Recommendation open 0" in text and f"{money(45_000_000_000)}/month" in text and "dismissed" not in text
    assert "rates version test" in text
    audit = db_conn.execute("select actor, event, resource, details from analysis.audit_events").fetchall()
    assert len(audit) == 1 and audit[0][1] == "report.rendered" and audit[0][2] == f"report_request:{request}"
    assert audit[0][3]["requested_by"] == "carol@example.com" and audit[0][3]["sha256"] == sha256
    assert db_conn.execute("select job, status from analysis.runs where job = 'report'").fetchall() == [
        ("report", "succeeded")]
    # the report brought the rollup up to date first, with a run of its own under the rollup's lock, which says
    # which report it was for (the nightly's do not) and leaves the pruning of old runs to the nightly
    assert db_conn.execute("""select status, stats->'for_report', stats ? 'runs_pruned' from analysis.runs
                              where job = 'rollup' and as_of > %s""", (AS_OF,)).fetchall() == [
        ("succeeded", request, False)]
    assert db_conn.execute("""select count(*) from analysis.runs
                              where job = 'rollup' and as_of = %s and not stats ? 'for_report'""",
                           (AS_OF,)).fetchone() == (1,)


def test_the_reports_total_counts_two_swaps_of_one_model_once(db_conn: Conn) -> None:
    scene = make_report_scene(db_conn)  # two open quotes already: $45.00 and $12.35
    for check_id, target, saving in (("model-downgrade", "claude-haiku-4-5", 30_000_000_000),
                                     ("legacy-model", "claude-sonnet-5", 20_000_000_000)):
        db_conn.execute(
            """insert into analysis.recommendations (workspace_id, fingerprint, check_id, project_id, title, rationale,
                   recurrence, impact_nanos, monthly_saving_nanos, confidence, request_count, sample_request_ids,
                   evidence, status, first_seen_at, last_seen_at, run_id)
               values (%s, %s, %s, %s, %s, 'why', 'monthly', %s, %s, 'high', 10, '{}', '{}', 'open', now(), now(),
                       0)""",
            (scene.workspace_id, f"{check_id}:{scene.project_id}:claude-sonnet-4-6->{target}", check_id,
             scene.project_id, f"Swap to {target}", saving, saving))
    request = insert_request(db_conn, scene.workspace_id, "project", scene.project_id)
    render_report(db_conn, request, signing=UNSIGNED)
    row = report_row(db_conn, request, scene.workspace_id)
    assert row is not None
    text = " ".join(pdf_text(bytes(row[2])).split())
    total = 45_000_000_000 + 12_345_678_901 + 30_000_000_000
    assert (f"monthly savings of {money(total)} a month taken together (not the "
            f"{money(total + 20_000_000_000)} their quotes add up to") in text


def test_the_projects_monthly_savings_are_combined_as_the_catalog_combines_them(db_conn: Conn) -> None:
    scene = make_report_scene(db_conn)  # open: fp-0 $45.00 and fp-1 $12.35 a month, both on project 0
    # the latest catalog run: both levers touch the same requests; taken together they save $50.00 in its
    # 15 days, $100.00 a month, which is more than their quotes: the headline is never above their sum
    db_conn.execute("delete from analysis.catalog_combinations where workspace_id = %s", (scene.workspace_id,))
    db_conn.execute(
        """insert into analysis.catalog_combinations (workspace_id, project_id, model, fingerprints,
               subset_savings_nanos, run_id)
           values (%s, %s, 'claude-sonnet-4-6', '{fp-0,fp-1}', '{0,45000000000,12345678901,50000000000}', 0),
                  (%s, %s, 'gpt-5-mini', '{fp-1}', '{0,9000000000}', 0)""",  # another project's: not this one's
        (scene.workspace_id, scene.project_id, scene.workspace_id, scene.scene.project_ids[1]))
    db_conn.execute(
        """insert into analysis.catalog_summary (workspace_id, run_id, computed_at, open_recommendations,
               monthly_saving_nanos, one_off_nanos, anomaly_nanos, days_observed)
           values (%s, 0, now(), 2, 0, 0, 0, 15)
           on conflict (workspace_id) do update set days_observed = excluded.days_observed""", (scene.workspace_id,))
    request = insert_request(db_conn, scene.workspace_id, "project", scene.project_id)
    render_report(db_conn, request, signing=UNSIGNED)
    row = report_row(db_conn, request, scene.workspace_id)
    assert row is not None
    text = " ".join(pdf_text(bytes(row[2])).split())
    assert f"monthly savings of {money(45_000_000_000 + 12_345_678_901)} a month taken together." in text
    db_conn.execute("update analysis.catalog_summary set days_observed = 30")  # the run saw a whole month
    render_report(db_conn, request, signing=UNSIGNED, force=True)
    row = report_row(db_conn, request, scene.workspace_id)
    assert row is not None
    text = " ".join(pdf_text(bytes(row[2])).split())
    assert ("monthly savings of $50.00 a month taken together (not the $57.35 their quotes add up to: levers on "
            "the same requests are not added)") in text


def test_rendering_the_same_request_again_gives_the_same_bytes(db_conn: Conn) -> None:
    scene = make_report_scene(db_conn)
    request = insert_request(db_conn, scene.workspace_id, "project", scene.project_id)
    first = render_report(db_conn, request, signing=UNSIGNED)["sha256"]
    assert render_report(db_conn, request, signing=UNSIGNED, force=True)["sha256"] == first
    assert one(db_conn, "select count(*) from analysis.reports") == 1


def test_the_executive_summary_is_signed_and_holds_the_tables_figures(db_conn: Conn, tmp_path: Path) -> None:
    scene = make_report_scene(db_conn)
    cert = self_signed(tmp_path)
    signing = SigningSettings(signing_cert=cert.cert, signing_key=cert.key)
    request = insert_request(db_conn, scene.workspace_id, "executive", None)
    first = render_report(db_conn, request, signing=signing)
    status, _error, pdf, _sha, _pages, signed = report_row(db_conn, request, scene.workspace_id) or ()
    assert status == "succeeded" and signed is True
    assert validate(bytes(pdf), cert) == (True, True)
    again = render_report(db_conn, request, signing=signing, force=True)  # re-rendered: signing time is requested_at
    assert again["sha256"] == first["sha256"]
    text = pdf_text(bytes(pdf))
    month = scene.spend(PERIOD_START, PERIOD_END)  # 1 to 19 November, the period's month to date
    requests = sum(1 for s in scene.sent if PERIOD_START <= s.started_at.date() < PERIOD_END)
    assert f"This month 01 Nov 2026 – 19 Nov 2026 {requests} {money(month)}" in text
    # the top projects and the rest of the period's spend, rows that add up to the period's total
    by_project = sorted(((nanos, p) for p in (0, 1) if (nanos := scene.spend(PERIOD_START, PERIOD_END, project=p))),
                        reverse=True)
    for (_, project), shown in zip(by_project, money_column([nanos for nanos, _ in by_project]), strict=True):
        assert f"Project {project} acme-p{project} {shown}" in text
    assert f"total {money(month)} 100.0 %" in text
    # October has no data before the 22nd: no comparison with 1 to 19 October, rather than "−100 %"
    assert "Change, this month to date against the same days of last month: no data before 22 Oct 2026." in text
    # reconciliation: logged, billed, the variance (logged − billed), the variance against the bill with its
    # sign (-$1.00 / $101.00), the band
    assert "anthropic November 2026 $100.00 $101.00 -$1.00 -0.99 % amber" in text
    assert "October 2026 1 $20.00" in text  # realised savings
    assert "Since October 2026, 1 accepted recommendation saved $20.00 in all." in text
    assert "Taken together, the monthly ones save" in text  # the scene's catalog run: its headline
    assert f"{REQUESTED_AT:%Y-%m-%d %H:%M} UTC" in text


def test_require_signed_without_a_certificate_fails_saying_what_to_set(db_conn: Conn,
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    """The operator reads which settings to set (the command's error, the log under the reference); the
    customer reads a sentence without setting names, and the reference."""
    scene = make_report_scene(db_conn)
    request = insert_request(db_conn, scene.workspace_id, "executive", None)
    with pytest.raises(ConfigError, match="HALTON_SIGNING_CERT"):
        render_report(db_conn, request, signing=SigningSettings(require_signed=True))
    status, error, pdf, *_ = report_row(db_conn, request, scene.workspace_id) or ()
    assert status == "failed" and error == NOT_CONFIGURED and pdf is None
    [(ref, run_ref)] = db_conn.execute("""select r.error_ref, (select error_ref from analysis.runs where job = 'report')
                                            from analysis.reports r""").fetchall()
    assert ref == run_ref, "the report and its run quote one reference"
    assert "HALTON_SIGNING_CERT and HALTON_SIGNING_KEY" in logged_failure(caplog, ref)
    assert db_conn.execute("select event from analysis.audit_events").fetchall() == [("report.failed",)]


def test_without_a_certificate_the_summary_is_unsigned_and_says_so(db_conn: Conn) -> None:
    scene = make_report_scene(db_conn)
    request = insert_request(db_conn, scene.workspace_id, "executive", None)
    render_report(db_conn, request, signing=UNSIGNED)
    _status, _error, pdf, _sha, _pages, signed = report_row(db_conn, request, scene.workspace_id) or ()
    assert signed is False and "NOT SIGNED" in pdf_text(bytes(pdf))


@pytest.mark.parametrize(("start", "end", "message"), [
    (date(2026, 11, 10), date(2026, 11, 1), "ends (2026-10-31) before it starts (2026-11-10)"),
    (date(2024, 1, 1), date(2026, 11, 1), "longer than 2 years"),
])
def test_impossible_periods_fail_the_report_with_a_clear_message(db_conn: Conn, start: date, end: date,
                                                                 message: str) -> None:
    scene = make_report_scene(db_conn)
    request = insert_request(db_conn, scene.workspace_id, "project", scene.project_id, start, end)
    with pytest.raises(UserError):
        render_report(db_conn, request, signing=UNSIGNED)
    status, error, *_ = report_row(db_conn, request, scene.workspace_id) or ()
    assert status == "failed" and message in error


def test_a_project_of_another_workspace_is_refused(db_conn: Conn) -> None:
    scene = make_report_scene(db_conn)
    request = insert_request(db_conn, scene.workspace_id, "project", scene.other_workspace_project)
    with pytest.raises(UserError, match="not a project of this workspace"):
        render_report(db_conn, request, signing=UNSIGNED)
    assert (report_row(db_conn, request, scene.workspace_id) or ())[0] == "failed"


def test_an_empty_period_renders_a_report_saying_no_traffic(db_conn: Conn) -> None:
    scene = make_report_scene(db_conn)
    request = insert_request(db_conn, scene.workspace_id, "project", scene.project_id, date(2025, 3, 1),
                             date(2025, 4, 1))
    render_report(db_conn, request, signing=UNSIGNED)
    _status, _error, pdf, *_ = report_row(db_conn, request, scene.workspace_id) or ()
    text = pdf_text(bytes(pdf))
    assert "No traffic" in text and "$0.00" in text


def give_up_deliveries(conn: Conn, workspace_id: int, request: int, task_id: str) -> None:
    """Three deliveries of the task that died mid-run, as store.claims counts them."""
    spec = RunSpec(job="report", workspace_id=workspace_id, as_of=REQUESTED_AT, lock_scope=f"request:{request}",
                   task_id=task_id)
    for _ in range(MAX_ABANDONED_DELIVERIES):
        conn.execute(
            """insert into analysis.runs (workspace_id, job, status, started_at, finished_at, as_of, task_id,
                   lock_scope, lock_key, failure_kind, error)
               values (%s, 'report', 'failed', now(), now(), %s, %s, %s, %s, 'abandoned', 'abandoned')""",
            (workspace_id, REQUESTED_AT, task_id, spec.lock_scope, spec.lock_key()))


def test_a_given_up_delivery_fails_the_report_with_a_message_saying_what_to_do(db_conn: Conn) -> None:
    scene = make_report_scene(db_conn)
    request = insert_request(db_conn, scene.workspace_id, "project", scene.project_id)
    give_up_deliveries(db_conn, scene.workspace_id, request, "t-dying")
    with pytest.raises(GiveUpError):
        render_report(db_conn, request, task_id="t-dying", signing=UNSIGNED)
    status, error, pdf, *_ = report_row(db_conn, request, scene.workspace_id) or ()
    assert status == "failed" and pdf is None
    assert "given up" in error and f"halton-workers report --request {request}" in error
    assert db_conn.execute("select event from analysis.audit_events").fetchall() == [("report.failed",)]


def test_a_hard_time_limit_fails_the_report_as_well_as_its_run(db_conn: Conn, database_url: str,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    scene = make_report_scene(db_conn)
    request = insert_request(db_conn, scene.workspace_id, "project", scene.project_id)
    spec = RunSpec(job="report", workspace_id=scene.workspace_id, as_of=REQUESTED_AT, lock_scope=f"request:{request}",
                   task_id="t-killed")
    claims.open_run(db_conn, spec)  # what the killed child left: a running run and a running report
    report_writes.mark_running(db_conn, request, scene.workspace_id)
    closed = close_runs_of_killed_task(db_conn, "t-killed", hard_limit_message(600))
    # the task as the worker has it, made here with the worker's settings in the environment: a task made
    # while pytest collects is annotated before any test set them, and every task of the app made then stays
    # without its time limits for the whole run
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:9/0")
    get_settings.cache_clear()
    from workers.app.celery import app
    from workers.tasks.reports import ReportTask

    app.loader.import_default_modules()
    render_report_task = app.tasks["halton.render_report"]
    assert isinstance(render_report_task, ReportTask)

    render_report_task.after_hard_limit(db_conn, closed, {"request_id": request})  # the report task's hook
    get_settings.cache_clear()
    status, error, *_ = report_row(db_conn, request, scene.workspace_id) or ()
    assert status == "failed" and error.startswith("hard time limit")
    assert db_conn.execute("select status, failure_kind, error like 'hard time limit (600s) exceeded%'"
                           " from analysis.runs where job = 'report'").fetchall() == [("failed", "timeout", True)]


def test_a_redelivery_of_a_rendered_request_returns_the_stored_report_without_rendering(
        db_conn: Conn, monkeypatch: pytest.MonkeyPatch) -> None:
    scene = make_report_scene(db_conn)
    request = insert_request(db_conn, scene.workspace_id, "project", scene.project_id)
    first = render_report(db_conn, request, signing=UNSIGNED)
    before = report_row(db_conn, request, scene.workspace_id)

    def must_not_render(*_args: object, **_kwargs: object) -> Artifact:
        raise AssertionError("a rendered request was rendered again")

    monkeypatch.setattr(report_jobs, "build_artifact", must_not_render)
    again = render_report(db_conn, request, signing=UNSIGNED)
    assert again["status"] == "succeeded" and again["sha256"] == first["sha256"] and again["pages"] == first["pages"]
    assert report_row(db_conn, request, scene.workspace_id) == before
    assert one(db_conn, "select count(*) from analysis.runs where job = 'report'") == 1


def test_a_failed_forced_rerender_keeps_the_good_pdf(db_conn: Conn, monkeypatch: pytest.MonkeyPatch,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    scene = make_report_scene(db_conn)
    request = insert_request(db_conn, scene.workspace_id, "project", scene.project_id)
    render_report(db_conn, request, signing=UNSIGNED)
    good = report_row(db_conn, request, scene.workspace_id)
    assert good is not None and good[0] == "succeeded"

    def broken_while_the_pdf_is_still_shown(*_args: object, **_kwargs: object) -> Artifact:
        assert report_row(db_conn, request, scene.workspace_id) == good  # nothing nulled while rendering
        raise RuntimeError("the renderer crashed")

    monkeypatch.setattr(report_jobs, "build_artifact", broken_while_the_pdf_is_still_shown)
    with pytest.raises(RuntimeError, match="the renderer crashed"):
        render_report(db_conn, request, signing=UNSIGNED, force=True)
    assert report_row(db_conn, request, scene.workspace_id) == good
    runs = db_conn.execute("select status, error, error_ref from analysis.runs where job = 'report' order by id"
                           ).fetchall()
    assert runs[0] == ("succeeded", None, None) and runs[1][:2] == ("failed", FAULT_OF_OURS)
    assert "RuntimeError: the renderer crashed" in logged_failure(caplog, runs[1][2])


def test_report_rows_are_read_within_their_workspace(db_conn: Conn) -> None:
    scene = make_report_scene(db_conn)
    request = insert_request(db_conn, scene.workspace_id, "project", scene.project_id)
    render_report(db_conn, request, signing=UNSIGNED)
    assert report_row(db_conn, request, scene.workspace_id) is not None
    assert report_row(db_conn, request, scene.workspace_id + 1000) is None


def test_the_top_project_is_the_one_that_spent_most_in_the_period(db_conn: Conn) -> None:
    scene = make_report_scene(db_conn)
    spent = sorted(((scene.spend(PERIOD_START, PERIOD_END, project=p), p) for p in (0, 1)), reverse=True)
    assert spent[0][0] > spent[1][0]
    assert top_project(db_conn, scene.workspace_id, PERIOD_START, PERIOD_END) == scene.scene.project_ids[spent[0][1]]
    assert top_project(db_conn, scene.workspace_id, date(2025, 3, 1), date(2025, 4, 1)) is None


def test_a_transient_failure_on_the_last_retry_fails_the_report(db_conn: Conn, monkeypatch: pytest.MonkeyPatch) -> None:
    scene = make_report_scene(db_conn)
    request = insert_request(db_conn, scene.workspace_id, "project", scene.project_id)

    def provider_down(*_args: object, **_kwargs: object) -> Artifact:
        raise TransientError("the database is failing over")

    monkeypatch.setattr(report_jobs, "build_artifact", provider_down)
    with pytest.raises(TransientError):
        render_report(db_conn, request, signing=UNSIGNED, attempt=0)
    status, error, *_ = report_row(db_conn, request, scene.workspace_id) or ()
    assert status == "running" and error == "retrying after: the database is failing over"  # a retry follows
    with pytest.raises(TransientError):
        render_report(db_conn, request, signing=UNSIGNED, attempt=MAX_RETRIES)
    status, error, *_ = report_row(db_conn, request, scene.workspace_id) or ()
    assert status == "failed" and error == "the database is failing over"


def test_a_request_for_a_period_starting_after_today_fails_saying_so(db_conn: Conn) -> None:
    scene = make_report_scene(db_conn)
    start = date.today() + timedelta(days=2)
    request = insert_request(db_conn, scene.workspace_id, "project", scene.project_id, start, start + timedelta(days=7))
    with pytest.raises(UserError, match="starts after today"):
        render_report(db_conn, request, signing=UNSIGNED)
    status, error, *_ = report_row(db_conn, request, scene.workspace_id) or ()
    assert status == "failed" and "starts after today" in error


def test_unattributed_spend_counts_in_the_summary_but_is_no_top_project(db_conn: Conn) -> None:
    """Rows the daemon could not attribute (project_id null) are part of the workspace's spend; the
    summary must render with them and never rank them as a project."""
    scene = make_report_scene(db_conn)
    scene.add(db_conn, datetime(2026, 11, 5, 12, tzinfo=UTC), project=None,
              cost_nanos=900_000_000_000,  # more than any project spent
              synced_at=AS_OF + timedelta(minutes=30))  # a late row: the next refresh rolls it up
    refresh_workspace(db_conn, scene.workspace_id, AS_OF + timedelta(hours=1))
    assert one(db_conn, "select count(*) from analysis.daily_spend where project_id is null") == 1
    request = insert_request(db_conn, scene.workspace_id, "executive", None)
    render_report(db_conn, request, signing=UNSIGNED)
    status, error, pdf, _sha, _pages, _signed = report_row(db_conn, request, scene.workspace_id) or ()
    assert (status, error) == ("succeeded", None)
    text = pdf_text(bytes(pdf))
    total = scene.spend(PERIOD_START, PERIOD_END)
    assert total > 900_000_000_000 and money(total) in text
    projects = text.split("TOP PROJECTS")[-1].split("The period's spend")[0]
    assert "not attributed to a project $900.00" in projects and f"total {money(total)} 100.0 %" in projects
    assert not any(f"{name} $900.00" in projects for name in ("Project 0", "Project 1"))
