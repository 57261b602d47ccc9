"""Exports (issue 19): the reads an export needs (the rollup's rows of some days, names, reconciled months,
the requests and the audit events of a period) and analysis.exports, the record of every object written."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
from psycopg import sql

from core.db import Conn
from core.errors import UserError
from exports.focus import MonthReconciliation, Workspace
from exports.manifest import Version
from store.frames import copy_table

ROLLUP_TYPES: dict[str, pa.DataType] = {
    "day": pa.date32(), "project_id": pa.int64(), "device_id": pa.int64(), "provider": pa.string(),
    "model": pa.string(), "service_tier": pa.string(), "requests": pa.int64(), "input_tokens": pa.int64(),
    "cache_read_tokens": pa.int64(), "cache_write_tokens": pa.int64(), "output_tokens": pa.int64(),
    "cost_nanos": pa.int64(),
}


def rollup_rows(conn: Conn, workspace_id: int, days: Sequence[dt.date]) -> pa.Table:
    """analysis.daily_spend's rows of `days` (COPY into Arrow)."""
    query = sql.SQL("select {} from analysis.daily_spend where workspace_id = %s and day = any(%s)").format(
        sql.SQL(", ").join(sql.Identifier(c) for c in ROLLUP_TYPES))
    return copy_table(conn, query, [workspace_id, list(days)], ROLLUP_TYPES)


def workspace_names(conn: Conn, workspace_id: int) -> Workspace:
    row = conn.execute("select slug, name from meter.workspaces where id = %s", (workspace_id,)).fetchone()
    if row is None:
        raise LookupError(f"no workspace {workspace_id}")
    projects = conn.execute(
        """select p.id, p.slug, p.name, c.name from meter.projects p
             left join meter.cost_centers c on c.id = p.cost_center_id and c.workspace_id = p.workspace_id
            where p.workspace_id = %s""", (workspace_id,)).fetchall()
    devices = conn.execute("select id, name from meter.devices where workspace_id = %s", (workspace_id,)).fetchall()
    return Workspace(slug=str(row[0]), name=str(row[1]),
                     projects={int(i): (str(s), str(n), None if c is None else str(c)) for i, s, n, c in projects},
                     devices={int(i): str(n) for i, n in devices})


@dataclass(frozen=True)
class Place:
    """Where the objects of an export went, which scopes every record of analysis.exports it reads or writes.

    A destination's own prefix: its id, keys recorded as they are under the prefix (`location` ''). Anywhere
    else (a directory or a bucket URL named on the command line, a file): no destination, and `location`, the
    directory's absolute path or the URL ending in '/', recorded in front of every key, so a record is the
    object's full path (what the column says of a file) and the records of two places never mix: a day
    written to one directory is not done for another, a manifest lists only its own folder's objects."""

    destination_id: int | None
    location: str = ""

    def recorded(self, key: str) -> str:
        return self.location + key

    def relative(self, recorded: str) -> str:
        return recorded[len(self.location):]


# a record of the place %(dest)s, %(loc)s whose key lies in the layout right under it (dataset/billing_period=…/name,
# three parts): not a file, nor an object of a directory below it
_IN_PLACE = """{e}destination_id is not distinct from %(dest)s::bigint and starts_with({e}object_key, %(loc)s::text)
               and array_length(string_to_array(substr({e}object_key, length(%(loc)s::text) + 1), '/'), 1) = 3"""


def _in_place(alias: str = "") -> str:
    return _IN_PLACE.format(e=f"{alias}." if alias else "")


def days_to_consider(conn: Conn, workspace_id: int, place: Place, before: dt.date,
                     synced_since: dt.datetime | None, dataset: str) -> list[dt.date]:
    """The complete days (before `before`) of the rollup an incremental export of `dataset` regenerates: the
    days never exported to this place, and the days holding a request synced after `synced_since` (the
    rollup's moment at the place's last export; None: every day)."""
    rows = conn.execute(
        """select day from analysis.daily_spend s
            where workspace_id = %(ws)s and day < %(before)s
            group by day
           having %(since)s::timestamptz is null or max(last_synced_at) > %(since)s
               or not exists (select 1 from analysis.exports e
                               where e.workspace_id = %(ws)s and e.dataset = %(dataset)s and e.day = s.day
                                 and """ + _in_place("e") + """)
            order by day""",
        {"ws": workspace_id, "before": before, "since": synced_since, "dataset": dataset, **_params(place)},
    ).fetchall()
    return [r[0] for r in rows]


