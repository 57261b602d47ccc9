-- What a stored report counts (issue 14): the requests of its days received up to a moment, and whether
-- requests of those days have arrived since (a daemon that was offline syncs old rows late), so the
-- dashboard can say the report may be re-rendered.
alter table analysis.reports
    add column counted_through    timestamptz null,  -- every request of the days below received by then is counted
    add column counted_from       date null,         -- the UTC days the figures read: [counted_from, counted_to)
    add column counted_to         date null,         -- the end of the period as asked (exclusive)
    add column counted_project_id bigint null;       -- a project report's project; null: the whole workspace

-- Whether requests of [first_day, end_day) (of one project when given) were received after `since`. One probe
-- of meter.requests: the index (workspace_id, synced_at) include (started_at) from `since` on, or the days
-- through (workspace_id, started_at), whichever the planner finds fewer rows in. PL/pgSQL resolves the table
-- when called, so the analysis schema can be migrated where the sync service creates meter later.
create function analysis.requests_received_after(p_workspace bigint, p_project bigint, p_since timestamptz,
                                                 p_first_day date, p_end_day date) returns boolean
language plpgsql stable as $$
begin
    return exists (select 1 from meter.requests q
                    where q.workspace_id = p_workspace and q.synced_at > p_since
                      and q.started_at >= (p_first_day::timestamp at time zone 'UTC')
                      and q.started_at < (p_end_day::timestamp at time zone 'UTC')
                      and (p_project is null or q.project_id = p_project));
end $$;

-- One row per succeeded report that recorded what it counts; later_requests: a re-render would count more.
create view analysis.report_freshness as
select request_id, workspace_id, counted_through, counted_from, counted_to, counted_project_id,
       analysis.requests_received_after(workspace_id, counted_project_id, counted_through, counted_from,
                                        counted_to) as later_requests
  from analysis.reports
 where status = 'succeeded' and counted_through is not null;
