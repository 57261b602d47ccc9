"""The export jobs (issue 19).

**Nightly, incremental, restatable** (`export_destination`): for one workspace and one destination, as of a
moment after the nightly refresh,

1. the candidate days: the rollup's complete days (before its moment's UTC day) never exported to the
   destination, and those holding a request synced since the rollup moment the destination's last export
   read (late rows from an offline daemon: found on the rollup's last_synced_at, whatever the day's age);
2. the Adjustment rows of every reconciled month are regenerated each night (a handful of rows, read for
   all months at once) and written when they changed (a new bill, a new reconciliation, a restated day of
   the month); a month whose object holds rows but that is no longer reconciled (status 'ok') gets an
   empty object instead, so the bucket never keeps a stale Adjustment;
3. then a billing period at a time, oldest first: each dataset's candidate days of the month are read at
   once (one query per dataset; a new destination on years of history holds one month in memory, not all
   of it) and each day's object regenerated (cheap: from the rollup, not the requests, for `focus`) and its
   sha256 compared with the latest analysis.exports row of its key: only a changed object is written (the
   bytes are deterministic, so an unchanged day gives the same digest), replacing the day's object;
4. the month's objects written are recorded, and the manifest of each of its datasets rewritten from
   analysis.exports (every object with its rows, cost and sha256, and the versions it replaced, so a
   consumer sees what was restated and when), in a transaction of the month's, before the next month.

A month done stays done if a later one fails (its records name the run); the run closes last, its stats
keeping the rollup moment read (the next night's starting point). An object put whose record did not
commit (a crash in between) is simply written again next time. A rerun with nothing new writes nothing.

**On demand** (`export_request`, `export_to`): one dataset for a period, to a sink in the same layout or to
one file, recorded the same way."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

from core.db import Conn
from core.periods import utc_midnight
from exports import manifest as layout
from exports.columns import FOCUS_SCHEMA
from exports.formats import CONTENT_TYPES, sha256
from exports.sink import DirectorySink, ObjectSink
from store import exports as store
from store import rollup
from store.audit import audit
from store.incremental import LATE_COMMIT_MARGIN, plan_day_batches
from store.runs import Run, RunSpec, claimed_run, customer_failure
from workers.jobs import worker_name
from workers.jobs.export_datasets import (
    Encoded,
    adjustments,
    audit_of,
    by_day,
    dataset_days,
    encoded,
    encoded_all,
    focus_days,
    put_all,
    requests_of,
    whole_months,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportTarget:
    """Where a nightly export goes: a destination's id (None for a directory or a bucket URL named by hand, not
    a destination's own prefix), its sink, the format and the datasets it takes."""

    destination_id: int | None
    sink: ObjectSink
    fmt: str = "parquet"
    datasets: tuple[str, ...] = ("focus",)

    @property
    def place(self) -> store.Place:
        """Whose records: the destination's, or those of the location named by hand (a directory by its
        absolute path, symlinks resolved: two names of one directory are one place; a bucket URL as is)."""
        if self.destination_id is not None:
            return store.Place(self.destination_id)
        where = str(self.sink.root.resolve()) if isinstance(self.sink, DirectorySink) else self.sink.describe()
        return store.Place(None, where.rstrip("/") + "/")


@dataclass
class Outcome:
    written: list[Encoded] = field(default_factory=list)
    manifests: list[str] = field(default_factory=list)
    days_considered: int = 0

    def stats(self) -> dict[str, Any]:
        return {"objects_written": len(self.written), "manifests_written": len(self.manifests),
                "days_considered": self.days_considered, "bytes_written": sum(w.size for w in self.written),
                "rows_written": sum(w.rows for w in self.written),
                "keys": [w.key for w in self.written][:50]}


