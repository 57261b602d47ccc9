"""Reads of meter.workspaces."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.db import Conn
from core.errors import UserError
from store.reads import Read


@dataclass(frozen=True)
class Workspace:
    id: int
    slug: str
    name: str
    timezone: str


def workspace_by_slug(conn: Conn, slug: str) -> Workspace:
    return _workspace_read("slug", slug, f"no workspace with slug '{slug}'; check the slug or seed it first").run(conn)


def workspace_by_id(conn: Conn, workspace_id: int) -> Workspace:
    return workspace_read(workspace_id).run(conn)


def workspace_read(workspace_id: int) -> Read[Workspace]:
    """workspace_by_id as a read that can share a round trip with others (store.reads.read_together)."""
    return _workspace_read("id", workspace_id, f"no workspace with id {workspace_id}")


def _workspace_read(column: str, value: object, missing: str) -> Read[Workspace]:
    def build(rows: list[tuple[Any, ...]]) -> Workspace:
        if not rows:
            raise UserError(missing)
        return Workspace(*rows[0])
    return Read(f"select id, slug, name, timezone from meter.workspaces where {column} = %s", (value,), build)


def all_workspace_ids(conn: Conn) -> list[int]:
    """The scheduler's fan-out (and the reconcile sweep's): a read across workspaces, so through the narrow
    function that row-level security lets the fleet's role call (store/row_security.py)."""
    return [int(row[0]) for row in conn.execute("select meter.fleet_workspace_ids()").fetchall()]
