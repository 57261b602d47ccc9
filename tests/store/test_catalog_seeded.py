"""The catalog on a seeded workspace with every pattern planted: each found where it was planted, with a
quote within 5 % of the generator's own figure, nothing on the control projects, sample ids in scope;
and the lifecycle across refreshes (suppressions, decisions)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from store.recommendations import recommendations
from synthetic import SeedOptions, SeedReport, seed_workspace
from synthetic.catalog import project_slug
from synthetic.catalog_plants import CONTROL_PROJECTS, FOUND_BY
from tests.clusters_standin import add_seeded_loop, fill_clusters
from tests.factories import Conn
from workers.checks_jobs import apply_decisions
from workers.pipeline import run_pipeline

END = date(2026, 11, 1)
AS_OF = datetime(2026, 11, 1, tzinfo=UTC)


def seed_and_refresh(conn: Conn) -> SeedReport:
    report = seed_workspace(conn, SeedOptions(slug="acme", days=30, requests_per_day=2000, end_date=END))
    ws = report.workspace_id
    assert run_pipeline(conn, ws, AS_OF, only="rollup").status == "succeeded"
    # the clustering stage's results, as it would write them (issue 7 fills these tables)
    fill_clusters(conn, ws, AS_OF - timedelta(days=30), AS_OF)
    loop = next(p for p in report.planted if p["pattern"] == "runaway_loop")
    add_seeded_loop(conn, ws, loop["where"]["prompt_hash"])
    refresh_checks(conn, ws)
    return report


def refresh_checks(conn: Conn, ws: int, as_of: datetime = AS_OF) -> None:
    outcome = run_pipeline(conn, ws, as_of, only="checks")
    assert outcome.status == "succeeded", outcome.to_dict()


def rows(conn: Conn, ws: int) -> list[tuple[Any, ...]]:
    return conn.execute(
        """select r.check_id, p.slug, r.monthly_saving_nanos, r.sample_request_ids, r.project_id, r.status,
                  r.fingerprint, r.evidence
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
    for check_id, _slug, _saving, samples, project_id, _status, _fp, evidence in found:
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
