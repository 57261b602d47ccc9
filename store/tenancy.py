"""Which workspace a connection works on: the setting the fleet's row-level security reads
(store/row_security.py), and the few reads across workspaces, through their SECURITY DEFINER functions.

Every job of the fleet is about one workspace. Its connection is scoped to it for the job's duration
(`workspace_scope`); the fleet's role then sees and writes that workspace's rows only, whatever a query
says. Why the session and not `SET LOCAL`: a job runs on an autocommit connection holding a session-level
advisory lock, and issues many transactions (the claim, reads, the results, marking a failure), each of
which must be scoped; a transaction-local setting would cover one. So the setting is the session's for
the job's duration and restored when it ends, and the pool resets it when a connection comes back
(workers/db.py), so no later job inherits it.

Owners and superusers bypass row-level security: for them a scope changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import LiteralString

from core.db import Conn
from core.errors import UserError
from store.row_security import SETTING
from store.workspaces import Workspace, workspace_by_id


def scoped_workspace(conn: Conn) -> int | None:
    """The workspace `conn` is scoped to, if any."""
    row = conn.execute("select nullif(current_setting(%s, true), '')", (SETTING,)).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def set_workspace(conn: Conn, workspace_id: int | None) -> None:
    """Scope `conn` (its session) to `workspace_id`; None: to no workspace (the fleet then sees no row)."""
    value = "" if workspace_id is None else str(int(workspace_id))
    conn.execute("select set_config(%s, %s, false)", (SETTING, value))


@contextmanager
def workspace_scope(conn: Conn, workspace_id: int) -> Iterator[Conn]:
    """`conn` scoped to `workspace_id` inside the block, as it was before after it. A connection already
    scoped to another workspace is refused: one job, one workspace."""
    previous = scoped_workspace(conn)
    if previous is not None and previous != workspace_id:
        raise RuntimeError(f"the connection is scoped to workspace {previous}, not {workspace_id}")
    set_workspace(conn, workspace_id)
    try:
        yield conn
    finally:
        if not conn.closed and not conn.broken:
            set_workspace(conn, previous)


def enter_workspace(conn: Conn, slug: str) -> Workspace:
    """The workspace of `slug`, with `conn` scoped to it for the rest of its session: for a connection
    opened for one command about one workspace (the command line)."""
    workspace_id = _lookup(conn, "select id from meter.workspaces where slug = %s",
                           "meter.fleet_workspace_of_slug(text)", "select meter.fleet_workspace_of_slug(%s)", slug)
    if workspace_id is None:
        raise UserError(f"no workspace with slug '{slug}'; check the slug or seed it first")
    set_workspace(conn, workspace_id)
    return workspace_by_id(conn, workspace_id)


def enter_report_request(conn: Conn, request_id: int) -> int:
    """The workspace of the report request `request_id`, with `conn` scoped to it for the rest of its session
    (the command line's `report --request`)."""
    workspace_id = _lookup(conn, "select workspace_id from meter.report_requests where id = %s",
                           "meter.fleet_workspace_of_report_request(bigint)",
                           "select meter.fleet_workspace_of_report_request(%s)", request_id)
    if workspace_id is None:
        raise UserError(f"no report request with id {request_id}")
    set_workspace(conn, workspace_id)
    return workspace_id


def may_execute(conn: Conn, signature: str) -> bool:
    """Whether the connected role may call the function `signature` (which may not exist)."""
    row = conn.execute(
        "select p is not null and has_function_privilege(p, 'execute') from to_regprocedure(%s) p", (signature,)
    ).fetchone()
    return bool(row and row[0])


def _lookup(conn: Conn, plain: LiteralString, function: str, call: LiteralString, argument: object) -> int | None:
    """`plain`'s answer when the role sees the row (an owner, the dashboard, a superuser); otherwise, for
    the fleet's role scoped to no workspace yet, the narrow function's, if this role may call it."""
    row = conn.execute(plain, (argument,)).fetchone()
    if row is None and may_execute(conn, function):
        row = conn.execute(call, (argument,)).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def workspace_of_report_request(conn: Conn, request_id: int) -> int:
    """The workspace a meter.report_requests row belongs to (a report task knows only the request's id)."""
    row = conn.execute("select meter.fleet_workspace_of_report_request(%s)", (request_id,)).fetchone()
    if row is None or row[0] is None:
        raise UserError(f"no report request with id {request_id}")
    return int(row[0])


def workspace_of_export_request(conn: Conn, request_id: int) -> int:
    """The workspace a meter.export_requests row belongs to (the export task knows only the request's id)."""
    row = conn.execute("select meter.fleet_workspace_of_export_request(%s)", (request_id,)).fetchone()
    if row is None or row[0] is None:
        raise UserError(f"no export request with id {request_id}")
    return int(row[0])


def workspaces_of_running_task(conn: Conn, task_id: str) -> list[int]:
    """The workspaces with a run still 'running' for `task_id` (the parent closing a killed delivery's runs)."""
    return [int(r[0]) for r in conn.execute("select analysis.fleet_workspaces_of_running_task(%s)",
                                            (task_id,)).fetchall()]
