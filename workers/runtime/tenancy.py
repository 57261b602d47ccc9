"""Where a job's connection is scoped to its workspace (row-level security, store/tenancy.py): the one
helper every task borrows its connection from, so no task can forget it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from core.db import Conn
from store.tenancy import workspace_of_export_request, workspace_of_report_request, workspace_scope
from workers.runtime import db


@contextmanager
def workspace_connection(workspace_id: int, statement_timeout_s: float | None = None) -> Iterator[Conn]:
    """A pooled connection (workers.runtime.db.pooled_connection) scoped to `workspace_id` for the block."""
    with db.pooled_connection(statement_timeout_s) as conn, workspace_scope(conn, int(workspace_id)):
        yield conn


def report_request_connection(request_id: int,
                              statement_timeout_s: float | None = None) -> AbstractContextManager[Conn]:
    """A pooled connection scoped to the workspace of the report request `request_id` (UserError: none)."""
    return _request_connection(workspace_of_report_request, request_id, statement_timeout_s)


def export_request_connection(request_id: int,
                              statement_timeout_s: float | None = None) -> AbstractContextManager[Conn]:
    """A pooled connection scoped to the workspace of the export request `request_id` (UserError: none)."""
    return _request_connection(workspace_of_export_request, request_id, statement_timeout_s)


@contextmanager
def _request_connection(workspace_of: Callable[[Conn, int], int], request_id: int,
                        statement_timeout_s: float | None) -> Iterator[Conn]:
    """A pooled connection scoped to the workspace `workspace_of` finds for the request (its own error: none)."""
    with db.pooled_connection(statement_timeout_s) as conn:
        workspace_id = workspace_of(conn, int(request_id))
        with workspace_scope(conn, workspace_id):
            yield conn