def audit_days(conn: Conn, workspace_id: int, place: Place, before: dt.date,
               synced_since: dt.datetime | None) -> list[dt.date]:
    """The complete days of audit events to regenerate: those never exported to the place, and those
    from the day of the last export's moment on (events are recorded as they happen)."""
    rows = conn.execute(
        """select distinct (at at time zone 'UTC')::date as day from analysis.audit_events a
            where workspace_id = %(ws)s and at < %(before)s::date::timestamp at time zone 'UTC'
              and (%(since)s::timestamptz is null or at >= date_trunc('day', %(since)s::timestamptz at time zone 'UTC')
                   at time zone 'UTC'
                   or not exists (select 1 from analysis.exports e
                                   where e.workspace_id = %(ws)s and e.dataset = 'audit'
                                     and e.day = (a.at at time zone 'UTC')::date
                                     and """ + _in_place("e") + """))
            order by 1""",
        {"ws": workspace_id, "before": before, "since": synced_since, **_params(place)}).fetchall()
    return [r[0] for r in rows]


def rollup_days_between(conn: Conn, workspace_id: int, start: dt.date, end: dt.date) -> list[dt.date]:
    rows = conn.execute("""select distinct day from analysis.daily_spend where workspace_id = %s and day >= %s
                           and day < %s order by day""", (workspace_id, start, end)).fetchall()
    return [r[0] for r in rows]


def reconciled_months(conn: Conn, workspace_id: int, before: dt.date,
                      periods: Sequence[dt.date] | None = None) -> list[MonthReconciliation]:
    """The provider months read against a bill (status 'ok'), ended before `before` and within the rollup's
    history, with their causes."""
    rows = conn.execute(
        """select provider, period, billed_nanos, logged_nanos from analysis.reconciliation
            where workspace_id = %s and status = 'ok' and billed_nanos is not null
              and (period + interval '1 month')::date <= %s and (%s::date[] is null or period = any(%s::date[]))
              -- only months the rollup still holds whole: past its history, usage would read 0 and the
              -- Adjustment become the whole bill
              and period >= (select window_start from analysis.rollup_state where workspace_id = %s)
            order by period, provider""",
        (workspace_id, before, None if periods is None else list(periods),
         None if periods is None else list(periods), workspace_id)).fetchall()
    causes = causes_by_month(conn, workspace_id, sorted({r[1] for r in rows}))
    return [MonthReconciliation(provider=str(p), period=period, billed_nanos=int(billed), logged_nanos=int(logged),
                                causes=causes.get((str(p), period), []))
            for p, period, billed, logged in rows]


def causes_by_month(conn: Conn, workspace_id: int,
                    periods: Sequence[dt.date]) -> dict[tuple[str, dt.date], list[tuple[str, int, int]]]:
    """(cause, findings, delta) per provider and month of `periods`, largest share first (the order of
    store.reconciliation.findings_by_cause), in one read."""
    if not periods:
        return {}
    rows = conn.execute(
        """select provider, period, cause, count(*), sum(delta_nanos)::bigint from analysis.reconciliation_findings
            where workspace_id = %s and period = any(%s::date[])
            group by provider, period, cause order by provider, period, abs(sum(delta_nanos)) desc, cause""",
        (workspace_id, list(periods))).fetchall()
    out: dict[tuple[str, dt.date], list[tuple[str, int, int]]] = {}
    for provider, period, cause, count, delta in rows:
        out.setdefault((str(provider), period), []).append((str(cause), int(count), int(delta)))
    return out


def stale_adjustments(conn: Conn, workspace_id: int, place: Place, reconciled: Sequence[dt.date]) -> list[dt.date]:
    """The months whose latest adjustments object at the place holds rows while the month is not among
    `reconciled` (the months with Adjustment rows now): a month that left reconciliation status 'ok' (a new
    bill that could not be read, say). Their object is to be replaced by an empty one. A month the rollup no
    longer holds whole is left as it was written, like its days (its Adjustment cannot be worked out again)."""
    rows = conn.execute(
        """select billing_period from (
               select distinct on (object_key) billing_period, rows from analysis.exports
                where workspace_id = %(ws)s and dataset = 'focus' and day is null and """ + _in_place() + """
                order by object_key, exported_at desc, id desc) latest
            where rows > 0 and not billing_period = any(%(reconciled)s::date[])
              and billing_period >= (select window_start from analysis.rollup_state where workspace_id = %(ws)s)
            order by 1""",
        {"ws": workspace_id, "reconciled": list(reconciled), **_params(place)}).fetchall()
    return [r[0] for r in rows]


def usage_by_provider_month(conn: Conn, workspace_id: int,
                            periods: Sequence[dt.date]) -> dict[tuple[str, dt.date], int]:
    """Σ cost_nanos of the rollup per provider and month (what the month's usage rows bill, to the nano)."""
    rows = conn.execute(
        """select provider, date_trunc('month', day)::date, sum(cost_nanos)::bigint from analysis.daily_spend
            where workspace_id = %s and date_trunc('month', day)::date = any(%s::date[]) group by 1, 2""",
        (workspace_id, list(periods))).fetchall()
    return {(str(p), m): int(c) for p, m, c in rows}


