"""The report job: a pending meter.report_requests row → a PDF in analysis.reports.

Bring the rollup up to date (the rollup stage, under its own lock) → in one snapshot, check it covers every
day the report reads and read (store.report_snapshot) → render (pdf/, pure) → sign when configured (executive
summary) → write the PDF, what it counts, the run and an audit event in one transaction. The command line
renders through the same `build_artifact`, so a file made there is the file the worker would store."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg

from core.db import Conn
from core.errors import ConfigError, GiveUpError, JobBusy, UserError, present
from core.periods import history_start, utc_midnight
from pdf.model import ExecutiveData, ProjectReportData, Signature
from pdf.periods import Period, refuse_before_history, refuse_future
from pdf.render import RenderedPdf, render_executive, render_project
from pdf.signing import SigningFiles, load_signer, sign_pdf, signer_name
from store import report_reads, report_snapshot, report_writes
from store.audit import audit
from store.report_coverage import CountedScope, RollupNotCurrent
from store.report_reads import ReportRequest
from store.runs import RunSpec, claimed_run, customer_failure, log_failure
from workers.jobs import refresh_workspace, worker_name
from workers.runtime.failures import MAX_RETRIES, is_transient
from workers.runtime.logs import bind_context
from workers.settings import SigningSettings, get_report_settings, get_signing_settings, rollup_settings

log = logging.getLogger(__name__)

REQUIRE_SIGNED_MESSAGE = ("HALTON_REQUIRE_SIGNED is set but no signing certificate is configured: set "
                          "HALTON_SIGNING_CERT and HALTON_SIGNING_KEY to the PEM certificate and key "
                          "(HALTON_SIGNING_CHAIN optional), or unset HALTON_REQUIRE_SIGNED to allow unsigned summaries")


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


def bring_rollup_up_to_date(conn: Conn, request: ReportRequest, now: datetime, task_id: str | None = None,
                            attempt: int = 0) -> None:
    """Run the rollup stage as of `now`, as the nightly refresh does (its own run row and lock), so the
    report counts every request received until now; JobBusy (retried) while another rollup of the
    workspace runs."""
    try:
        refresh_workspace(conn, request.workspace_id, now, task_id=task_id, attempt=attempt, stage="rollup",
                          for_report=request.id if request.id is not None else request.requested_by)
    except JobBusy as error:
        raise JobBusy(f"the report waits for the daily rollup: {error}") from error
    except Exception as error:
        if is_transient(error):
            raise
        if isinstance(error, UserError):  # something a person must fix: the report fails as theirs to fix
            raise UserError(f"the daily rollup could not be brought up to date: {error}") from error
        ref = log_failure(f"the rollup before report request {request.id}", error)  # the details, for us
        not_current = RollupNotCurrent("the daily rollup could not be brought up to date, so the report was not "
                                       "rendered: its figures would miss requests; it is tried again at the next "
                                       "schedule")
        not_current.halton_ref = ref  # type: ignore[attr-defined]  # one failure, one reference
        raise not_current from error


def bring_forecast_up_to_date(conn: Conn, request: ReportRequest, now: datetime, task_id: str | None = None,
                              attempt: int = 0) -> None:
    """The forecast stage as of `now` (issue 17), so the summary's month-end forecast counts today so far. Its
    failure does not stop the summary: the forecast of the latest refresh or pulse is printed with its moment,
    and the failed run says why (the log line carries the traceback for Sentry)."""
    try:
        refresh_workspace(conn, request.workspace_id, now, task_id=task_id, attempt=attempt, stage="forecast",
                          for_report=request.id if request.id is not None else request.requested_by)
    except Exception as error:
        if is_transient(error) or isinstance(error, JobBusy):
            raise
        log.error("the month-end forecast could not be brought up to date for report %s; the summary shows the "
                  "latest one", request.id, exc_info=error)


def build_artifact(conn: Conn, request: ReportRequest, signing: SigningSettings, *, task_id: str | None = None,
                   attempt: int = 0, docs_base_url: str | None = None, now: datetime | None = None) -> Artifact:
    asked = request.period()  # UserError: reversed, or longer than two years
    now = now or datetime.now(UTC).replace(microsecond=0)  # the build's one moment: every check and the rollup
    refuse_future(asked, now.date())
    _refuse_before_rollup_history(asked, request.kind, now)
    if request.kind == "project" and request.project_id is None:
        raise UserError("a project report needs a project; the request names none")
    bring_rollup_up_to_date(conn, request, now, task_id, attempt)
    if request.kind == "executive":
        bring_forecast_up_to_date(conn, request, now, task_id, attempt)
    reading = report_snapshot.read_report(conn, request, asked, now)
    period, counted = reading.period, reading.counted
    docs = docs_base_url if docs_base_url is not None else get_report_settings().docs_base_url
    if isinstance(reading.data, ProjectReportData):
        rendered = render_project(reading.data, docs)
        return _artifact("project", rendered, rendered.pdf, signed=False, counted=counted)
    executive: ExecutiveData = reading.data
    if not signing.configured:
        if signing.require_signed:
            raise ConfigError(REQUIRE_SIGNED_MESSAGE)
        rendered = render_executive(executive, Signature(signer=None, signing_time=None), docs)
        return _artifact("executive", rendered, rendered.pdf, signed=False, counted=counted)
    signer = load_signer(SigningFiles(present(signing.signing_cert, "the signing certificate"),
                                      present(signing.signing_key, "the signing key"), signing.signing_chain))
    moment = signing_time_for(request)
    reason = f"Halton Meter executive summary of {executive.branding.workspace_slug}, {period.label()}"
    rendered = render_executive(executive, Signature(signer=signer_name(signer), signing_time=moment, reason=reason),
                                docs)
    return _artifact("executive", rendered, sign_pdf(rendered.pdf, signer, moment, reason), signed=True,
                     counted=counted)


def _refuse_before_rollup_history(period: Period, kind: str, now: datetime) -> None:
    years = rollup_settings().history_years
    refuse_before_history(period, kind, history_start(now.date(), years),
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
    request_id = present(request.id, "a stored request's id")
    with claimed_run(conn, spec) as run, bind_context(run=run.id, report_request=request_id):
        report_writes.mark_running(conn, request_id, request.workspace_id)
        artifact = build_artifact(conn, request, signing, task_id=spec.task_id, attempt=spec.attempt)
        with run.results() as tx:
            report_writes.record_success(tx, request_id, request.workspace_id, artifact.pdf, artifact.sha256,
                                         artifact.pages, artifact.signed)
            if artifact.counted is not None:
                report_writes.record_counted(tx, request_id, request.workspace_id, artifact.counted,
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
    message = customer_failure(error)
    if isinstance(error, GiveUpError):
        message = (f"{message}; or render it by hand with `halton-workers report --request {request_id}` "
                   "to see the error")
    return message


def _record_failure(conn: Conn, request: ReportRequest, error: BaseException, final: bool) -> None:
    """The report row says what went wrong; a transient failure leaves it 'running' for the retry, unless
    this was the last retry."""
    request_id = present(request.id, "a stored request's id")
    message = failure_message(request_id, error)
    ref = log_failure(f"report request {request_id}", error)  # once: the run's failure may have logged it
    try:
        if is_transient(error) and not final:
            report_writes.note_retrying(conn, request_id, request.workspace_id, message, ref)
            return
        with conn.transaction():
            report_writes.record_failure(conn, request_id, request.workspace_id, message, ref)
            audit(conn, request.workspace_id, worker_name(), "report.failed", f"report_request:{request_id}",
                  _details(request, error=message, error_ref=ref))
    except psycopg.Error:  # the connection itself failed: the run row still records the failure
        log.warning("could not record the failure of report request %s", request.id, exc_info=True)

