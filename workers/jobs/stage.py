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
    # The moment the stage's results are current to: a stage with a state of its own (the rollup, the
    # clustering) reads it there; by default, the as_of of its latest successful run. The pipeline leaves
    # the results alone when they are current to a later moment than a refresh's as_of, unless it is a
    # replay, so a refresh that waited in the queue never rewinds them.
    current_to: Callable[[Conn, int], datetime | None] | None = None