def export_destination(conn: Conn, workspace_id: int, target: ExportTarget | Callable[[], ExportTarget],
                       as_of: datetime, task_id: str | None = None, attempt: int = 0,
                       destination_id: int | None = None) -> dict[str, Any]:
    """The nightly export of one workspace to one destination (its own run and lock). `target` may be a
    function opening it (a destination's sink: checked and opened inside the run, so a destination that
    cannot be opened fails its run with the reason)."""
    if isinstance(target, ExportTarget):
        destination_id = target.destination_id
    # a place named by hand is locked by the place its records are kept under (a directory's resolved path:
    # two names of one directory take one lock, as they share records and manifests)
    scope = f"destination:{destination_id}" if destination_id is not None else \
        f"sink:{target.place.location if isinstance(target, ExportTarget) else 'unnamed'}"
    spec = RunSpec(job="export", workspace_id=workspace_id, as_of=as_of, lock_scope=scope, task_id=task_id,
                   worker=worker_name(), attempt=attempt)
    with claimed_run(conn, spec) as run, opened_target(target) as target:
        run.stats.update(destination_id=None if destination_id is None else str(destination_id))
        if target.destination_id is None:
            run.stats.update(location=target.place.location)  # the next night's starting point is found by it
        state = rollup.load_state(conn, workspace_id, lock=False)
        synced = None if state is None else state[0]
        outcome = Outcome()
        if synced is not None:
            before = min(as_of.astimezone(UTC).date(), synced.astimezone(UTC).date())
            since = store.last_export_moment(conn, workspace_id, target.place)
            if since is not None:  # a row stamped before it may commit up to the margin later (store/incremental)
                since -= LATE_COMMIT_MARGIN
            plan = _plan(conn, workspace_id, target, before, since)
            outcome.days_considered = len(plan.days.get("focus", []))
            for period in plan.periods():
                written = [item for group in _month_groups(conn, workspace_id, target, plan, period, as_of)
                           for item in _changed_objects(conn, workspace_id, target, group)]
                with conn.transaction():
                    _record(conn, run, workspace_id, target, written, None, outcome)
        run.stats.update(sink=target.sink.describe(), format=target.fmt,
                         rollup_synced_through=None if synced is None else synced.isoformat())
        with run.results():
            run.stats.update(outcome.stats())
        result = {"job": "export", "workspace_id": workspace_id, "run_id": run.id, **run.stats}
    log.info("export of workspace %s to %s: %s objects", workspace_id, target.sink.describe(),
             len(outcome.written))
    return result


@dataclass(frozen=True)
class Plan:
    """What a night regenerates: per dataset its candidate days (sorted), and the adjustments objects that
    changed (every reconciled month's are regenerated and compared at once: a few rows each), by month."""

    days: dict[str, list[date]]
    adjustments: dict[date, Encoded]

    def periods(self) -> list[date]:
        return sorted({layout.period_of(d) for days in self.days.values() for d in days} | set(self.adjustments))


def _plan(conn: Conn, workspace_id: int, target: ExportTarget, before: date, since: datetime | None) -> Plan:
    days: dict[str, list[date]] = {}
    changed: dict[date, Encoded] = {}
    if "focus" in target.datasets:
        days["focus"] = store.days_to_consider(conn, workspace_id, target.place, before, since, "focus")
        reconciled = adjustments(conn, workspace_id, before)
        # a month that left status 'ok' gets an empty object over its Adjustment rows: none stays stale
        reconciled |= {period: FOCUS_SCHEMA.empty_table()
                       for period in store.stale_adjustments(conn, workspace_id, target.place, list(reconciled))}
        regenerated = [encoded("focus", layout.adjustments_key(period, target.fmt), period, None, table, target.fmt)
                       for period, table in sorted(reconciled.items())]
        latest = store.latest_sha256(conn, workspace_id, target.place, [item.key for item in regenerated])
        changed = {item.period: item for item in regenerated if _to_write(item, latest)}
    if "requests" in target.datasets:
        days["requests"] = store.days_to_consider(conn, workspace_id, target.place, before, since, "requests")
    if "audit" in target.datasets:
        days["audit"] = store.audit_days(conn, workspace_id, target.place, before, since)
    return Plan(days, changed)


