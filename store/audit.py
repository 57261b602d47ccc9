"""The audit log (analysis.audit_events): one INSERT for every job that records what it did."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from core.db import Conn


def audit(conn: Conn, workspace_id: int, actor: str, event: str, resource: str, details: dict[str, Any],
          at: dt.datetime | None = None) -> None:
    """Record an event; `at` defaults to the database's clock (clock_timestamp())."""
    conn.execute(
        """insert into analysis.audit_events (workspace_id, actor, event, resource, details, at)
           values (%s, %s, %s, %s, %s::jsonb, coalesce(%s::timestamptz, clock_timestamp()))""",
        (workspace_id, actor, event, resource, json.dumps(details, default=str, sort_keys=True), at),
    )
