"""Small hand-made meter rows for store tests (the synthetic seed is for volume, these for precision)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import psycopg

Conn = psycopg.Connection[tuple[Any, ...]]


@dataclass
class Scene:
    workspace_id: int
    project_ids: list[int] = field(default_factory=list)
    device_ids: list[int] = field(default_factory=list)


def make_workspace(conn: Conn, slug: str = "acme", projects: int = 2, devices: int = 2) -> Scene:
    row = conn.execute(
        "insert into meter.workspaces (slug, name) values (%s, %s) returning id", (slug, slug.title())
    ).fetchone()
    assert row is not None
    scene = Scene(workspace_id=row[0])
    for i in range(projects):
        project = conn.execute(
            "insert into meter.projects (workspace_id, slug, name) values (%s, %s, %s) returning id",
            (scene.workspace_id, f"{slug}-p{i}", f"Project {i}"),
        ).fetchone()
        assert project is not None
        scene.project_ids.append(project[0])
    for i in range(devices):
        device = conn.execute(
            """insert into meter.devices (workspace_id, name, status, paired_at)
               values (%s, %s, 'ACTIVE', '2026-01-01') returning id""",
            (scene.workspace_id, f"dev-{i}"),
        ).fetchone()
        assert device is not None
        scene.device_ids.append(device[0])
    return scene


def add_request(conn: Conn, scene: Scene, started_at: datetime, *, cost_nanos: int = 1_000_000,
                project: int | None = 0, device: int = 0, model: str = "claude-sonnet-4-6",
                provider: str = "anthropic", status_code: int = 200, input_tokens: int = 1000,
                output_tokens: int = 100, synced_at: datetime | None = None,
                service_tier: str = "standard") -> int:
    row = conn.execute(
        """insert into meter.requests (workspace_id, device_id, project_id, attribution_tier, provider, model,
               started_at, status_code, service_tier, input_tokens, output_tokens, cost_nanos, rates_version,
               synced_at)
           values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'test', %s) returning id""",
        (scene.workspace_id, scene.device_ids[device],
         None if project is None else scene.project_ids[project], None if project is None else "header",
         provider, model, started_at, status_code, service_tier, input_tokens, output_tokens, cost_nanos,
         synced_at or started_at + timedelta(seconds=30)),
    ).fetchone()
    assert row is not None
    return int(row[0])


def table_rows(conn: Conn, table: str, order_by: str) -> list[tuple[Any, ...]]:
    return conn.execute(f"select * from {table} order by {order_by}").fetchall()


def logged_failure(caplog: Any, ref: str | None) -> str:
    """The log line that keeps a failure's details under the reference stored beside its customer sentence
    (store.runs.log_failure): every line logged under it, one per place that recorded the failure."""
    assert ref is not None and ref.startswith("ref-"), ref
    lines = [record for record in caplog.records if f"[{ref}]" in record.getMessage()]
    assert lines, [r.getMessage() for r in caplog.records]
    return "\n".join(record.getMessage() for record in lines)