# The requests of at most this many (as the rollup counted them) are read, encoded and put at once: a new
# destination on a large workspace exports months of raw requests, which must not all be in memory.
GROUP_REQUESTS = 250_000


def _month_groups(conn: Conn, workspace_id: int, target: ExportTarget, plan: Plan, period: date,
                  as_of: datetime) -> Iterator[list[Encoded]]:
    """The candidate objects of one billing period, in a fixed order, a group at a time (each group encoded on
    a few threads, encoded_all, and put before the next is read: one group's rows and bytes are held at
    once): the FOCUS days (from the rollup: small), the adjustments, the requests' days in runs of at most
    GROUP_REQUESTS requests (a day alone when the rollup has no count for it), the audit events' days."""
    fmt = target.fmt
    month = {dataset: [d for d in days if layout.period_of(d) == period] for dataset, days in plan.days.items()}
    if "focus" in month:
        yield encoded_all([("focus", layout.day_key("focus", day, fmt), period, day, table)
                           for day, table in focus_days(conn, workspace_id, month["focus"])], fmt)
    if period in plan.adjustments:
        yield [plan.adjustments[period]]
    # the rollup's counts as they stand (it ran before tonight's export: an estimate, enough to size a group)
    counted = rollup.day_requests(conn, workspace_id, month.get("requests", []), None)
    groups = [("requests", days) for days in plan_day_batches(month.get("requests", []), counted, GROUP_REQUESTS,
                                                              consecutive=False)]
    groups += [("audit", month["audit"])] if month.get("audit") else []
    for dataset, days in groups:
        yield encoded_all([(dataset, layout.day_key(dataset, day, fmt), period, day, table)
                           for day, table in dataset_days(conn, workspace_id, dataset, days, as_of)], fmt)


def _changed_objects(conn: Conn, workspace_id: int, target: ExportTarget,
                     candidates: Sequence[Encoded]) -> list[Encoded]:
    """Put the candidate objects whose bytes changed (put_all: a few at once); what was put, without its
    bytes, in the candidates' order."""
    listed = list(candidates)
    latest = store.latest_sha256(conn, workspace_id, target.place, [c.key for c in listed])
    changed = [item for item in listed if _to_write(item, latest)]
    put_all(target.sink, changed, target.fmt)
    return [item.put_away() for item in changed]


def _to_write(item: Encoded, latest: dict[str, str]) -> bool:
    """Whether an object differs from what the place holds under its key (`latest`: sha256 by key)."""
    if latest.get(item.key) == item.sha256:
        return False
    # a month whose usage equals its bill: no adjustment object until one is needed
    return not (item.day is None and item.rows == 0 and item.key not in latest)


def _record(tx: Conn, run: Run, workspace_id: int, target: ExportTarget, written: Sequence[Encoded],
            request_id: int | None, outcome: Outcome) -> None:
    """Record the objects written, then rewrite and record the manifest of each billing period they belong to,
    and audit them, in the transaction `tx` (the nightly's: one per month, so a month done stays done)."""
    if not written:
        return
    now = store.database_now(tx)
    place = target.place
    store.record_exports(tx, workspace_id, place, request_id,
                         [(item.dataset, item.key, item.period, item.day, item.rows, item.size, item.cost_nanos,
                           item.sha256) for item in written], now, run.id)
    manifests = []
    for dataset, period in sorted({(w.dataset, w.period) for w in written}):
        versions = store.period_versions(tx, workspace_id, place, dataset, period)
        document = layout.build_manifest(dataset, period, target.fmt, versions, _schema(dataset), now)
        key = layout.manifest_key(dataset, period)
        target.sink.put(key, document, CONTENT_TYPES["json"])
        store.record_export(tx, workspace_id, place, request_id, "manifest", key, period, None,
                            len(versions), len(document), None, sha256(document), now, run.id)
        manifests.append(key)
    audit(tx, workspace_id, worker_name(), "export.written", f"export:{target.sink.describe()}",
          {"objects": len(written), "manifests": manifests, "keys": [w.key for w in written][:50],
           "request_id": request_id})
    outcome.written += written
    outcome.manifests += manifests