def _params(place: Place) -> dict[str, object]:
    return {"dest": place.destination_id, "loc": place.location}


def latest_sha256(conn: Conn, workspace_id: int, place: Place, keys: Sequence[str]) -> dict[str, str]:
    """The sha256 of the latest object written under each key (relative to the place) to the place."""
    rows = conn.execute(
        """select distinct on (object_key) object_key, sha256 from analysis.exports
            where workspace_id = %(ws)s and destination_id is not distinct from %(dest)s::bigint
              and object_key = any(%(keys)s)
            order by object_key, exported_at desc, id desc""",
        {"ws": workspace_id, "keys": [place.recorded(k) for k in keys], **_params(place)}).fetchall()
    return {place.relative(str(k)): str(s) for k, s in rows}


def period_versions(conn: Conn, workspace_id: int, place: Place, dataset: str, period: dt.date) -> list[Version]:
    """Every object of a dataset and billing period written to the place (for its manifest), keys relative
    to it."""
    rows = conn.execute(
        """select object_key, day, rows, bytes, cost_nanos, sha256, exported_at from analysis.exports
            where workspace_id = %(ws)s and dataset = %(dataset)s and billing_period = %(period)s
              and """ + _in_place() + """
            order by object_key, exported_at, id""",
        {"ws": workspace_id, "dataset": dataset, "period": period, **_params(place)}).fetchall()
    return [Version(place.relative(str(k)), d, int(r), int(b), None if c is None else int(c), str(s), at)
            for k, d, r, b, c, s, at in rows]


@dataclass(frozen=True)
class ExportRequest:
    id: int
    workspace_id: int
    dataset: str
    period_start: dt.date
    period_end: dt.date  # inclusive, like a report request's
    requested_by: str
    requested_at: dt.datetime


def export_request(conn: Conn, request_id: int) -> ExportRequest:
    row = conn.execute(
        """select id, workspace_id, dataset, period_start, period_end, requested_by, requested_at
             from meter.export_requests where id = %s""", (request_id,)).fetchone()
    if row is None:
        raise UserError(f"no export request with id {request_id}")
    return ExportRequest(*row)


def request_exported(conn: Conn, workspace_id: int, request_id: int) -> int:
    """How many objects were written for an export request already (a redelivery writes them again only
    when asked)."""
    row = conn.execute("select count(*) from analysis.exports where workspace_id = %s and request_id = %s",
                       (workspace_id, request_id)).fetchone()
    return 0 if row is None else int(row[0])


def workspaces_with_export_destinations(conn: Conn) -> list[int]:
    """The nightly export's fan-out: the workspaces with a live destination (a SECURITY DEFINER function)."""
    return [int(r[0]) for r in conn.execute("select meter.fleet_workspaces_with_export_destinations()").fetchall()]


def destination_objects(conn: Conn, workspace_id: int,
                        destination_id: int) -> list[tuple[str, int, int | None, str]]:
    """(key, rows, cost_nanos, sha256) of the latest version of every object recorded for a destination, by key
    (the demo prints them: a restated day counts once, as it stands in the bucket)."""
    rows = conn.execute(
        """select distinct on (object_key) object_key, rows, cost_nanos, sha256 from analysis.exports
            where workspace_id = %s and destination_id = %s order by object_key, exported_at desc, id desc""",
        (workspace_id, destination_id)).fetchall()
    return [(str(k), int(r), None if c is None else int(c), str(s)) for k, r, c, s in rows]


def database_now(conn: Conn) -> dt.datetime:
    """The database's clock: the moment every object of a run is recorded at."""
    row = conn.execute("select clock_timestamp()").fetchone()
    assert row is not None
    return row[0]  # type: ignore[no-any-return]


_RECORD = """insert into analysis.exports (workspace_id, destination_id, request_id, dataset, object_key,
                                       billing_period, day, rows, bytes, cost_nanos, sha256, exported_at, run_id)
             values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"""

#: one object written, as record_exports takes it: (dataset, key, period, day, rows, bytes, cost_nanos, sha256)
Written = tuple[str, str, dt.date, dt.date | None, int, int, int | None, str]


def record_export(tx: Conn, workspace_id: int, place: Place, request_id: int | None, dataset: str,
                  key: str, period: dt.date, day: dt.date | None, rows: int, size: int, cost_nanos: int | None,
                  sha256: str, exported_at: dt.datetime, run_id: int) -> None:
    """One object written to the place (`key` relative to it; a file's: its path, the place's location '')."""
    tx.execute(_RECORD, (workspace_id, place.destination_id, request_id, dataset, place.recorded(key), period, day,
                         rows, size, cost_nanos, sha256, exported_at, run_id))


