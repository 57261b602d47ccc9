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
class Sent:
    """One request the scene inserted, as the test knows it (figures are worked out from these)."""

    started_at: datetime
    project: int | None  # index into scene.project_ids; None: unattributed
    device: int
    provider: str
    model: str
    cost_nanos: int


@dataclass(frozen=True)
class ReportScene:
    scene: Scene
    other_workspace_project: int
    sent: list[Sent]

    def spend(self, start: date, end: date, *, project: int | str | None = "any", device: int | None = None,
              model: str | None = None) -> int:
        """What the inserted requests of [start, end) cost: a figure a report must print."""
        return sum(s.cost_nanos for s in self.sent if start <= s.started_at.date() < end
                   and (project == "any" or s.project == project) and (device is None or s.device == device)
                   and (model is None or s.model == model))

    def add(self, conn: Conn, started_at: datetime, *, project: int | None = 0, device: int = 0,
            provider: str = "anthropic", model: str = "claude-sonnet-4-6", cost_nanos: int = 1_000_000,
            synced_at: datetime | None = None) -> int:
        self.sent.append(Sent(started_at, project, device, provider, model, cost_nanos))
        return add_request(conn, self.scene, started_at, project=project, device=device, provider=provider,
                           model=model, cost_nanos=cost_nanos, synced_at=synced_at)

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
    sent: list[Sent] = []
    for d in range(1, 30):
        for hour in range(0, 24, 4):
            provider, model = models[(d + hour) % 3]
            started_at = AS_OF - timedelta(days=d) + timedelta(hours=hour)
            cost = 7_654_321 * (d + hour + 1)
            add_request(conn, scene, started_at, project=hour % 2, device=(d + hour) % 3, provider=provider,
                        model=model, cost_nanos=cost, status_code=500 if hour == 20 and d % 5 == 0 else 200)
            sent.append(Sent(started_at, hour % 2, (d + hour) % 3, provider, model, cost))
    refresh_workspace(conn, scene.workspace_id, AS_OF)
    for i, (status, saving) in enumerate([("open", 45_000_000_000), ("open", 12_345_678_901),
                                          ("dismissed", 99_000_000_000)]):
        conn.execute(
            """insert into analysis.recommendations (workspace_id, fingerprint, check_id, project_id, title, rationale,
                   recurrence, impact_nanos, monthly_saving_nanos, confidence, request_count, sample_request_ids,
                   evidence, status, first_seen_at, last_seen_at, run_id)
               values (%s, %s, 'model_swap', %s, %s, 'Short prompts; the cheaper sibling does as well.', 'monthly',
                       %s, %s, 'high', 100, '{}', '{}', %s, now(), now(), 0)""",
            (scene.workspace_id, f"fp-{i}", scene.project_ids[0], f"Recommendation {status} {i}", saving, saving,
             status))
    conn.execute(
        """insert into analysis.reconciliation (workspace_id, provider, period, logged_nanos, billed_nanos,
               billed_source, variance_nanos, variance_ratio, band, status, computed_at, run_id)
           values (%s, 'anthropic', '2026-11-01', 100000000000, 101000000000, 'manual', -1000000000, 0.0099, 'amber',
                   'ok', now(), 0)""",
        (scene.workspace_id,))
    conn.execute(
        """insert into analysis.realised_savings (workspace_id, fingerprint, month, counterfactual_nanos,
               actual_nanos, saved_nanos, computed_at)
           values (%s, 'fp-old', '2026-10-01', 50000000000, 30000000000, 20000000000, now())""",
        (scene.workspace_id,))
    other = make_workspace(conn, "other", projects=1, devices=1)
    return ReportScene(scene, other.project_ids[0], sent)


def insert_request(conn: Conn, workspace_id: int, kind: str, project_id: int | None,
                   start: date = PERIOD_START, end: date = PERIOD_END) -> int:
    row = conn.execute(
        """insert into meter.report_requests (workspace_id, kind, project_id, period_start, period_end, requested_by,
               requested_at) values (%s, %s, %s, %s, %s, 'carol@example.com', %s) returning id""",
        (workspace_id, kind, project_id, start, end, REQUESTED_AT),
    ).fetchone()
    assert row is not None
    return int(row[0])
