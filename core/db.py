"""The connection type every store function takes (psycopg, tuple rows, autocommit unless a
transaction block is open)."""

from __future__ import annotations

import psycopg
from psycopg.rows import TupleRow

Conn = psycopg.Connection[TupleRow]
