"""The pulse (issue 17 item 1): today's rollup brought forward every few minutes, at the cost of the requests
synced since the last refresh or pulse, never a rescan of a day.

The nightly refresh rebuilds every day that received requests since its last moment (store/rollup.py): right,
but a day's rebuild reads all of that day's requests, which for today, every 10 minutes, is a rescan. The pulse
adds instead. A refresh or pulse as of T counts every request synced by T's settled moment (T - the late-commit
margin) and lists in analysis.rollup_margin the ones synced after it that it counted. The next pulse reads the
requests synced after that settled moment (the index on (workspace_id, synced_at)), adds to each day's rows
the sums of those not listed, and lists anew the ones after its own settled moment, in one statement (one
snapshot). Every request is then counted once: those synced by the settled moment had committed when it read
(the margin's premise, as for the refresh), and those after it are either listed or added now.

A day the rollup had not built yet (midnight passed since the last pulse) is built whole, as the refresh
builds it: it began minutes ago. A workspace without a rollup, or whose history kept moved (a new year), gets
the refresh's rollup instead (store.rollup.refresh_daily_spend).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from core.db import Conn
from core.errors import present
from store import rollup
from store.incremental import settled_moment
from store.rollup import RollupResult, history_window, utc_midnight
from store.tenancy import workspace_scope
from store.workspaces import all_workspace_ids


@dataclass(frozen=True)
class PulseResult:
    requests_added: int  # requests newly counted by the sums
    days_touched: list[date]  # days whose rows changed
    rows_written: int  # daily_spend rows inserted or updated
    days_built: list[date]  # days built whole (new days; or every day, with `refreshed`)
    refreshed: RollupResult | None = None  # the refresh's rollup ran instead (no state, or the history moved)

    def stats(self) -> dict[str, object]:
        stats: dict[str, object] = {"pulse_requests_added": self.requests_added,
                                    "pulse_days_touched": [d.isoformat() for d in self.days_touched],
                                    "pulse_rows": self.rows_written, "pulse_days_built": len(self.days_built)}
        if self.refreshed is not None:
            stats.update(self.refreshed.stats())
        return stats


def has_new_requests(conn: Conn, workspace_id: int, as_of: datetime) -> bool:
    """Whether the workspace has requests synced by as_of that its rollup has not counted: after the settled
    moment of its latest refresh or pulse and not in its list (an index range of a few minutes of requests).
    A workspace without a rollup has, if it has any request."""
    row = conn.execute(
        """select case when s.workspace_id is null
                       then exists (select 1 from meter.requests r where r.workspace_id = %(ws)s
                                    and r.synced_at <= %(as_of)s)
                       else s.synced_through < %(as_of)s and exists (
                            select 1 from meter.requests r
                            where r.workspace_id = %(ws)s and r.synced_at > s.settled_through
                              and r.synced_at <= %(as_of)s
                              and not exists (select 1 from analysis.rollup_margin m
                                              where m.workspace_id = %(ws)s and m.request_id = r.id))
                  end
           from (select %(ws)s::bigint as id) w
           left join analysis.rollup_state s on s.workspace_id = w.id""",
        {"ws": workspace_id, "as_of": as_of},
    ).fetchone()
    return bool(row and row[0])


def workspaces_with_new_requests(conn: Conn, as_of: datetime) -> list[int]:
    """The scheduler's fan-out: every rolled-up workspace with requests its rollup has not counted (one index
    probe per workspace). A workspace never rolled up waits for the nightly refresh. Row-level security shows
    the fleet's role one workspace at a time, so the workspaces come from the narrow function that lists them
    and each is probed in its own scope."""
    found = []
    for workspace_id in all_workspace_ids(conn):
        with workspace_scope(conn, workspace_id):
            row = conn.execute(_NEW_SINCE_ROLLUP, {"ws": workspace_id, "as_of": as_of}).fetchone()
        if row is not None and row[0]:
            found.append(workspace_id)
    return found


_NEW_SINCE_ROLLUP = """
    select s.synced_through < %(as_of)s and exists (
               select 1 from meter.requests r
               where r.workspace_id = s.workspace_id and r.synced_at > s.settled_through and r.synced_at <= %(as_of)s
                 and not exists (select 1 from analysis.rollup_margin m
                                 where m.workspace_id = s.workspace_id and m.request_id = r.id))
      from analysis.rollup_state s where s.workspace_id = %(ws)s"""


# One statement, so the sums and the list come from one snapshot. `fresh`: the requests synced after the last
# settled moment on the days built before (an index range on (workspace_id, synced_at)), each saying whether
# the last refresh or pulse counted it. Per day and combination, those not counted are added; margin_requests
# becomes the combination's requests synced after the new settled moment (every one of them is in `fresh`).
_ADD = """
    with fresh as materialized (
        select r.id, r.synced_at, (r.started_at at time zone 'UTC')::date as day, r.project_id, r.device_id,
               r.provider, r.model, r.service_tier, r.status_code, r.input_tokens, r.cache_read_tokens,
               r.cache_write_tokens, r.output_tokens, r.reasoning_tokens, r.cost_nanos,
               m.request_id is not null as counted
        from meter.requests r
        left join analysis.rollup_margin m on m.workspace_id = r.workspace_id and m.request_id = r.id
        where r.workspace_id = %(ws)s and r.synced_at > %(since)s and r.synced_at <= %(as_of)s
          and r.started_at >= %(first)s and r.started_at < %(end)s
    ),
    unlisted as (
        delete from analysis.rollup_margin m
        where m.workspace_id = %(ws)s
          and not exists (select 1 from fresh f where f.id = m.request_id and f.synced_at > %(settled)s)
    ),
    listed as (
        insert into analysis.rollup_margin (workspace_id, request_id)
        select %(ws)s, id from fresh where synced_at > %(settled)s and not counted
    ),
    added as (
        insert into analysis.daily_spend as d
            (workspace_id, day, project_id, device_id, provider, model, service_tier, requests, errors,
             input_tokens, cache_read_tokens, cache_write_tokens, output_tokens, reasoning_tokens, cost_nanos,
             last_synced_at, margin_requests)
        select %(ws)s, day, project_id, device_id, provider, model, service_tier,
               count(*) filter (where not counted),
               count(*) filter (where not counted and status_code >= 400),
               coalesce(sum(input_tokens) filter (where not counted), 0),
               coalesce(sum(cache_read_tokens) filter (where not counted), 0),
               coalesce(sum(cache_write_tokens) filter (where not counted), 0),
               coalesce(sum(output_tokens) filter (where not counted), 0),
               coalesce(sum(reasoning_tokens) filter (where not counted), 0),
               coalesce(sum(cost_nanos) filter (where not counted), 0),
               max(synced_at), count(*) filter (where synced_at > %(settled)s)
        from fresh
        group by day, project_id, device_id, provider, model, service_tier
        on conflict (workspace_id, day, project_id, device_id, provider, model, service_tier) do update
           set requests = d.requests + excluded.requests, errors = d.errors + excluded.errors,
               input_tokens = d.input_tokens + excluded.input_tokens,
               cache_read_tokens = d.cache_read_tokens + excluded.cache_read_tokens,
               cache_write_tokens = d.cache_write_tokens + excluded.cache_write_tokens,
               output_tokens = d.output_tokens + excluded.output_tokens,
               reasoning_tokens = d.reasoning_tokens + excluded.reasoning_tokens,
               cost_nanos = d.cost_nanos + excluded.cost_nanos,
               last_synced_at = greatest(d.last_synced_at, excluded.last_synced_at),
               margin_requests = excluded.margin_requests
        returning day, requests
    )
    select (select count(*) from fresh where not counted), array(select distinct day from added order by day),
           (select count(*) from added)"""


def pulse_daily_spend(conn: Conn, workspace_id: int, as_of: datetime, run_id: int,
                      history_years: int = rollup.DEFAULT_HISTORY_YEARS) -> PulseResult:
    """Bring the rollup forward to `as_of` by adding what was synced since its last moment. Call inside the
    pulse's results transaction. An as_of not after the rollup's changes nothing."""
    coverage = history_window(as_of, history_years)
    state = rollup.load_state(conn, workspace_id)  # for update: one pulse or refresh of a workspace at a time
    if state is None or coverage.first_day != state[1] or coverage.end_day < state[2] or not _lists_margin(state):
        result = rollup.refresh_daily_spend(conn, workspace_id, as_of, run_id, history_years, state=state)
        return PulseResult(0, result.days_recomputed, result.rows_written, result.days_recomputed, result)
    synced_through, built_from, built_to = state
    if as_of <= synced_through:
        return PulseResult(0, [], 0, [])
    since = _settled_through(conn, workspace_id, synced_through)
    row = conn.execute(_ADD, {"ws": workspace_id, "since": since, "as_of": as_of, "settled": settled_moment(as_of),
                              "first": utc_midnight(built_from), "end": utc_midnight(built_to)}).fetchone()
    row = present(row, "the pulse's summary row")
    added, touched, rows = int(row[0]), list(row[1]), int(row[2])
    # a day begun since the last moment is built whole (its requests listed as the refresh lists them)
    built, new_rows = rollup.rebuild_ranges(conn, workspace_id, [(built_to, coverage.end_day)], as_of) \
        if built_to < coverage.end_day else ([], 0)
    _replace_totals(conn, workspace_id, touched)
    rollup.save_state(conn, workspace_id, coverage, as_of, run_id)
    return PulseResult(added, sorted(set(touched) | set(built)), rows + new_rows, built)


def _lists_margin(state: rollup.RollupState) -> bool:
    """Whether the state was saved by a refresh or pulse that lists its margin: since 0021 the built days run
    to the as_of's day, inclusive. A state saved before counted requests after its settled moment that no list
    names, so the first pulse after the upgrade refreshes instead of adding them a second time."""
    synced_through, _, built_to = state
    return built_to == synced_through.astimezone(UTC).date() + timedelta(days=1)


def _settled_through(conn: Conn, workspace_id: int, synced_through: datetime) -> datetime:
    row = conn.execute("select settled_through from analysis.rollup_state where workspace_id = %s",
                       (workspace_id,)).fetchone()
    return row[0] if row is not None and row[0] is not None else settled_moment(synced_through)


def _replace_totals(conn: Conn, workspace_id: int, days: list[date]) -> None:
    """The daily totals of `days` again from their daily_spend rows (a few hundred rows a day, no request)."""
    if not days:
        return
    conn.execute("delete from analysis.daily_totals where workspace_id = %s and day = any(%s)", (workspace_id, days))
    rollup.sum_daily_totals(conn, workspace_id, days)