def record_exports(tx: Conn, workspace_id: int, place: Place, request_id: int | None,
                   written: Sequence[Written], exported_at: dt.datetime, run_id: int) -> None:
    """record_export of many objects, in their order, in one pipelined round trip."""
    if not written:
        return
    with tx.cursor() as cur:
        cur.executemany(_RECORD, [(workspace_id, place.destination_id, request_id, dataset, place.recorded(key),
                                   *rest, exported_at, run_id) for dataset, key, *rest in written])


def last_export_moment(conn: Conn, workspace_id: int, place: Place) -> dt.datetime | None:
    """The rollup's moment (synced_through) the place's latest successful export read, from its run (whose
    stats name the destination, or for a place named by hand its location)."""
    row = conn.execute(
        """select (stats->>'rollup_synced_through')::timestamptz from analysis.runs
            where workspace_id = %(ws)s and job = 'export' and status = 'succeeded'
              and stats->>'destination_id' is not distinct from %(dest)s::text
              and (%(dest)s::text is not null or stats->>'location' = %(loc)s::text)
              and stats ? 'rollup_synced_through'
            order by finished_at desc limit 1""",
        {"ws": workspace_id, "dest": None if place.destination_id is None else str(place.destination_id),
         "loc": place.location}).fetchone()
    return None if row is None else row[0]


# -- the requests and audit datasets -----------------------------------------------------------------------

# the contract's columns of meter.requests, the project's slug and the device's name; prompt_hash is left out
# (a digest of a prompt is not for procurement, and a short prompt's digest can be guessed)
REQUEST_TYPES: dict[str, pa.DataType] = {
    "id": pa.int64(), "started_at": pa.timestamp("us", tz="UTC"), "provider": pa.string(), "model": pa.string(),
    "service_tier": pa.string(), "project_id": pa.int64(), "project": pa.string(), "attribution_tier": pa.string(),
    "device_id": pa.int64(), "device": pa.string(), "provider_request_id": pa.string(), "status_code": pa.int16(),
    "latency_ms": pa.int32(), "input_tokens": pa.int32(), "cache_read_tokens": pa.int32(),
    "cache_write_tokens": pa.int32(), "output_tokens": pa.int32(), "reasoning_tokens": pa.int32(),
    "max_tokens": pa.int32(), "cost_nanos": pa.int64(), "rates_version": pa.string(),
    "synced_at": pa.timestamp("us", tz="UTC"),
}
_REQUESTS = """select r.id, r.started_at, r.provider, r.model, r.service_tier, r.project_id, p.slug, r.attribution_tier,
       r.device_id, d.name, r.provider_request_id, r.status_code, r.latency_ms, r.input_tokens, r.cache_read_tokens,
       r.cache_write_tokens, r.output_tokens, r.reasoning_tokens, r.max_tokens, r.cost_nanos, r.rates_version,
       r.synced_at
  from meter.requests r
  left join meter.projects p on p.id = r.project_id and p.workspace_id = r.workspace_id
  left join meter.devices d on d.id = r.device_id and d.workspace_id = r.workspace_id
 where r.workspace_id = %s and r.started_at >= %s and r.started_at < %s and r.synced_at <= %s
   and (%s::date[] is null or (r.started_at at time zone 'UTC')::date = any(%s::date[]))
 order by r.started_at, r.id"""


def requests_table(conn: Conn, workspace_id: int, start: dt.datetime, end: dt.datetime,
                   as_of: dt.datetime, days: Sequence[dt.date] | None = None) -> pa.Table:
    """Every request started in [start, end) (on one of the UTC `days`, when given) and synced by as_of,
    oldest first."""
    chosen = None if days is None else list(days)
    return copy_table(conn, sql.SQL(_REQUESTS), [workspace_id, start, end, as_of, chosen, chosen],  # type: ignore[arg-type]
                      REQUEST_TYPES)


AUDIT_TYPES: dict[str, pa.DataType] = {
    "id": pa.int64(), "at": pa.timestamp("us", tz="UTC"), "actor": pa.string(), "event": pa.string(),
    "resource": pa.string(), "details": pa.string(),
}


def audit_table(conn: Conn, workspace_id: int, start: dt.datetime, end: dt.datetime,
                days: Sequence[dt.date] | None = None) -> pa.Table:
    """Every audit event of [start, end) (on one of the UTC `days`, when given), oldest first."""
    query = sql.SQL("""select id, at, actor, event, resource, details::text from analysis.audit_events
                        where workspace_id = %s and at >= %s and at < %s
                          and (%s::date[] is null or (at at time zone 'UTC')::date = any(%s::date[]))
                        order by at, id""")
    chosen = None if days is None else list(days)
    return copy_table(conn, query, [workspace_id, start, end, chosen, chosen], AUDIT_TYPES)  # type: ignore[arg-type]
