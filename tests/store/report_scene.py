"""A small workspace with traffic, recommendations, a reconciliation and savings, for the report tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from tests.factories import Conn, Scene, add_request, make_workspace
from workers.jobs import refresh_workspace

AS_OF = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # the rollup then covers 21 Oct – 19 Nov
PERIOD_START, PERIOD_END = date(2026, 11, 1), date(2026, 11, 20)
REQUESTED_AT = datetime(2026, 11, 20, 8, 15, 30, tzinfo=UTC)


@dataclass(frozen=True)
class ReportScene:
    scene: Scene
    other_workspace_project: int

    @property
    def workspace_id(self) -> int:
        return self.scene.workspace_id

    @property
    def project_id(self) -> int:
        return self.scene.project_ids[0]


def make_report_scene(conn: Conn) -> ReportScene:
    scene = make_workspace(conn, "acme", projects=2, devices=3)
    conn.execute("update meter.projects set hourly_rate_nanos = 120000000000 where id = %s", (scene.project_ids[0],))
    conn.execute("update meter.devices set owner = 'alice@example.com' where id = %s", (scene.device_ids[0],))
    models = [("anthropic", "claude-sonnet-4-6"), ("anthropic", "claude-haiku-4-5"), ("openai", "gpt-5-mini")]
    for d in range(1, 30):
        for hour in range(0, 24, 4):
            provider, model = models[(d + hour) % 3]
            add_request(conn, scene, AS_OF - timedelta(days=d) + timedelta(hours=hour), project=hour % 2,
                        device=(d + hour) % 3, provider=provider, model=model, cost_nanos=7_654_321 * (d + hour + 1),
                        status_code=500 if hour == 20 and d % 5 == 0 else 200)
    refresh_workspace(conn, scene.workspace_id, AS_OF)
    for i, (status, saving) in enumerate([("open", 45_000_000_000), ("open", 12_345_678_901),
                                          ("dismissed", 99_000_000_000)]):
        conn.execute(
            """insert into analysis.recommendations (workspace_id, fingerprint, check_id, project_id, title, rationale,
                   monthly_saving_nanos, confidence, request_count, sample_request_ids, evidence, status,
                   first_seen_at, last_seen_at, run_id)
               values (%s, %s, 'model_swap', %s, %s, 'Short prompts; the cheaper sibling does as well.', %s, 'high',
                       100, '{}', '{}', %s, now(), now(), 0)""",
            (scene.workspace_id, f"fp-{i}", scene.project_ids[0], f"Recommendation {status} {i}", saving, status))
    conn.execute(
        """insert into analysis.reconciliation (workspace_id, provider, period, logged_nanos, billed_nanos,
               billed_source, variance_nanos, variance_ratio, band, status, computed_at, run_id)
           values (%s, 'anthropic', '2026-11-01', 100000000000, 103000000000, 'manual', 3000000000, 0.03, 'amber',
                   'ok', now(), 0)""",
        (scene.workspace_id,))
    conn.execute(
        """insert into analysis.realised_savings (workspace_id, fingerprint, month, counterfactual_nanos,
               actual_nanos, saved_nanos, computed_at)
           values (%s, 'fp-old', '2026-10-01', 50000000000, 30000000000, 20000000000, now())""",
        (scene.workspace_id,))
    other = make_workspace(conn, "other", projects=1, devices=1)
    return ReportScene(scene, other.project_ids[0])


def insert_request(conn: Conn, workspace_id: int, kind: str, project_id: int | None,
                   start: date = PERIOD_START, end: date = PERIOD_END) -> int:
    row = conn.execute(
        """insert into meter.report_requests (workspace_id, kind, project_id, period_start, period_end, requested_by,
               requested_at) values (%s, %s, %s, %s, %s, 'carol@example.com', %s) returning id""",
        (workspace_id, kind, project_id, start, end, REQUESTED_AT),
    ).fetchone()
    assert row is not None
    return int(row[0])