def _schema(dataset: str) -> pa.Schema:
    if dataset == "focus":
        return FOCUS_SCHEMA
    return pa.schema(list((store.REQUEST_TYPES if dataset == "requests" else store.AUDIT_TYPES).items()))


@dataclass(frozen=True)
class DestinationFailure:
    destination_id: int
    message: str


class ExportsFailed(Exception):
    """Some destinations of a workspace failed (their runs say why); the others were exported."""

    def __init__(self, failures: Sequence[DestinationFailure]) -> None:
        self.failures = list(failures)
        super().__init__("; ".join(f"destination {f.destination_id}: {f.message}" for f in failures))


def export_workspace(conn: Conn, workspace_id: int, openers: Sequence[tuple[int, Callable[[], ExportTarget]]],
                     as_of: datetime, task_id: str | None = None, attempt: int = 0) -> dict[str, Any]:
    """Every live destination of a workspace, one after the other, each its own run: a destination that fails
    (a missing bucket, refused credentials: its run says why) does not stop the others."""
    done = each_destination(workspace_id, openers, lambda destination_id, opener: export_destination(
        conn, workspace_id, opener, as_of, task_id, attempt, destination_id=destination_id))
    return {"job": "export", "workspace_id": workspace_id, "destinations": len(done),
            "objects_written": sum(int(d.get("objects_written", 0)) for d in done)}


@contextlib.contextmanager
def opened_target(target: ExportTarget | Callable[[], ExportTarget]) -> Iterator[ExportTarget]:
    """The target given, or the one the function opens, inside the run; a sink opened here is closed here (an
    S3 sink holds its pinning tunnel: a listener and threads), a target given stays its giver's."""
    if isinstance(target, ExportTarget):
        yield target
        return
    opened = target()
    try:
        yield opened
    finally:
        opened.sink.close()


def each_destination(workspace_id: int, openers: Sequence[tuple[int, Callable[[], ExportTarget]]],
                     export_one: Callable[[int, Callable[[], ExportTarget]], dict[str, Any]]) -> list[dict[str, Any]]:
    """`export_one` for each destination, whatever the others did; afterwards a transient failure is raised for
    the task's retry (what succeeded writes nothing the second time), else the failures together."""
    from workers.runtime.failures import is_transient

    done: list[dict[str, Any]] = []
    failures: list[DestinationFailure] = []
    transient: BaseException | None = None
    for destination_id, opener in openers:
        try:
            done.append(export_one(destination_id, opener))
        except Exception as error:
            if is_transient(error):
                transient = transient or error
            failures.append(DestinationFailure(destination_id, customer_failure(error)))
            log.warning("export of workspace %s to destination %s failed: %s", workspace_id, destination_id,
                        failures[-1].message)
    if transient is not None:
        raise transient
    if failures:
        raise ExportsFailed(failures)
    return done


# -- on demand ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class OnDemand:
    workspace_id: int
    dataset: str
    start: date
    end: date  # exclusive
    as_of: datetime
    request_id: int | None = None
    destination_id: int | None = None


