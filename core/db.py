"""The connection type every store function takes (psycopg, tuple rows, autocommit unless a
transaction block is open)."""

from __future__ import annotations

import psycopg
from psycopg.rows import TupleRow

Conn = psycopg.Connection[TupleRow]

# For the current transaction: commit without waiting for the WAL flush. Only for what a crash of Postgres may
# lose without harm: a cache's days with their state row (lost together, rebuilt by the next refresh) and a
# run's claim (lost with the session and its lock: the job is retried). Whatever a stage then commits with the
# wait (its results: store.runs.Run.results turns it back on, FLUSH_WAIT) flushes the log up to it, so these rows
# are durable before anything built on them is. Saves a WAL flush (0.5 ms on a local disk, several on network
# storage) a transaction.
NO_FLUSH_WAIT = "set_config('synchronous_commit', 'off', true)"
FLUSH_WAIT = "set_config('synchronous_commit', 'on', true)"

