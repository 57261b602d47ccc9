"""The workspace's destinations as export targets: its live destinations (store/export_destinations.py),
each opened as a sink (workers/runtime/export_sinks.py: checked endpoint, the destination's own sealed
credentials, never the worker's) only inside the export's run, so a destination that cannot be opened fails
its own run with the reason."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from adapters.bucket_rules import parse_bucket_url
from core.db import Conn
from core.errors import UserError
from store import exports as store
from store.export_destinations import ExportDestination, destination_of_bucket, live_destinations
from workers.jobs.exports import ExportTarget, OnDemand, each_destination, export_period
from workers.runtime.export_sinks import open_destination_sink


def target_of(conn: Conn, destination: ExportDestination, prefix: str | None = None) -> ExportTarget:
    sink = open_destination_sink(conn, destination, prefix=prefix)
    return ExportTarget(destination.id, sink, destination.format, tuple(destination.datasets))


def destination_openers(conn: Conn, workspace_id: int,
                        dataset: str | None = None) -> list[tuple[int, Callable[[], ExportTarget]]]:
    """(id, opener) of every live destination of the workspace (taking `dataset`, when given)."""
    return [(d.id, _opener(conn, d)) for d in live_destinations(conn, workspace_id)
            if dataset is None or dataset in d.datasets]


def _opener(conn: Conn, destination: ExportDestination) -> Callable[[], ExportTarget]:
    return lambda: target_of(conn, destination)


def sink_for_url(conn: Conn, workspace_id: int, url: str) -> ExportTarget:
    """`s3://bucket/prefix` or `gs://bucket/prefix`: the workspace's own live destination for that bucket,
    under the prefix given (the destination's credentials; never the worker's own).

    Only the destination's own prefix is the destination's: what is written there is recorded under its id,
    so the nightly and its manifests count it (it is where they write). Any other prefix of the bucket (below
    the destination's too: those objects are not at the keys the nightly writes and its manifests list) is a
    place named by hand, which a user asking for it expects to get whole: recorded under its full URL and no
    destination, like a directory, so the destination's records, days and manifests never take it in."""
    kind, bucket, prefix = parse_bucket_url(url)
    destination = destination_of_bucket(conn, workspace_id, kind, bucket, prefix)
    if destination is None:
        raise UserError(f"the workspace has no live {kind} destination for bucket {bucket!r}; add one in the "
                        "dashboard (exports never use the worker's own cloud credentials)")
    target = target_of(conn, destination, prefix=prefix)
    if destination.prefix.rstrip("/") != prefix:
        return ExportTarget(None, target.sink, target.fmt, target.datasets)
    return target


def export_request(conn: Conn, request_id: int, task_id: str | None = None, attempt: int = 0) -> dict[str, Any]:
    """A meter.export_requests row: its dataset for its period (both days included) to every live destination
    of the workspace, in the destinations' layout and format; each destination its own run
    (`request:N destination:M`), a failing one stopping no other."""
    request = store.export_request(conn, request_id)
    openers = destination_openers(conn, request.workspace_id)
    if not openers:
        raise UserError("the workspace has no live export destination: add one in the dashboard, or export with "
                        "`halton-workers export --to FILE`")
    as_of = request.requested_at

    def one(destination_id: int, opener: Callable[[], ExportTarget]) -> dict[str, Any]:
        job = OnDemand(request.workspace_id, request.dataset, request.period_start,
                       request.period_end + timedelta(days=1), as_of, request_id=request.id,
                       destination_id=destination_id)
        return export_period(conn, job, opener, task_id, attempt)

    done = each_destination(request.workspace_id, openers, one)
    return {"job": "export_request", "request_id": request_id, "workspace_id": request.workspace_id,
            "destinations": len(done), "objects_written": sum(int(d.get("objects_written", 0)) for d in done)}
