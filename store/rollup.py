"""analysis.daily_spend: the incremental daily rollup of meter.requests (and analysis.daily_totals, its
sums per day, project and provider).

A day is a UTC calendar day. The window of a refresh is the `days` complete days before the day of
`as_of`; a row counts once it has been synced by `as_of` (synced_at <= as_of), so a replay for a past
moment sees exactly what the fleet could have seen then.

Incremental: analysis.rollup_state remembers up to which synced_at the rollup is complete. A later
refresh recomputes only the window days it has not built yet and the days that received rows synced
since then (late-arriving rows from an offline daemon included). The look-back margin covers rows
whose transaction committed after a refresh although their synced_at (the transaction's start) is
older. A refresh for an earlier as_of than the one recorded changes nothing (the rollup is already fresher:
a queued nightly run must not rewind what an on-demand refresh brought forward), unless it is an
explicit replay, which rebuilds its whole window as of that moment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from core.db import Conn
from core.periods import utc_midnight as utc_midnight  # re-exported: store modules take it from here

WINDOW_DAYS = 30
LATE_COMMIT_MARGIN = timedelta(minutes=10)


@dataclass(frozen=True)
class RollupWindow:
    first_day: date
    end_day: date  # exclusive

    @classmethod
    def ending_before(cls, as_of: datetime, days: int = WINDOW_DAYS) -> RollupWindow:
        end_day = as_of.astimezone(UTC).date()
        return cls(first_day=end_day - timedelta(days=days), end_day=end_day)

    def days(self) -> list[date]:
        return [self.first_day + timedelta(days=i) for i in range((self.end_day - self.first_day).days)]

    @property
    def start(self) -> datetime:
        return utc_midnight(self.first_day)

    @property
    def end(self) -> datetime:
        return utc_midnight(self.end_day)


@dataclass(frozen=True)
class RollupResult:
    days_recomputed: list[date]
    full_rebuild: bool
    rows_written: int
    # set when the rollup was already complete beyond this as_of and nothing was changed
    already_current_to: datetime | None = None

    def stats(self) -> dict[str, object]:
        stats: dict[str, object] = {
            "rollup_days_recomputed": len(self.days_recomputed),
            "rollup_full_rebuild": self.full_rebuild,
            "rollup_rows": self.rows_written,
        }
        if self.already_current_to is not None:
            stats["rollup_already_current_to"] = self.already_current_to.isoformat()
        return stats


RollupState = tuple[datetime, date, date]  # synced_through, first built day, end of built days


def load_state(conn: Conn, workspace_id: int) -> RollupState | None:
    row = conn.execute(
        """select synced_through, window_start, window_end from analysis.rollup_state
           where workspace_id = %s for update""",
        (workspace_id,),
    ).fetchone()
    return None if row is None else (row[0], row[1], row[2])


def days_to_recompute(conn: Conn, workspace_id: int, window: RollupWindow, as_of: datetime,
                      state: RollupState | None) -> tuple[list[date], bool]:
    """The window days whose rollup is missing or stale, and whether that is the whole window."""
    if state is None or as_of < state[0]:
        return window.days(), True
    synced_through, built_from, built_to = state
    unbuilt = [d for d in window.days() if d < built_from or d >= built_to]
    # Only the days already built can be stale; the unbuilt ones (the new day) are recomputed anyway.
    built = RollupWindow(first_day=max(window.first_day, built_from), end_day=min(window.end_day, built_to))
    late = conn.execute(
        """select distinct date_bin('1 day', started_at, timestamptz '2000-01-01 00:00:00+00')
           from meter.requests
           where workspace_id = %s and synced_at > %s and synced_at <= %s
             and started_at >= %s and started_at < %s""",
        (workspace_id, synced_through - LATE_COMMIT_MARGIN, as_of, built.start, built.end),
    ).fetchall() if built.first_day < built.end_day else []
    changed = sorted(set(unbuilt) | {row[0].astimezone(UTC).date() for row in late})
    return changed, len(changed) == len(window.days())


def contiguous_ranges(days: list[date]) -> list[tuple[date, date]]:
    """[(first, end_exclusive)] covering the sorted distinct `days` with as few ranges as possible."""
    ranges: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if ranges and ranges[-1][1] == day:
            ranges[-1] = (ranges[-1][0], day + timedelta(days=1))
        else:
            ranges.append((day, day + timedelta(days=1)))
    return ranges


# date_bin is integer arithmetic on the timestamp; converting every row to a UTC date instead (a time
# zone conversion per row) costs about a sixth of the whole scan, so the date is made once per group.
_INSERT_RANGE = """
    insert into analysis.daily_spend
        (workspace_id, day, project_id, device_id, provider, model, service_tier, requests, errors,
         input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nanos)
    select %(workspace)s, (utc_midnight at time zone 'UTC')::date, project_id, device_id, provider, model, service_tier,
           requests, errors, input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens,
           cost_nanos
    from (
        select date_bin('1 day', started_at, timestamptz '2000-01-01 00:00:00+00') as utc_midnight,
               project_id, device_id, provider, model, service_tier,
               count(*) as requests, count(*) filter (where status_code >= 400) as errors,
               sum(input_tokens) as input_tokens, sum(cache_read_tokens) as cache_read_tokens,
               sum(cache_write_tokens) as cache_write_tokens, sum(output_tokens) as output_tokens,
               sum(reasoning_tokens) as reasoning_tokens, sum(cost_nanos) as cost_nanos
        from meter.requests
        where workspace_id = %(workspace)s and started_at >= %(start)s and started_at < %(end)s
          and synced_at <= %(as_of)s
        group by 1, project_id, device_id, provider, model, service_tier
    ) as per_day"""


_TOTALS = """
    insert into analysis.daily_totals (workspace_id, day, project_id, provider, requests, cost_nanos)
    select workspace_id, day, project_id, provider, sum(requests), sum(cost_nanos)
    from analysis.daily_spend where workspace_id = %s and day = any(%s)
    group by workspace_id, day, project_id, provider"""


def rebuild_days(conn: Conn, workspace_id: int, days: list[date], as_of: datetime) -> int:
    """Replace the rollup rows of `days`, and their daily totals; the caller's transaction makes it atomic."""
    if not days:
        return 0
    for table in ("daily_spend", "daily_totals"):
        conn.execute(f"delete from analysis.{table} where workspace_id = %s and day = any(%s)",  # fixed names
                     (workspace_id, days))
    # One range predicate per run of consecutive days (a full window is one), so the planner can pick a
    # sequential, bitmap or index scan by how much of the table the range covers.
    written = 0
    for first, end in contiguous_ranges(days):
        cursor = conn.execute(_INSERT_RANGE, {
            "workspace": workspace_id, "as_of": as_of,
            "start": utc_midnight(first), "end": utc_midnight(end),
        })
        written += cursor.rowcount
    sum_daily_totals(conn, workspace_id, days)
    return written


