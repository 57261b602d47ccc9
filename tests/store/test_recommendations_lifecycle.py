"""The recommendations' lifecycle in store/, and realised savings through the savings stage, on
hand-made rows: a finding that disappears resolves, decisions beat suppressions, and an accepted model
swap followed by a month on the cheaper model shows its saving."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from checks import Finding
from store import recommendations as store
from tests.factories import Conn, add_request, make_workspace
from workers.jobs.decisions import apply_decisions
from workers.jobs.pipeline import run_pipeline

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)


def finding(project_id: int, subject: str = "claude-sonnet-4-6->claude-haiku-4-5", saving: int = 600_000_000,
            check_id: str = "model-downgrade") -> Finding:
    return Finding(check_id=check_id, project_id=project_id, subject=subject, title="Swap", rationale="because",
                   impact_nanos=saving, confidence="high", request_count=200, sample_request_ids=(1, 2),
                   evidence={"counterfactual": {"kind": "model", "from": "claude-sonnet-4-6",
                                                "to": "claude-haiku-4-5"}})


def statuses(conn: Conn) -> dict[str, str]:
    return dict(conn.execute("select fingerprint, status from analysis.recommendations").fetchall())


def write(conn: Conn, ws: int, as_of: datetime, findings: list[Finding]) -> dict[str, int]:
    with conn.transaction():
        return store.write_findings(conn, ws, 1, as_of, findings)


def accept(conn: Conn, ws: int, recommendation: Finding, decided: datetime) -> None:
    conn.execute("insert into meter.recommendation_decisions (workspace_id, fingerprint, decision, decided_at) "
                 "values (%s, %s, 'accepted', %s)", (ws, recommendation.fingerprint, decided))


def test_tomorrow_updates_today_and_a_vanished_finding_resolves(db_conn: Conn) -> None:
    scene = make_workspace(db_conn)
    ws, p0, p1 = scene.workspace_id, scene.project_ids[0], scene.project_ids[1]
    write(db_conn, ws, AS_OF, [finding(p0), finding(p1)])
    write(db_conn, ws, AS_OF + timedelta(days=1), [finding(p0, saving=700_000_000)])
    rows = db_conn.execute("select fingerprint, monthly_saving_nanos, status, first_seen_at, last_seen_at "
                           "from analysis.recommendations order by fingerprint").fetchall()
    assert [(r[1], r[2]) for r in rows] == [(700_000_000, "open"), (600_000_000, "resolved")]
    assert rows[0][3] == AS_OF and rows[0][4] == AS_OF + timedelta(days=1)
    write(db_conn, ws, AS_OF + timedelta(days=2), [finding(p0), finding(p1)])  # it comes back: open again
    assert set(statuses(db_conn).values()) == {"open"}


def test_a_decision_wins_over_a_suppression_and_outlives_its_finding(db_conn: Conn) -> None:
    scene = make_workspace(db_conn)
    ws, p0, p1 = scene.workspace_id, scene.project_ids[0], scene.project_ids[1]
    write(db_conn, ws, AS_OF, [finding(p0), finding(p1)])
    db_conn.execute("insert into meter.check_suppressions (workspace_id, check_id, project_id) "
                    "values (%s, 'model-downgrade', null)", (ws,))
    db_conn.execute("insert into meter.recommendation_decisions (workspace_id, fingerprint, decision) "
                    "values (%s, %s, 'accepted')", (ws, finding(p0).fingerprint))
    assert store.apply_statuses(db_conn, ws) == {"accepted": 1, "suppressed": 1}
    write(db_conn, ws, AS_OF + timedelta(days=1), [])
    assert statuses(db_conn) == {finding(p0).fingerprint: "accepted", finding(p1).fingerprint: "suppressed"}


def test_an_accepted_swap_and_a_month_on_the_cheaper_model_show_the_realised_saving(db_conn: Conn) -> None:
    scene = make_workspace(db_conn)
    ws, p0 = scene.workspace_id, scene.project_ids[0]
    decided = datetime(2026, 10, 1, tzinfo=UTC)
    write(db_conn, ws, decided, [finding(p0)])
    accept(db_conn, ws, finding(p0), decided)
    for day in range(30):  # a month on haiku: 1000 in + 100 out = 1,500,000 nanos; on sonnet 4,500,000
        add_request(db_conn, scene, decided + timedelta(days=day, hours=10), model="claude-haiku-4-5",
                    cost_nanos=1_500_000)
    add_request(db_conn, scene, decided - timedelta(days=1), model="claude-haiku-4-5")  # before: not counted
    add_request(db_conn, scene, decided + timedelta(days=3), project=1, model="claude-haiku-4-5")  # other project
    assert run_pipeline(db_conn, ws, AS_OF, only="savings").status == "succeeded"
    rows = db_conn.execute("select fingerprint, month, counterfactual_nanos, actual_nanos, saved_nanos "
                           "from analysis.realised_savings").fetchall()
    assert rows == [(finding(p0).fingerprint, decided.date(), 30 * 4_500_000, 30 * 1_500_000, 30 * 3_000_000)]
    assert store.realised_total(db_conn, ws) == 90_000_000


def test_a_recommendation_names_only_a_project_of_its_own_workspace(db_conn: Conn) -> None:
    ours = make_workspace(db_conn, "ours")
    theirs = make_workspace(db_conn, "theirs")
    write(db_conn, ours.workspace_id, AS_OF, [finding(theirs.project_ids[0])])  # a project id of another workspace
    [shown] = store.recommendations(db_conn, ours.workspace_id)
    assert shown.project is None  # never another workspace's project slug


def test_the_prompt_key_expression_is_the_one_store_frames_reads() -> None:
    from store import frames

    assert store.PROMPT_KEY_SQL is frames.PROMPT_KEY_SQL
    assert frames.PROMPT_KEY_SQL in frames.REQUEST_COLUMNS["prompt_key"][0]


def realised_rows(conn: Conn) -> list[tuple[object, ...]]:
    return conn.execute("select fingerprint, month, counterfactual_nanos, actual_nanos, computed_at "
                        "from analysis.realised_savings order by month").fetchall()


def savings_stats(conn: Conn, ws: int, as_of: datetime, replay: bool = False) -> dict[str, object]:
    outcome = run_pipeline(conn, ws, as_of, only="savings", replay=replay)
    assert outcome.status == "succeeded"
    return outcome.stage("savings").stats


def test_a_night_recomputes_only_the_months_with_rows_synced_since_and_equals_a_full_run(db_conn: Conn) -> None:
    scene = make_workspace(db_conn)
    ws, p0 = scene.workspace_id, scene.project_ids[0]
    decided = datetime(2026, 9, 1, tzinfo=UTC)
    write(db_conn, ws, decided, [finding(p0)])
    accept(db_conn, ws, finding(p0), decided)
    for day in range(0, 61, 3):  # September and October on haiku
        add_request(db_conn, scene, decided + timedelta(days=day, hours=10), model="claude-haiku-4-5")
    first = savings_stats(db_conn, ws, AS_OF)
    assert first["recomputed_from"] == decided.isoformat() and len(realised_rows(db_conn)) == 2
    september = realised_rows(db_conn)[0]

    add_request(db_conn, scene, datetime(2026, 10, 20, tzinfo=UTC), model="claude-haiku-4-5",
                synced_at=AS_OF + timedelta(days=2))  # a late row for October
    for day in range(3):
        add_request(db_conn, scene, AS_OF + timedelta(days=day, hours=9), model="claude-haiku-4-5")
    later = AS_OF + timedelta(days=3)
    assert savings_stats(db_conn, ws, later)["recomputed_from"] == "2026-10-01T00:00:00+00:00"
    incremental = realised_rows(db_conn)
    assert incremental[0] == september  # kept as it was, computed_at included
    assert [row[1] for row in incremental] == [date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1)]

    assert savings_stats(db_conn, ws, later + timedelta(hours=1))["recomputed_from"] is None  # nothing new
    assert realised_rows(db_conn) == incremental
    assert savings_stats(db_conn, ws, later + timedelta(hours=1), replay=True)["recomputed_from"] == decided.isoformat()
    assert [row[:4] for row in realised_rows(db_conn)] == [row[:4] for row in incremental]


def test_a_new_acceptance_recomputes_every_month(db_conn: Conn) -> None:
    scene = make_workspace(db_conn)
    ws, p0, p1 = scene.workspace_id, scene.project_ids[0], scene.project_ids[1]
    decided = datetime(2026, 9, 1, tzinfo=UTC)
    write(db_conn, ws, decided, [finding(p0), finding(p1)])
    accept(db_conn, ws, finding(p0), decided)
    for day in range(0, 61, 3):
        for project in (0, 1):
            add_request(db_conn, scene, decided + timedelta(days=day, hours=10), project=project,
                        model="claude-haiku-4-5")
    savings_stats(db_conn, ws, AS_OF)
    accept(db_conn, ws, finding(p1), decided)
    assert savings_stats(db_conn, ws, AS_OF + timedelta(hours=1))["recomputed_from"] == decided.isoformat()
    assert {row[0] for row in realised_rows(db_conn)} == {finding(p0).fingerprint, finding(p1).fingerprint}


def test_the_summary_keeps_one_off_and_anomaly_money_apart_and_follows_a_suppression(db_conn: Conn) -> None:
    scene = make_workspace(db_conn)
    ws, p0, p1 = scene.workspace_id, scene.project_ids[0], scene.project_ids[1]
    kinds = [Finding(check_id=check_id, project_id=p1, subject="s", title="t", rationale="r", impact_nanos=nanos,
                     recurrence=recurrence, confidence="high", request_count=1, sample_request_ids=(), evidence={})
             for check_id, recurrence, nanos in (("runaway-loop", "one_off", 50_000_000),
                                                 ("spend-spike", "anomaly", 70_000_000))]
    write(db_conn, ws, AS_OF, [finding(p0), *kinds])
    assert db_conn.execute("""select recurrence, impact_nanos, monthly_saving_nanos from analysis.recommendations
                              order by check_id""").fetchall() == [
        ("monthly", 600_000_000, 600_000_000), ("one_off", 50_000_000, 0), ("anomaly", 70_000_000, 0)]
    summary = store.catalog_summary(db_conn, ws)
    assert summary is not None and summary.as_stats() == {
        "open_recommendations": 3, "monthly_saving_nanos": 600_000_000, "one_off_nanos": 50_000_000,
        "anomaly_nanos": 70_000_000}
    db_conn.execute("insert into meter.check_suppressions (workspace_id, check_id, project_id, suppressed_by) "
                    "values (%s, 'runaway-loop', null, 'alice')", (ws,))
    outcome = apply_decisions(db_conn, ws)
    assert (outcome.stats["open_recommendations"], outcome.stats["one_off_nanos"]) == (2, 0)
    summary = store.catalog_summary(db_conn, ws)
    assert summary is not None and summary.run_id == outcome.run_id and summary.one_off_nanos == 0
