"""The catalog's reads beside the window's usage (store/catalog_scan.py): the daily rollups of the spike check,
the clustering stage's clusters and loop incidents, the project and device names. Each is a store.reads.Read,
so that the checks stage sends them in one round trip (one alone: `daily_read(...).run(conn)`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pandas as pd

from core.db import Conn
from store.frames import PROMPT_KEY_SQL
from store.reads import Read, frame_of

DAILY_COLUMNS = ["day", "project_id", "device_id", "provider", "model", "service_tier", "requests", "cost_nanos"]




def daily_read(workspace_id: int, first_day: date, end_day: date) -> Read[pd.DataFrame]:
    return Read("""select day, coalesce(project_id, -1), device_id, provider, model, service_tier, requests, cost_nanos
                   from analysis.daily_spend where workspace_id = %s and day >= %s and day < %s""",
                (workspace_id, first_day, end_day),
                frame_of(DAILY_COLUMNS, dict.fromkeys(["project_id", "device_id", "requests", "cost_nanos"], "int64")))


CLUSTER_COLUMNS = ["prompt_hash", "prompt_key", "requests", "devices", "projects", "first_at", "last_at",
                   "cost_nanos", "duplicate_requests", "avoidable_nanos", "kinds"]




def clusters_read(workspace_id: int, window_end: datetime, *,
                  recurring: tuple[int, int] | None = None) -> Read[pd.DataFrame]:
    """The clustering stage's prompt clusters of its latest window ending by `window_end` (the same moment
    when the pipeline ran both stages; an earlier one when only the checks stage is rerun).

    `recurring=(requests, days)`: only the clusters the catalog can use, those of kind 'cacheable' and the
    duplicates of at least `requests` requests over at least `days` UTC days (checks.response_cache)."""
    only = "" if recurring is None else """
        and ('cacheable' = any(kinds) or ('duplicate' = any(kinds) and requests >= %(requests)s
             and (last_at at time zone 'UTC')::date - (first_at at time zone 'UTC')::date + 1 >= %(days)s))"""
    requests, days = recurring or (0, 0)
    return Read(f"""select prompt_hash, {PROMPT_KEY_SQL}, requests, devices, projects, first_at, last_at,
                           cost_nanos, duplicate_requests, avoidable_nanos, kinds
                    from analysis.prompt_clusters
                    where workspace_id = %(ws)s and window_end = (
                        select max(window_end) from analysis.prompt_clusters
                        where workspace_id = %(ws)s and window_end <= %(end)s
                          and window_end > %(end)s - interval '1 day'){only}""",
                {"ws": workspace_id, "end": window_end, "requests": requests, "days": days},
                frame_of(CLUSTER_COLUMNS))


LOOP_COLUMNS = ["prompt_hash", "prompt_key", "device_id", "project_id", "started_at", "ended_at", "requests",
                "cost_nanos", "peak_per_minute"]




def loops_read(workspace_id: int, start: datetime, end: datetime) -> Read[pd.DataFrame]:
    return Read(f"""select prompt_hash, {PROMPT_KEY_SQL}, device_id, project_id, started_at, ended_at,
                           requests, cost_nanos, peak_per_minute
                    from analysis.loop_incidents where workspace_id = %s and started_at >= %s
                      and started_at < %s order by started_at, id""",
                (workspace_id, start, end), frame_of(LOOP_COLUMNS))


def has_clusters(conn: Conn, workspace_id: int) -> bool:
    """Whether the clustering stage has written anything for the workspace (the demo says so when not)."""
    row = conn.execute("select exists (select 1 from analysis.prompt_clusters where workspace_id = %s)",
                       (workspace_id,)).fetchone()
    return bool(row and row[0])




def project_names_read(workspace_id: int) -> Read[dict[int, str]]:
    return Read("select id, slug from meter.projects where workspace_id = %s", (workspace_id,), _names)




def device_names_read(workspace_id: int) -> Read[dict[int, str]]:
    return Read("select id, name from meter.devices where workspace_id = %s", (workspace_id,), _names)


def _names(rows: list[tuple[Any, ...]]) -> dict[int, str]:
    return {int(r[0]): str(r[1]) for r in rows}