def sum_daily_totals(conn: Conn, workspace_id: int, days: list[date]) -> None:
    """Write the daily totals of `days` from their daily_spend rows (deleted first by the caller)."""
    conn.execute(_TOTALS, (workspace_id, days))


def save_state(conn: Conn, workspace_id: int, window: RollupWindow, as_of: datetime, run_id: int) -> None:
    conn.execute(
        """insert into analysis.rollup_state (workspace_id, synced_through, window_start, window_end, run_id,
                                              updated_at)
           values (%s, %s, %s, %s, %s, clock_timestamp())
           on conflict (workspace_id) do update
              set synced_through = excluded.synced_through,
                  window_start = least(analysis.rollup_state.window_start, excluded.window_start),
                  window_end = excluded.window_end,
                  run_id = excluded.run_id, updated_at = excluded.updated_at""",
        (workspace_id, as_of, window.first_day, window.end_day, run_id),
    )


def refresh_daily_spend(conn: Conn, workspace_id: int, as_of: datetime, run_id: int,
                        days: int = WINDOW_DAYS, replay: bool = False) -> RollupResult:
    """Bring the rollup of the window before `as_of` up to date. Call inside the results transaction.

    With `replay`, an as_of older than the rollup's rebuilds the window as of that past moment."""
    window = RollupWindow.ending_before(as_of, days)
    state = load_state(conn, workspace_id)
    if state is not None and as_of < state[0] and not replay:
        return RollupResult(days_recomputed=[], full_rebuild=False, rows_written=0, already_current_to=state[0])
    changed, full = days_to_recompute(conn, workspace_id, window, as_of, state)
    rows = rebuild_days(conn, workspace_id, changed, as_of)
    save_state(conn, workspace_id, window, as_of, run_id)
    return RollupResult(days_recomputed=changed, full_rebuild=full, rows_written=rows)
