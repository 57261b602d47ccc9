"""meter.requests by month (migration 0026): whether it is partitioned, its partitions, the maintenance step
and the conversion of a populated table (deploy/runbook.md, "Partitions"). The SQL lives in 0026's functions,
run by the owner of `meter`; these are their callers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from core.db import Conn

DEFAULT_PARTITION = "requests_default"


@dataclass(frozen=True)
class Partition:
    name: str  # in the schema meter_partitions
    bounds: str  # Postgres's own words: FOR VALUES FROM (…) TO (…), or DEFAULT
    rows: int  # the planner's estimate (reltuples), -1 before the first ANALYZE


def is_partitioned(conn: Conn) -> bool:
    row = conn.execute("select relkind = 'p' from pg_class where oid = to_regclass('meter.requests')").fetchone()
    return bool(row and row[0])


def may_create_partitions(conn: Conn) -> bool:
    """meter.requests is partitioned and this session's role owns it (a member of its owner): the owner's tools
    (migrate, seed) may add months; the fleet's role never does."""
    row = conn.execute("""select c.relkind = 'p' and pg_has_role(c.relowner, 'USAGE') from pg_class c
                          where c.oid = to_regclass('meter.requests')""").fetchone()
    return bool(row and row[0])


def partitions(conn: Conn) -> list[Partition]:
    rows = conn.execute(
        """select c.relname, pg_get_expr(c.relpartbound, c.oid), c.reltuples::bigint
             from pg_inherits i join pg_class c on c.oid = i.inhrelid
            where i.inhparent = to_regclass('meter.requests')
            order by c.relname = %s, c.relname""", (DEFAULT_PARTITION,)).fetchall()
    return [Partition(str(name), str(bounds), int(estimate)) for name, bounds, estimate in rows]


def estimated_rows(conn: Conn) -> int:
    """The planner's estimate of meter.requests' rows (cheap: no scan), -1 before its first ANALYZE."""
    row = conn.execute("select reltuples::bigint from pg_class where oid = 'meter.requests'::regclass").fetchone()
    return int(row[0]) if row else -1


def maintain(conn: Conn, ahead_months: int = 3) -> int:
    """The maintenance step: the current month and `ahead_months` after it exist, and the months the default
    partition holds rows of get their own partitions (the rows move). The number created; 0 and nothing
    done when meter.requests is not partitioned."""
    if not is_partitioned(conn):
        return 0
    with conn.transaction():
        row = conn.execute("select meter.maintain_request_partitions(%s)", (ahead_months,)).fetchone()
    return int(row[0]) if row else 0


def ensure_months(conn: Conn, first: date, end: date) -> int:
    """The month partitions of [first, end) (a bulk load of history creates its months first)."""
    with conn.transaction():
        row = conn.execute("select meter.ensure_request_partitions(%s, %s)", (first, end)).fetchone()
    return int(row[0]) if row else 0


def convert(conn: Conn, ahead_months: int = 3) -> int:
    """Convert a populated, unpartitioned meter.requests in one transaction (every row, grant, policy, trigger
    and index kept); the rows copied (0: it was partitioned already). Writers wait on its lock meanwhile."""
    with conn.transaction():
        row = conn.execute("select meter.partition_requests_by_month(%s)", (ahead_months,)).fetchone()
        conn.execute("analyze meter.requests")
    return int(row[0]) if row else 0