def export_period(conn: Conn, job: OnDemand, target: ExportTarget | Callable[[], ExportTarget],
                  task_id: str | None = None, attempt: int = 0) -> dict[str, Any]:
    """One dataset for a period into a sink, one object per day (and the months' adjustments and manifests),
    every object written whatever was there: an export asked for by a person. Its run's lock scope names the
    request and the destination (`request:N destination:M`), so the dashboard finds its outcome; `target` may
    be a function opening a destination (inside the run: a failure to open fails the run with the reason)."""
    where = (f"destination:{job.destination_id}" if job.destination_id is not None else
             f"sink:{target.place.location}" if isinstance(target, ExportTarget) else "sink")
    scope = f"request:{job.request_id} {where}" if job.request_id is not None else where
    spec = RunSpec(job="export_request", workspace_id=job.workspace_id, as_of=job.as_of,
                   window_start=utc_midnight(job.start), window_end=utc_midnight(job.end), lock_scope=scope,
                   task_id=task_id,
                   worker=worker_name(), attempt=attempt)
    with claimed_run(conn, spec) as run, opened_target(target) as opened:
        fmt = opened.fmt
        before = min(job.end, job.as_of.astimezone(UTC).date())
        outcome = Outcome()
        items = _period_objects(conn, job, fmt, before)
        put_all(opened.sink, items, fmt)
        written = [item.put_away() for item in items]
        run.stats.update(dataset=job.dataset, sink=opened.sink.describe(), format=fmt, request_id=job.request_id)
        with run.results() as tx:
            _record(tx, run, job.workspace_id, ExportTarget(job.destination_id, opened.sink, fmt, (job.dataset,)),
                    written, job.request_id, outcome)
            outcome.days_considered = len({w.day for w in outcome.written if w.day is not None})
            run.stats.update(outcome.stats())
        return {"job": "export_request", "workspace_id": job.workspace_id, "run_id": run.id, **run.stats}


def _period_objects(conn: Conn, job: OnDemand, fmt: str, before: date) -> list[Encoded]:
    days = [job.start + timedelta(days=i) for i in range((before - job.start).days)]
    if job.dataset == "focus":
        found = store.rollup_days_between(conn, job.workspace_id, job.start, before)
        items = encoded_all([("focus", layout.day_key("focus", d, fmt), layout.period_of(d), d, t)
                             for d, t in focus_days(conn, job.workspace_id, found)], fmt)
        periods = whole_months(job.start, job.end)  # a month cut by the period gets no Adjustment
        items += [encoded("focus", layout.adjustments_key(p, fmt), p, None, t, fmt)
                  for p, t in adjustments(conn, job.workspace_id, before, periods).items() if t.num_rows]
        return items

    # one read of the period, cut by day (the rows come ordered by their time)
    table = (requests_of(conn, job.workspace_id, job.start, before, job.as_of) if job.dataset == "requests"
             else audit_of(conn, job.workspace_id, job.start, before))
    return encoded_all([(job.dataset, layout.day_key(job.dataset, d, fmt), layout.period_of(d), d, part)
                        for d, part in by_day(table, "started_at" if job.dataset == "requests" else "at", days)], fmt)


def export_file(conn: Conn, job: OnDemand, path: str, fmt: str, write: Any) -> dict[str, Any]:
    """One dataset for a period as one file (`write(bytes)` puts it where the command line said), recorded
    in analysis.exports under its absolute path (no destination): two files of one name in two directories
    are two records, and no directory's manifest takes a file in."""
    from workers.jobs.export_datasets import dataset_period

    path = str(Path(path).resolve())
    spec = RunSpec(job="export_request", workspace_id=job.workspace_id, as_of=job.as_of,
                   window_start=utc_midnight(job.start), window_end=utc_midnight(job.end), lock_scope=f"file:{path}",
                   worker=worker_name())
    with claimed_run(conn, spec) as run:
        table = dataset_period(conn, job.workspace_id, job.dataset, job.start, job.end, job.as_of)
        item = encoded(job.dataset, path, job.start.replace(day=1), None, table, fmt)
        write(item.data)
        with run.results() as tx:
            now = store.database_now(tx)
            store.record_export(tx, job.workspace_id, store.Place(None), job.request_id, job.dataset, path,
                                item.period, None, item.rows, item.size, item.cost_nanos, item.sha256, now, run.id)
            run.stats.update(dataset=job.dataset, file=path, format=fmt, rows=item.rows, bytes=item.size,
                             sha256=item.sha256, cost_nanos=item.cost_nanos)
        return {"job": "export_request", "workspace_id": job.workspace_id, "run_id": run.id, **run.stats}
