-- What a stored report counts, worked out from the rollup's days instead of from everything synced since
-- (review of issue 14, findings 3 and 6).
--
-- synced_at is when the sync transaction started, so a request can commit up to the late-commit margin
-- (store/rollup.py LATE_COMMIT_MARGIN, 10 minutes) after others that arrived later: a refresh as of T counts
-- every request received by T - margin, and some of those received after. The rollup now says so:
--   rollup_state.settled_through  T - margin: every request received by then is counted
--   last_synced_at                per row, the latest arrival among the requests it counts
--   margin_requests               per row, how many of them arrived after the latest refresh's settled
--                                 moment (a refresh rebuilds every day with requests received after the last
--                                 one's settled moment, so a row built earlier has none)
-- A report stores the requests and spend it counted, and analysis.report_freshness compares them with the
-- rollup's days and the few requests received since the rollup's settled moment: its cost follows the
-- report's days and the traffic of the last refresh, not all that was synced since the period ended.
alter table analysis.daily_spend
    add column last_synced_at  timestamptz null,
    add column margin_requests bigint null;
alter table analysis.daily_totals
    add column last_synced_at  timestamptz null,
    add column margin_requests bigint null;
alter table analysis.rollup_state add column settled_through timestamptz null;
update analysis.rollup_state set settled_through = synced_through - interval '10 minutes';

alter table analysis.reports
    add column counted_requests bigint null,      -- the requests its figures count, over its days (and project)
    add column counted_nanos    bigint null;      -- their spend

-- The daily totals built before: their latest arrival and margin from meter.requests, where it exists (in
-- production the sync service may create meter after this migration; then there is nothing rolled up yet).
do $$
begin
    if to_regclass('meter.requests') is not null then
        execute $backfill$
            update analysis.daily_totals t
               set last_synced_at = m.last_synced_at, margin_requests = m.margin_requests
              from (select q.workspace_id, (q.started_at at time zone 'UTC')::date as day, q.project_id, q.provider,
                           max(q.synced_at) as last_synced_at,
                           count(*) filter (where q.synced_at > s.settled_through) as margin_requests
                      from meter.requests q
                      join analysis.rollup_state s on s.workspace_id = q.workspace_id
                     where q.synced_at <= s.synced_through
                       and q.started_at >= (s.window_start::timestamp at time zone 'UTC')
                     group by 1, 2, 3, 4) m
             where t.workspace_id = m.workspace_id and t.day = m.day and t.provider = m.provider
               and t.project_id is not distinct from m.project_id
        $backfill$;
    end if;
end $$;

-- Whether a re-render of a report would count other requests than it did: the rollup now counts other
-- figures on its days; requests of its days were received since the rollup's settled moment that the
-- rollup has not counted (their number against its margin_requests); or the report's days run past the
-- days the rollup has built (today, when the period asked ran into it) and those have requests.
create function analysis.report_counts_changed(p_workspace bigint, p_project bigint, p_first_day date,
                                               p_end_day date, p_requests bigint, p_nanos bigint)
returns boolean language plpgsql stable as $$
declare
    state_settled timestamptz;
    state_end date;
    built_end date;
    rolled_requests bigint;
    rolled_nanos bigint;
    margin_counted bigint;
    margin_received bigint;
begin
    select coalesce(settled_through, synced_through - interval '10 minutes'), window_end
      into state_settled, state_end
      from analysis.rollup_state where workspace_id = p_workspace;
    if not found then
        return true;  -- no rollup left to compare with: a re-render would tell
    end if;
    built_end := least(p_end_day, state_end);
    select coalesce(sum(requests), 0), coalesce(sum(cost_nanos), 0),
           coalesce(sum(margin_requests), 0)
      into rolled_requests, rolled_nanos, margin_counted
      from analysis.daily_totals
     where workspace_id = p_workspace and day >= p_first_day and day < built_end
       and (p_project is null or project_id = p_project);
    if rolled_requests <> p_requests or rolled_nanos <> p_nanos then
        return true;
    end if;
    select count(*) into margin_received
      from meter.requests q
     where q.workspace_id = p_workspace and q.synced_at > state_settled
       and q.started_at >= (p_first_day::timestamp at time zone 'UTC')
       and q.started_at < (built_end::timestamp at time zone 'UTC')
       and (p_project is null or q.project_id = p_project);
    if margin_received <> margin_counted then
        return true;
    end if;
    return built_end < p_end_day
       and exists (select 1 from meter.requests q
                    where q.workspace_id = p_workspace
                      and q.started_at >= (greatest(p_first_day, built_end)::timestamp at time zone 'UTC')
                      and q.started_at < (p_end_day::timestamp at time zone 'UTC')
                      and (p_project is null or q.project_id = p_project));
end $$;

-- Reports rendered before this migration recorded no counts: they keep 0012's probe.
create or replace view analysis.report_freshness as
select request_id, workspace_id, counted_through, counted_from, counted_to, counted_project_id,
       case when counted_requests is null
            then analysis.requests_received_after(workspace_id, counted_project_id, counted_through, counted_from,
                                                  counted_to)
            else analysis.report_counts_changed(workspace_id, counted_project_id, counted_from, counted_to,
                                                counted_requests, counted_nanos)
       end as later_requests
  from analysis.reports
 where status = 'succeeded' and counted_through is not null;
