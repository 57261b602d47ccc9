"""Which failures are retried: connections and failovers yes, repeatable database errors no."""

from __future__ import annotations

import httpx
import psycopg
import pytest
from psycopg import errors

from core.errors import JobBusy, UserError
from workers.runtime.failures import is_transient


@pytest.mark.parametrize("error", [
    psycopg.OperationalError("server closed the connection unexpectedly"),
    errors.AdminShutdown(), errors.SerializationFailure(), errors.DeadlockDetected(), errors.TooManyConnections(),
    errors.ConnectionFailure(), JobBusy("another refresh is running"), httpx.ConnectError("refused"),
], ids=lambda e: type(e).__name__)
def test_connection_and_failover_errors_are_retried(error: BaseException) -> None:
    assert is_transient(error)


@pytest.mark.parametrize("error", [
    errors.QueryCanceled(), errors.DiskFull(), errors.ProgramLimitExceeded(), errors.UndefinedTable(),
    errors.UniqueViolation(), UserError("no workspace with slug 'x'"), ValueError("bug"),
], ids=lambda e: type(e).__name__)
def test_repeatable_errors_are_not_retried(error: BaseException) -> None:
    assert not is_transient(error)
