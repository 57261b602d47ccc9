"""The catalog on a seeded workspace with every pattern planted, after the real pipeline (the rollup, the
clustering stage finding the repeats and the loop, the checks): each pattern found where it was planted,
with a figure within 5 % of the generator's own, nothing on the control projects, sample ids in scope; the
headline taken together; and the lifecycle across refreshes (suppressions, decisions)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from pricing import load_rates
from store.recommendations import recommendations
from synthetic import SeedOptions, SeedReport, seed_workspace
from synthetic.catalog import project_slug
from synthetic.catalog_plants import CONTROL_PROJECTS, FOUND_BY
from tests.factories import Conn
from workers.jobs.decisions import apply_decisions
from workers.jobs.pipeline import run_pipeline

END = date(2026, 11, 1)
AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
# from 2026-11-26 the price table supersedes claude-sonnet-4-6 and claude-haiku-4-5: the summariser's
# sonnet then has a cheaper sibling and a successor, two swaps of one model on one bill
LATER = date(2026, 12, 7)


def seed_and_refresh(conn: Conn, end: date = END) -> SeedReport:
    report = seed_workspace(conn, SeedOptions(slug="acme", days=30, requests_per_day=2000, end_date=end))
    as_of = datetime.combine(end, datetime.min.time(), tzinfo=UTC)
    outcome = run_pipeline(conn, report.workspace_id, as_of)  # every stage, as the nightly refresh runs them
    assert [(s.stage, s.status) for s in outcome.stages] == [
        ("rollup", "succeeded"), ("forecast", "succeeded"), ("clustering", "succeeded"),
        ("checks", "succeeded"), ("savings", "succeeded"), ("alerts", "succeeded")]
    return report


def refresh_checks(conn: Conn, ws: int, as_of: datetime = AS_OF) -> None:
    outcome = run_pipeline(conn, ws, as_of, only="checks")
    assert outcome.status == "succeeded", outcome.to_dict()


def rows(conn: Conn, ws: int) -> list[tuple[Any, ...]]:
    return conn.execute(
        """select r.check_id, p.slug, r.impact_nanos, r.sample_request_ids, r.project_id, r.status,
                  r.fingerprint, r.evidence, r.recurrence, r.monthly_saving_nanos
           from analysis.recommendations r left join meter.projects p on p.id = r.project_id
           where r.workspace_id = %s order by r.fingerprint""", (ws,)).fetchall()


def test_every_planted_pattern_is_found_in_its_project_within_five_percent(db_conn: Conn) -> None:
    report = seed_and_refresh(db_conn)
    found = rows(db_conn, report.workspace_id)
    planted = [p for p in report.planted if p["pattern"] in FOUND_BY]
    assert len(planted) == len(FOUND_BY)
    for plant in planted:
        matches = [r for r in found if r[0] == FOUND_BY[plant["pattern"]] and r[1] == plant["where"]["project"]]
        assert len(matches) == 1, (plant["pattern"], [r[:3] for r in found])
        expected, quoted = plant["expected_nanos"], matches[0][2]
        assert expected > 0
        assert abs(quoted - expected) <= 0.05 * expected, (plant["pattern"], quoted, expected)


def test_nothing_on_the_control_projects_and_samples_stay_in_scope(db_conn: Conn) -> None:
    report = seed_and_refresh(db_conn)
    ws = report.workspace_id
    found = rows(db_conn, ws)
    controls = {project_slug("acme", key) for key in CONTROL_PROJECTS}
    assert not [r[:3] for r in found if r[1] in controls]
    for check_id, _slug, _saving, samples, project_id, _status, _fp, evidence, *_kind in found:
        assert 0 < len(samples) <= 20, check_id
        owners = db_conn.execute("select distinct workspace_id, project_id, device_id from meter.requests "
                                 "where id = any(%s)", (samples,)).fetchall()
        assert {o[0] for o in owners} == {ws}, check_id
        if project_id is not None:
            assert {o[1] for o in owners} == {project_id}, check_id
        if check_id == "runaway-loop":
            assert {o[2] for o in owners} == {evidence["device_id"]}


def test_a_suppressed_check_stays_suppressed_across_refreshes_and_decisions_apply_without_recompute(
        db_conn: Conn) -> None:
    report = seed_and_refresh(db_conn)
    ws = report.workspace_id
    summariser = db_conn.execute("select id from meter.projects where slug = 'acme-batch-summariser'").fetchone()
    assert summariser is not None
    db_conn.execute("insert into meter.check_suppressions (workspace_id, check_id, project_id, suppressed_by) "
                    "values (%s, 'model-downgrade', %s, 'alice'), (%s, 'batch-api', null, 'alice')",
                    (ws, summariser[0], ws))
    refresh_checks(db_conn, ws)
    refresh_checks(db_conn, ws, AS_OF + timedelta(hours=1))
    by_check = {r[0]: r for r in rows(db_conn, ws)}
    assert by_check["model-downgrade"][5] == "suppressed"
    assert by_check["batch-api"][5] == "suppressed"  # workspace-wide
    assert len([r for r in rows(db_conn, ws) if r[0] == "model-downgrade"]) == 1  # updated, no twin
    open_checks = {r.check_id for r in recommendations(db_conn, ws)}
    assert "model-downgrade" not in open_checks and "legacy-model" in open_checks

    checks_runs = db_conn.execute("select count(*) from analysis.runs where job = 'checks'").fetchone()
    db_conn.execute("insert into meter.recommendation_decisions (workspace_id, fingerprint, decision, decided_by) "
                    "values (%s, %s, 'accepted', 'bob'), (%s, %s, 'dismissed', 'bob')",
                    (ws, by_check["legacy-model"][6], ws, by_check["response-cache"][6]))
    outcome = apply_decisions(db_conn, ws)
    assert outcome.stats["statuses"]["accepted"] == 1 and outcome.stats["statuses"]["dismissed"] == 1
    statuses = {r[0]: r[5] for r in rows(db_conn, ws)}
    assert statuses["legacy-model"] == "accepted" and statuses["response-cache"] == "dismissed"
    assert db_conn.execute("select count(*) from analysis.runs where job = 'checks'").fetchone() == checks_runs


def test_the_clustering_stage_finds_the_planted_loop_which_the_catalog_lists_as_one_off(db_conn: Conn) -> None:
    report = seed_and_refresh(db_conn)
    plant = next(p for p in report.planted if p["pattern"] == "runaway_loop")
    [loop] = [r for r in rows(db_conn, report.workspace_id) if r[0] == "runaway-loop"]
    assert loop[7]["prompt_hash"] == plant["where"]["prompt_hash"]  # found by clustering, not handed to it
    device = db_conn.execute("select name from meter.devices where id = %s", (loop[7]["device_id"],)).fetchone()
    assert device is not None and device[0].endswith(plant["where"]["device"])
    # its own figure: the burst's cost but its first 3 requests, waste already spent, no monthly saving
    assert loop[8] == "one_off" and loop[9] == 0 and 0 < loop[2] < plant["expected_nanos"]
    assert loop[2] == loop[7]["waste_nanos"] and loop[7]["requests"] >= plant["rows"] * 0.95


def test_the_headline_takes_the_monthly_quotes_together_and_keeps_the_loop_and_the_spike_apart(
        db_conn: Conn) -> None:
    report = seed_and_refresh(db_conn, LATER)
    ws = report.workspace_id
    found = [r for r in rows(db_conn, ws) if r[5] == "open"]
    monthly = [r[9] for r in found if r[8] == "monthly"]
    summary = db_conn.execute("""select open_recommendations, monthly_saving_nanos, one_off_nanos, anomaly_nanos,
                                        days_observed, run_id from analysis.catalog_summary where workspace_id = %s""",
                              (ws,)).fetchone()
    assert summary is not None
    open_count, headline, one_off, anomaly, days, run_id = summary
    assert (open_count, days) == (len(found), 30)
    assert max(monthly) <= headline <= sum(monthly)
    assert all(r[9] == 0 for r in found if r[8] != "monthly")
    [spike] = [r for r in found if r[0] == "spend-spike"]
    assert spike[8] == "anomaly" and spike[2] == spike[7]["excess_nanos"] > 0  # not x 30/7
    assert [r[8] for r in found if r[0] == "runaway-loop"] == ["one_off"]
    assert (one_off, anomaly) == (sum(r[2] for r in found if r[8] == "one_off"), spike[2])
    stats = db_conn.execute("select stats from analysis.runs where id = %s and job = 'checks'", (run_id,)).fetchone()
    assert stats is not None and stats[0]["monthly_saving_nanos"] == headline  # the run says the same figure
    # the figure is the scopes' combination of the open findings, scaled from 30 days: recompute it from the
    # stored subsets (every finding of a scope is open here)
    scopes = db_conn.execute("""select fingerprints, subset_savings_nanos from analysis.catalog_combinations
                                where workspace_id = %s""", (ws,)).fetchall()
    assert {fp for fps, _ in scopes for fp in fps} == {r[6] for r in found if r[8] == "monthly"}
    window = sum(savings[(1 << len(fps)) - 1] for fps, savings in scopes)
    assert headline == min(window * 30 // 30, sum(monthly))
    # haiku and sonnet superseded: a successor's move shares its traffic with other levers
    shared = [sorted(fp.split(":")[0] for fp in fps) for fps, _ in scopes if len(fps) > 1]
    assert ["legacy-model", "model-downgrade"] in shared  # the summariser's two swaps: alternatives
    assert ["legacy-model", "prompt-caching"] in shared and ["legacy-model", "response-cache"] in shared
    assert headline < sum(monthly)


def test_a_swap_never_targets_a_model_the_price_table_says_is_superseded(db_conn: Conn) -> None:
    report = seed_and_refresh(db_conn, LATER)
    rates, as_of = load_rates(), datetime.combine(LATER, datetime.min.time(), tzinfo=UTC)
    swaps = [r for r in rows(db_conn, report.workspace_id) if r[0] in ("model-downgrade", "legacy-model")]
    assert {r[7]["to_model"] for r in swaps if r[0] == "model-downgrade"} == {"claude-haiku-5-5"}
    for swap in swaps:
        assert rates.successors(swap[7]["to_model"], at=as_of) == [], swap[6]
    [plant] = [p for p in report.planted if p["pattern"] == "overpowered_model"]
    assert plant["where"]["cheaper_model"] == "claude-haiku-5-5"  # the generator's own figure agrees


@pytest.mark.parametrize("times", [1, 2])
def test_check_history_counts_each_catalog_moment_once(db_conn: Conn, times: int) -> None:
    report = seed_and_refresh(db_conn)
    ws = report.workspace_id
    for i in range(1, times):
        refresh_checks(db_conn, ws, AS_OF + timedelta(hours=i))
    refresh_checks(db_conn, ws, AS_OF + timedelta(hours=times - 1))  # a rerun of the same moment
    history = db_conn.execute("select check_id, times_fired from analysis.check_history where workspace_id = %s",
                              (ws,)).fetchall()
    assert len(history) == len(FOUND_BY)
    assert {t for _c, t in history} == {times}, history
