"""The incremental day caches' shared machinery: windows of UTC days, the days that changed, the late-commit margin.

Several tables are per-day caches of meter.requests, rebuilt only for the days that need it: the rollup
(store/rollup.py, the whole history kept), the catalog's days (store/catalog_scan.py), the clustering's key
arrays and shape cells (store/clustering_days.py), read back by the savings stage. Each keeps a state row saying
which days it built, [first_day, end_day), and up to which synced_at they are complete (`synced_through`).
A later refresh rebuilds the days of its window it has not built yet and the built days that received
rows synced since then, found on the index (workspace_id, synced_at) include (started_at), so the cost
follows what was synced, not the length of the window.

The late-commit margin: a request's synced_at is when its sync transaction started, which may commit up to
LATE_COMMIT_MARGIN later, after a refresh read; so a refresh as of T counts every row synced by T - margin
(its settled moment) and the next one looks back that far.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from core.db import Conn
from core.periods import history_start, utc_midnight

WINDOW_DAYS = 30  # the stages' trailing windows of whole days
LATE_COMMIT_MARGIN = timedelta(minutes=10)
DayRange = tuple[date, date]  # [first, end)
CacheState = tuple[datetime, date, date]  # synced_through, first built day, end of built days


@dataclass(frozen=True)
class DayWindow:
    """Whole UTC days [first_day, end_day): a stage's trailing window or the rollup's history kept."""

    first_day: date
    end_day: date  # exclusive

    @classmethod
    def ending_before(cls, as_of: datetime, days: int = WINDOW_DAYS) -> DayWindow:
        """The `days` whole days before as_of's UTC day."""
        end_day = as_of.astimezone(UTC).date()
        return cls(first_day=end_day - timedelta(days=days), end_day=end_day)

    @classmethod
    def history(cls, moment: datetime, years: int) -> DayWindow:
        """Whole calendar years of history (`years` before the moment's year) up to the moment's UTC day,
        inclusive: the rollup keeps today so far (issue 17)."""
        today = moment.astimezone(UTC).date()
        return cls(first_day=history_start(today, years), end_day=today + timedelta(days=1))

    def days(self) -> list[date]:
        return days_between(self.first_day, self.end_day)

    @property
    def start(self) -> datetime:
        return utc_midnight(self.first_day)

    @property
    def end(self) -> datetime:
        return utc_midnight(self.end_day)


def days_between(first: date, end: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((end - first).days)]


def settled_moment(as_of: datetime) -> datetime:
    """The moment every request received by is counted by a refresh as of `as_of` (see the margin above)."""
    return as_of - LATE_COMMIT_MARGIN


# the days of a range that received rows synced in an interval (workspace, after, until, range start, end)
LATE_DAYS = """
    select distinct date_bin('1 day', started_at, timestamptz '2000-01-01 00:00:00+00')
    from meter.requests
    -- any(): no gate per row under row-level security (store/row_security.py)
    where workspace_id = any(array[%s]) and synced_at > %s and synced_at <= %s
      and started_at >= %s and started_at < %s"""


def late_days(conn: Conn, workspace_id: int, built: DayRange, synced_after: datetime,
              synced_until: datetime) -> list[date]:
    """The days of `built` that received rows synced in (synced_after, synced_until]: an index range on
    (workspace_id, synced_at), whatever the age of the rows' days."""
    rows = conn.execute(LATE_DAYS, (workspace_id, synced_after, synced_until, utc_midnight(built[0]),
                                    utc_midnight(built[1]))).fetchall()
    return sorted(row[0].astimezone(UTC).date() for row in rows)


def stale_ranges(conn: Conn, workspace_id: int, window: DayWindow, as_of: datetime,
                 state: CacheState | None) -> list[DayRange]:
    """The days of `window` to rebuild for `as_of`: every day when none is built; otherwise the days not
    built yet (new days, and older ones when the window grew back) and the built days whose rows changed
    between the state's moment and as_of (rows synced since, or for a replay of an earlier moment, rows
    synced after the moment replayed)."""
    if state is None:
        return [(window.first_day, window.end_day)]
    synced_through, built_from, built_to = state
    unbuilt = [(window.first_day, min(built_from, window.end_day)),
               (max(built_to, window.first_day), window.end_day)]
    built = (max(window.first_day, built_from), min(window.end_day, built_to))
    late: list[DayRange] = []
    if built[0] < built[1]:
        since = min(as_of, synced_through) - LATE_COMMIT_MARGIN
        late = [(day, day + timedelta(days=1))
                for day in late_days(conn, workspace_id, built, since, max(as_of, synced_through))]
    return merged(unbuilt + late)


def days_to_recompute(conn: Conn, workspace_id: int, window: DayWindow, as_of: datetime,
                      state: CacheState | None) -> tuple[list[date], bool]:
    """stale_ranges as a list of days, and whether that is the whole window, for a cache that rebuilds its
    whole window for an as_of older than its state's rather than only the days changed since."""
    if state is None or as_of < state[0]:
        return window.days(), True
    changed = [day for first, end in stale_ranges(conn, workspace_id, window, as_of, state)
               for day in days_between(first, end)]
    return changed, len(changed) == len(window.days())


def merged(ranges: list[DayRange]) -> list[DayRange]:
    """The union of day ranges as sorted, disjoint, non-adjacent ranges (empty ones dropped)."""
    out: list[DayRange] = []
    for first, end in sorted(r for r in ranges if r[0] < r[1]):
        if out and first <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((first, end))
    return out


def contiguous_ranges(days: list[date]) -> list[DayRange]:
    """[(first, end_exclusive)] covering the sorted distinct `days` with as few ranges as possible."""
    ranges: list[DayRange] = []
    for day in sorted(set(days)):
        if ranges and ranges[-1][1] == day:
            ranges[-1] = (ranges[-1][0], day + timedelta(days=1))
        else:
            ranges.append((day, day + timedelta(days=1)))
    return ranges


def plan_day_batches(days: Sequence[date], requests_per_day: Mapping[date, int], limit: int, *,
                     consecutive: bool = True) -> list[list[date]]:
    """The sorted distinct `days` cut into runs (of consecutive days, unless not `consecutive`: for a reader
    that takes a list of days) whose requests add up to at most `limit`; a day without a count, or with more
    than `limit`, is a batch of its own."""
    batches: list[list[date]] = []
    total = 0
    for day in sorted(set(days)):
        requests = requests_per_day.get(day, limit + 1)
        follows = bool(batches) and (not consecutive or batches[-1][-1] + timedelta(days=1) == day)
        if follows and total + requests <= limit:
            batches[-1].append(day)
            total += requests
        else:
            batches.append([day])
            total = requests
    return batches
