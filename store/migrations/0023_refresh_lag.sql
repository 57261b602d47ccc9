-- Refresh lag (issue 18 item 4): the metric halton_refresh_lag_seconds is the age of the oldest of the
-- workspaces' last successful refresh. The worker's parent reads it at scrape time as the fleet's role,
-- which sees one workspace's runs at a time (row-level security, 0020); this function gives it one
-- timestamp across the workspaces it names (the ids of meter.fleet_workspace_ids(), so a removed workspace
-- never counts), and nothing else. A workspace without a successful run of `p_job` is left out (a new one
-- has not had its first night yet). One index probe per workspace (runs_workspace_job), walking back over
-- its failed runs only.

create function analysis.fleet_oldest_success(p_workspace_ids bigint[], p_job text) returns timestamptz
    language sql stable security definer set search_path = pg_catalog, pg_temp
    as $$ select min(latest.finished_at)
            from unnest(p_workspace_ids) as w(id)
           cross join lateral (select r.finished_at from analysis.runs r
                                where r.workspace_id = w.id and r.job = p_job and r.status = 'succeeded'
                                order by r.started_at desc limit 1) latest $$;
revoke execute on function analysis.fleet_oldest_success(bigint[], text) from public;
