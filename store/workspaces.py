"""Reads of meter.workspaces."""

from __future__ import annotations

from dataclasses import dataclass

from core.db import Conn
from core.errors import UserError


@dataclass(frozen=True)
class Workspace:
    id: int
    slug: str
    name: str
    timezone: str


def workspace_by_slug(conn: Conn, slug: str) -> Workspace:
    return _one(conn, "slug", slug, f"no workspace with slug '{slug}'; check the slug or seed it first")


def workspace_by_id(conn: Conn, workspace_id: int) -> Workspace:
    return _one(conn, "id", workspace_id, f"no workspace with id {workspace_id}")


def _one(conn: Conn, column: str, value: object, missing: str) -> Workspace:
    row = conn.execute(
        f"select id, slug, name, timezone from meter.workspaces where {column} = %s", (value,)
    ).fetchone()
    if row is None:
        raise UserError(missing)
    return Workspace(*row)


def all_workspace_ids(conn: Conn) -> list[int]:
    """The scheduler's fan-out (and the reconcile sweep's): a read across workspaces, so through the narrow
    function that row-level security lets the fleet's role call (store/row_security.py)."""
    return [int(row[0]) for row in conn.execute("select meter.fleet_workspace_ids()").fetchall()]
