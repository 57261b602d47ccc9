"""One broken check through the real checks stage on a seeded workspace: the other nine checks' findings are
written as a healthy run writes them, the error is in the run's stats, in analysis.check_outcomes and in the
log (an ERROR with the traceback, which Sentry receives), the broken check's earlier recommendation keeps its
state, and the headline says it leaves that check out; the next healthy run clears it all."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest

from checks import CHECKS, CheckInputs, Finding, prompt_caching
from store.check_outcomes import CHECK_FAILED, check_outcomes
from store.recommendations import catalog_summary, read_combination
from synthetic import SeedOptions, seed_workspace
from tests.factories import Conn
from workers.jobs import checks as checks_stage
from workers.jobs.decisions import apply_decisions
from workers.jobs.pipeline import STAGES, run_pipeline

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
BROKEN = "prompt-caching"


def broken(inputs: CheckInputs) -> list[Finding]:
    """prompt-caching handed clusters without a column it reads, as a check meets input it does not expect."""
    return prompt_caching.run(replace(inputs, clusters=inputs.clusters.drop(columns=["kinds"])))


BROKEN_STAGE = replace(checks_stage.STAGE, run=partial(
    checks_stage.run_checks, checks=tuple(replace(c, run=broken) if c.id == BROKEN else c for c in CHECKS)))
WITH_BROKEN_CHECK = tuple(BROKEN_STAGE if stage.name == "checks" else stage for stage in STAGES)


def recommendations(conn: Conn, ws: int) -> dict[str, tuple[Any, ...]]:
    rows = conn.execute("""select fingerprint, check_id, title, rationale, impact_nanos, monthly_saving_nanos,
                                  confidence, request_count, sample_request_ids, evidence, status, present,
                                  last_seen_at
                           from analysis.recommendations where workspace_id = %s""", (ws,)).fetchall()
    return {str(r[0]): r[1:] for r in rows}


def checks_stats(conn: Conn, run_id: int | None) -> dict[str, Any]:
    row = conn.execute("select status, stats from analysis.runs where id = %s", (run_id,)).fetchone()
    assert row is not None and row[0] == "succeeded"
    return dict(row[1])


def test_a_broken_check_leaves_the_other_nine_findings_written_and_its_error_recorded(
        db_conn: Conn, caplog: pytest.LogCaptureFixture) -> None:
    ws = seed_workspace(db_conn, SeedOptions(slug="acme", days=30, requests_per_day=2000,
                                             end_date=AS_OF.date())).workspace_id
    assert run_pipeline(db_conn, ws, AS_OF).status == "succeeded"  # every stage, every check
    earlier = recommendations(db_conn, ws)
    assert {r[0] for r in earlier.values()} == {c.id for c in CHECKS}  # each of the ten checks fired

    later = AS_OF + timedelta(hours=1)
    with caplog.at_level(logging.ERROR, logger="workers.jobs.checks"):
        outcome = run_pipeline(db_conn, ws, later, stages=WITH_BROKEN_CHECK)
    # the stage and the refresh succeed: the savings stage after it ran too
    assert [(s.stage, s.status) for s in outcome.stages] == [
        ("rollup", "succeeded"), ("forecast", "succeeded"), ("clustering", "succeeded"), ("checks", "succeeded"),
        ("savings", "succeeded"), ("alerts", "succeeded")]
    stats = checks_stats(db_conn, outcome.stage("checks").run_id)
    [failed_check] = stats["failed_checks"]
    ref = failed_check["error_ref"]
    assert failed_check == {"check_id": BROKEN, "error": CHECK_FAILED, "error_ref": ref}
    [logged] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert BROKEN in logged.getMessage() and logged.exc_info is not None
    assert f"[{ref}]" in logged.getMessage() and "KeyError: 'kinds'" in logged.getMessage()  # the details
    assert logged.exc_info[0] is KeyError  # the traceback Sentry's logging integration sends
    with_broken = recommendations(db_conn, ws)
    outcomes = {o.check_id: o for o in check_outcomes(db_conn, ws)}
    summary = catalog_summary(db_conn, ws)
    combined = {fp for scope in read_combination(db_conn, ws).scopes for fp in scope.fingerprints}
    apply_decisions(db_conn, ws)  # a decision between runs recomputes the headline: still without it
    decided = catalog_summary(db_conn, ws)

    # the same moment again, every check healthy: what the nine must have written
    assert run_pipeline(db_conn, ws, later, only="checks").status == "succeeded"
    healthy = recommendations(db_conn, ws)
    assert with_broken.keys() == healthy.keys() == earlier.keys()
    for fingerprint, row in with_broken.items():
        if row[0] == BROKEN:  # it said nothing: its recommendation as it was, still present and open
            assert row == earlier[fingerprint] and row[-1] == AS_OF
        else:  # the same finding, figures, samples and evidence as the healthy run of the same moment
            assert row == healthy[fingerprint] and row[-1] == later

    failed = outcomes[BROKEN]
    assert (failed.status, failed.findings, failed.error, failed.error_ref) == ("failed", 0, CHECK_FAILED, ref)
    assert failed.failing_since == later and failed.last_ok_at == AS_OF
    assert outcomes.keys() == {c.id for c in CHECKS}
    assert all(o.status == "ok" and o.findings == 1 and o.last_ok_at == later
               for o in outcomes.values() if o.check_id != BROKEN)
    repaired = {o.check_id: o for o in check_outcomes(db_conn, ws)}[BROKEN]
    assert (repaired.status, repaired.error, repaired.error_ref, repaired.failing_since, repaired.last_ok_at) == (
        "ok", None, None, None, later)

    # the headline says it leaves the broken check out, and every figure of it does
    whole = catalog_summary(db_conn, ws)
    assert summary is not None and decided is not None and whole is not None
    assert summary.failed_checks == decided.failed_checks == (BROKEN,) and whole.failed_checks == ()
    assert summary.open_recommendations == whole.open_recommendations - 1
    assert combined and not any(fp.startswith(f"{BROKEN}:") for fp in combined)
    assert summary.monthly_saving_nanos < whole.monthly_saving_nanos  # prompt-caching's quote is left out
    assert stats["monthly_saving_nanos"] == summary.monthly_saving_nanos == decided.monthly_saving_nanos


def test_every_check_failing_fails_the_stage_and_writes_nothing(db_conn: Conn) -> None:
    ws = seed_workspace(db_conn, SeedOptions(slug="acme", days=3, requests_per_day=200,
                                             end_date=AS_OF.date())).workspace_id
    def fails(inputs: CheckInputs) -> list[Finding]:
        raise ValueError("broken everywhere")

    stage = replace(checks_stage.STAGE, run=partial(
        checks_stage.run_checks, checks=tuple(replace(c, run=fails) for c in CHECKS)))
    outcome = run_pipeline(db_conn, ws, AS_OF, stages=tuple(stage if s.name == "checks" else s for s in STAGES))
    checks = outcome.stage("checks")
    assert checks.status == "failed" and "every check failed, the first with ValueError: broken everywhere" in str(
        checks.error)
    assert outcome.stage("savings").status == "skipped"
    assert check_outcomes(db_conn, ws) == [] and catalog_summary(db_conn, ws) is None


def test_outcomes_keep_when_a_check_started_failing_and_lose_a_check_the_catalog_no_longer_has(db_conn: Conn) -> None:
    from checks import CheckOutcome
    from store.check_outcomes import write_outcomes
    from tests.factories import make_workspace

    ws = make_workspace(db_conn).workspace_id
    error = RuntimeError("boom")
    first = [CheckOutcome("a", 2), CheckOutcome("b", 0, "RuntimeError: boom", error), CheckOutcome("gone", 1)]
    later = [CheckOutcome("a", 0, "RuntimeError: boom", error), CheckOutcome("b", 0, "RuntimeError: boom", error)]
    with db_conn.transaction():
        write_outcomes(db_conn, ws, 1, AS_OF, first)
    with db_conn.transaction():
        write_outcomes(db_conn, ws, 2, AS_OF + timedelta(days=1), later)
    rows = {o.check_id: o for o in check_outcomes(db_conn, ws)}
    assert sorted(rows) == ["a", "b"]  # "gone" left the catalog: its row with it
    a, b = rows["a"], rows["b"]
    assert (a.status, a.findings, a.error, a.run_id) == ("failed", 0, CHECK_FAILED, 2)
    assert (a.failing_since, a.last_ok_at) == (AS_OF + timedelta(days=1), AS_OF)  # ok until the first
    assert (b.failing_since, b.last_ok_at, b.as_of) == (AS_OF, None, AS_OF + timedelta(days=1))  # failing since then
    assert a.error_ref is not None and a.error_ref == b.error_ref  # the same exception, the same reference
    with db_conn.transaction():
        write_outcomes(db_conn, ws, 3, AS_OF + timedelta(days=2), [CheckOutcome("a", 3), CheckOutcome("b", 1)])
    healed = {o.check_id: o for o in check_outcomes(db_conn, ws)}
    assert [(o.check_id, o.status, o.findings, o.error, o.failing_since, o.last_ok_at) for o in healed.values()] == [
        (check, "ok", found, None, None, AS_OF + timedelta(days=2)) for check, found in (("a", 3), ("b", 1))]
