"""The stages of the nightly refresh of one workspace, in order, and what each needs.

A stage is a job of its own: its own analysis.runs row (job = the stage's name), its own lock, its
own results transaction. It reads through store/, computes with a pure domain package and writes with
`with run.results() as tx:`. The list is explicit: a stage module that is not listed here never runs,
and the test of the pipeline pins the order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.db import Conn
from store.runs import Run

ANALYSIS_WINDOW = timedelta(days=30)  # clustering and checks look at [as_of - 30 days, as_of)


@dataclass(frozen=True)
class StageContext:
    conn: Conn  # autocommit; the stage's run holds its advisory lock on it
    workspace_id: int
    as_of: datetime
    replay: bool = False
    # the report a refresh was run for (its request id, or who asked on the command line), not the nightly's
    for_report: int | str | None = None
    # the primary's log position when the refresh started, when DATABASE_READ_URL names a replica: heavy reads
    # go there only once it has replayed past it (workers/runtime/replica.py)
    read_lsn: str | None = None


def trailing_window(as_of: datetime) -> tuple[datetime, datetime]:
    return as_of - ANALYSIS_WINDOW, as_of


@dataclass(frozen=True)
class Stage:
    name: str  # also the job name of its runs
    needs: tuple[str, ...]  # stages that must have succeeded in the same refresh
    run: Callable[[StageContext, Run], None]  # must close the run with run.results()
    window: Callable[[datetime], tuple[datetime, datetime]] = trailing_window
    # The moment the stage's results are current to: a stage with a state of its own may read it there; by
    # default, the as_of of its latest successful run. The pipeline leaves the results alone
    # when they are current to a later moment than a refresh's as_of (already_current), unless it is a
    # replay, so a refresh that waited in the queue never rewinds them.
    current_to: Callable[[Conn, int], datetime | None] | None = None
    # A stage whose run decides that itself, from the state it reads once: the rollup in its results
    # transaction, locked (a pulse also writes it: a check before the lock could miss a pulse committing after
    # it); the clustering with the workspace's time zone, the read it needs anyway (a round trip less). It
    # records ALREADY_CURRENT in its stats and writes nothing then. The pipeline asks nothing first.
    decides_current_in_run: bool = False


ALREADY_CURRENT = "already_current_to"  # the stats of a stage run that left later results alone


def already_current(current_to: datetime | None, ctx: StageContext) -> bool:
    """Whether results current to `current_to` stay as they are for this refresh: a later moment than its
    as_of, and the refresh not a replay."""
    return current_to is not None and current_to > ctx.as_of and not ctx.replay
