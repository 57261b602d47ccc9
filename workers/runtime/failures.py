"""The one place that decides which failures are worth retrying.

Transient: a lost or refused connection (database, broker, provider), a database shutting down or
failing over, a serialization failure or deadlock, too many connections, a provider's 429/5xx (raised
as TransientError by the billing clients). Everything else fails the run at once: retrying a full
disk, a statement timeout or a bad query only repeats it eight times over forty minutes.
"""

from __future__ import annotations

import httpx
import kombu.exceptions
import psycopg
import redis.exceptions
from psycopg_pool import PoolTimeout

from core.errors import TransientError

# Retries of a transient failure (FleetTask.max_retries): a job told it is on this attempt fails for good
MAX_RETRIES = 8

# SQLSTATEs (or their class prefix) that a retry can outlive
TRANSIENT_SQLSTATES = ("08", "57P01", "57P02", "57P03", "40001", "40P01", "53300")

TRANSIENT_CLASSES: tuple[type[BaseException], ...] = (
    TransientError,
    PoolTimeout,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    kombu.exceptions.OperationalError,
    httpx.TransportError,
)


def is_transient(error: BaseException) -> bool:
    if isinstance(error, TRANSIENT_CLASSES):
        return True
    if isinstance(error, psycopg.Error):
        state = error.sqlstate
        if state is None:  # raised by the client: the connection broke, no server answer
            return isinstance(error, psycopg.OperationalError)
        return state.startswith(TRANSIENT_SQLSTATES)
    return False
