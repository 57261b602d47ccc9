"""The report job: a pending meter.report_requests row → a PDF in analysis.reports.

Bring the rollup up to date (the rollup stage, under its own lock) → check it covers every day the report
reads → read (store.report_reads) → render (pdf/, pure) → sign when configured (executive summary) → write
the PDF, what it counts, the run and an audit event in one transaction. The command line renders through
the same `build_artifact`, so a file made there is the file the worker would store."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg

from core.db import Conn
from core.errors import ConfigError, FleetError, GiveUpError, JobBusy, UserError
from core.periods import history_start, utc_midnight
from pdf.model import Counting, Signature
from pdf.periods import Period, refuse_before_history, refuse_future
from pdf.render import RenderedPdf, render_executive, render_project
from pdf.signing import SigningFiles, load_signer, sign_pdf, signer_name
from store import report_coverage, report_reads, report_writes
from store.audit import audit
from store.report_reads import ReportRequest
from store.runs import RunSpec, claimed_run, describe_failure
from workers.failures import MAX_RETRIES, is_transient
from workers.jobs import refresh_workspace, worker_name
from workers.logs import bind_context
from workers.settings import SigningSettings, get_report_settings, get_signing_settings, rollup_settings

log = logging.getLogger(__name__)

REQUIRE_SIGNED_MESSAGE = ("HALTON_REQUIRE_SIGNED is set but no signing certificate is configured: set "
                          "HALTON_SIGNING_CERT and HALTON_SIGNING_KEY to the PEM certificate and key "
                          "(HALTON_SIGNING_CHAIN optional), or unset HALTON_REQUIRE_SIGNED to allow unsigned summaries")


class RollupNotCurrent(FleetError):
    """The rollup could not be brought up to date, so a report would print figures it does not have."""


@dataclass(frozen=True)
class CountedScope:
    """What the stored report counts, for analysis.report_freshness: the requests of [first_day, end_day)
    received by `through`. end_day is the end of the period as asked, so requests of a day the report
    could not count yet (today) make it one to re-render."""

    through: datetime
    first_day: date
    end_day: date


@dataclass(frozen=True)
class Artifact:
    kind: str
    pdf: bytes
    sha256: str
    pages: int
    signed: bool
    refused_urls: tuple[str, ...] = ()
    counted: CountedScope | None = None


def signing_time_for(request: ReportRequest) -> datetime:
    """The moment the report was asked for: fixed per request, so a re-render gives the same bytes."""
    return request.requested_at.astimezone(UTC).replace(microsecond=0)


def bring_rollup_up_to_date(conn: Conn, workspace_id: int, now: datetime, task_id: str | None = None,
                            attempt: int = 0) -> report_coverage.RollupCoverage:
    """Run the rollup stage as of `now`, as the nightly refresh does (its own run row and lock), so the
    report counts every request received until now; JobBusy (retried) while another rollup of the
    workspace runs."""
    try:
        refresh_workspace(conn, workspace_id, now, task_id=task_id, attempt=attempt, stage="rollup")
    except JobBusy as error:
        raise JobBusy(f"the report waits for the daily rollup: {error}") from error
    except Exception as error:
        if is_transient(error):
            raise
        if isinstance(error, UserError):  # something a person must fix: the report fails as theirs to fix
            raise UserError(f"the daily rollup could not be brought up to date: {error}") from error
        raise RollupNotCurrent(f"the daily rollup could not be brought up to date ({describe_failure(error)}), so "
                               "the report was not rendered: its figures would miss requests") from error
    coverage = report_coverage.rollup_coverage(conn, workspace_id)
    if coverage is None:
        raise RollupNotCurrent("the daily rollup has no state after its refresh; the report was not rendered")
    return coverage


def counted_period(asked: Period, coverage: report_coverage.RollupCoverage) -> Period:
    """The period the figures can cover: the period asked, up to the last whole day the rollup has built
    (today is not over)."""
    if asked.end <= coverage.end_day:
        return asked
    if asked.start >= coverage.end_day:
        raise UserError(f"the period {asked.start} to {asked.last_day} has no whole day yet: the rollup counts "
                        f"whole UTC days, up to {coverage.end_day - timedelta(days=1)} now; ask again after "
                        "midnight UTC")
    return Period(asked.start, coverage.end_day)


def build_artifact(conn: Conn, request: ReportRequest, signing: SigningSettings, *, task_id: str | None = None,
                   attempt: int = 0, docs_base_url: str | None = None) -> Artifact:
    asked = request.period()  # UserError: reversed, or longer than two years
    now = datetime.now(UTC).replace(microsecond=0)
    refuse_future(asked, now.date())
    _refuse_before_rollup_history(asked, request.kind)
    if request.kind == "project" and request.project_id is None:
        raise UserError("a project report needs a project; the request names none")
    coverage = bring_rollup_up_to_date(conn, request.workspace_id, now, task_id, attempt)
    period = counted_period(asked, coverage)
    first, end = (report_reads.project_days_read(period) if request.kind == "project"
                  else report_reads.executive_days_read(period))
    report_coverage.refuse_uncovered(conn, request.workspace_id, coverage, first, end)
    through = report_coverage.counted_through(conn, request.workspace_id, first, end, coverage.synced_through)
    counting = Counting(through=through, first_day=report_coverage.first_request_day(conn, request.workspace_id),
                        asked_end=asked.end if period != asked else None)
    # what the stored report counts: a moment of the data when it counted any, else the rollup's own
    counted = CountedScope(through or coverage.synced_through, first, asked.end)
    docs = docs_base_url if docs_base_url is not None else get_report_settings().docs_base_url
    if request.kind == "project":
        assert request.project_id is not None
        data = report_reads.project_report_data(conn, request.workspace_id, request.project_id, period, counting)
        rendered = render_project(data, docs)
        return _artifact("project", rendered, rendered.pdf, signed=False, counted=counted)
    executive = report_reads.executive_data(conn, request.workspace_id, period, counting)
    if not signing.configured:
        if signing.require_signed:
            raise ConfigError(REQUIRE_SIGNED_MESSAGE)
        rendered = render_executive(executive, Signature(signer=None, signing_time=None), docs)
        return _artifact("executive", rendered, rendered.pdf, signed=False, counted=counted)
    assert signing.signing_cert is not None and signing.signing_key is not None
    signer = load_signer(SigningFiles(signing.signing_cert, signing.signing_key, signing.signing_chain))
    moment = signing_time_for(request)
    reason = f"Halton Meter executive summary of {executive.branding.workspace_slug}, {period.label()}"
    rendered = render_executive(executive, Signature(signer=signer_name(signer), signing_time=moment, reason=reason),
                                docs)
    return _artifact("executive", rendered, sign_pdf(rendered.pdf, signer, moment, reason), signed=True,
                     counted=counted)


def _refuse_before_rollup_history(period: Period, kind: str) -> None:
    years = rollup_settings().history_years
    refuse_before_history(period, kind, history_start(datetime.now(UTC).date(), years),
                          f"HALTON_ROLLUP_HISTORY_YEARS={years} calendar years before this one")


def _artifact(kind: str, rendered: RenderedPdf, pdf: bytes, signed: bool, counted: CountedScope) -> Artifact:
    return Artifact(kind, pdf, hashlib.sha256(pdf).hexdigest(), rendered.pages, signed, rendered.refused_urls,
                    counted)


def render_report(conn: Conn, request_id: int, task_id: str | None = None, attempt: int = 0,
                  signing: SigningSettings | None = None, force: bool = False) -> dict[str, Any]:
    """Render one request into analysis.reports. A request whose report already succeeded is not rendered
    again (the same request over the same data gives the same bytes): its stored outcome is returned,
    unless `force` asks for a re-render, which replaces the PDF only when it succeeds."""
    request = report_reads.report_request(conn, request_id)  # a missing request: a user error, no run row
    done = None if force else report_writes.succeeded_report(conn, request_id, request.workspace_id)
    if done is not None:
        sha256, pages, signed = done
        log.info("report %s already rendered; returning the stored one", request_id)
        return {"job": "report", "request_id": request_id, "workspace_id": request.workspace_id,
                "status": "succeeded", "run_id": None, "sha256": sha256, "pages": pages, "signed": signed,
                "unchanged": True}
    spec = RunSpec(job="report", workspace_id=request.workspace_id, as_of=request.requested_at,
                   window_start=utc_midnight(request.period_start), window_end=utc_midnight(request.period_end),
                   lock_scope=report_writes.request_scope(request_id), task_id=task_id, worker=worker_name(),
                   attempt=attempt)
    try:
        return _render_claimed(conn, request, spec, signing if signing is not None else get_signing_settings())
    except Exception as error:  # anything, the claim's own refusals included: the report must not stay 'running'
        _record_failure(conn, request, error, final=attempt >= MAX_RETRIES)
        raise


def _render_claimed(conn: Conn, request: ReportRequest, spec: RunSpec, signing: SigningSettings) -> dict[str, Any]:
    assert request.id is not None
    request_id = request.id
    with claimed_run(conn, spec) as run, bind_context(run=run.id, report_request=request_id):
        report_writes.mark_running(conn, request_id, request.workspace_id)
        artifact = build_artifact(conn, request, signing, task_id=spec.task_id, attempt=spec.attempt)
        with run.results() as tx:
            report_writes.record_success(tx, request_id, request.workspace_id, artifact.pdf, artifact.sha256,
                                         artifact.pages, artifact.signed)
            if artifact.counted is not None:
                report_writes.record_counted(tx, request_id, request.workspace_id, artifact.counted.through,
                                             artifact.counted.first_day, artifact.counted.end_day,
                                             request.project_id if request.kind == "project" else None)
            audit(tx, request.workspace_id, worker_name(), "report.rendered", f"report_request:{request_id}",
                  _details(request, sha256=artifact.sha256, pages=artifact.pages, signed=artifact.signed,
                           bytes=len(artifact.pdf)))
            run.stats.update(kind=artifact.kind, pages=artifact.pages, signed=artifact.signed, sha256=artifact.sha256,
                             refused_urls=len(artifact.refused_urls))
        log.info("report %s rendered: %s", request_id, run.stats)
        return {"job": "report", "request_id": request_id, "workspace_id": request.workspace_id,
                "status": "succeeded", "run_id": run.id, "sha256": artifact.sha256, "pages": artifact.pages,
                "signed": artifact.signed}


def _details(request: ReportRequest, **extra: Any) -> dict[str, Any]:
    return {"request_id": request.id, "kind": request.kind, "project_id": request.project_id,
            "period_start": request.period_start.isoformat(), "period_end": request.period_end.isoformat(),
            "requested_by": request.requested_by, **extra}


def failure_message(request_id: int, error: BaseException) -> str:
    """What the report row says: the reason, and for a delivery given up on, how to get the report."""
    message = describe_failure(error)
    if isinstance(error, GiveUpError):
        message = (f"{message}; or render it by hand with `halton-workers report --request {request_id}` "
                   "to see the error")
    return message


def _record_failure(conn: Conn, request: ReportRequest, error: BaseException, final: bool) -> None:
    """The report row says what went wrong; a transient failure leaves it 'running' for the retry, unless
    this was the last retry."""
    assert request.id is not None
    message = failure_message(request.id, error)
    try:
        if is_transient(error) and not final:
            report_writes.note_retrying(conn, request.id, request.workspace_id, message)
            return
        with conn.transaction():
            report_writes.record_failure(conn, request.id, request.workspace_id, message)
            audit(conn, request.workspace_id, worker_name(), "report.failed", f"report_request:{request.id}",
                  _details(request, error=message))
    except psycopg.Error:  # the connection itself failed: the run row still records the failure
        log.warning("could not record the failure of report request %s", request.id, exc_info=True)

