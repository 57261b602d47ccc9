-- Refresh lag, mended (a review of 0023): a workspace without a successful run of `p_job` was left out, so a
-- workspace failing every night since it was created never raised the lag alert, which exists to catch just
-- that. Now such a workspace counts from its creation (meter.workspaces.created_at): the oldest of all when
-- it has failed for days, minutes when it was created minutes ago (both correct: no refresh has made it
-- current since it exists). Same signature, same narrowness as 0023: one timestamp across the workspaces
-- named (the ids of meter.fleet_workspace_ids(); an id not in meter.workspaces, a removed workspace, never
-- counts), EXECUTE revoked from PUBLIC and granted to the fleet alone (store/row_security.py, on every
-- migrate; CREATE OR REPLACE keeps the owner and the grants). Per workspace, one probe of its primary key and
-- one of runs_workspace_job walking back over its failed runs only.
--
-- PL/pgSQL resolves meter.workspaces when called, not here (as 0012 does), so `analysis` still migrates where
-- the sync service creates `meter` later. The function runs as the owner of `analysis`: where that role may
-- not read meter.workspaces (production, where the sync service owns `meter`, until its owner grants it:
-- deploy/runbook.md, "Grants on meter in production"), a workspace without a success counts from its first
-- run of `p_job` instead, whatever its status: still every workspace that fails night after night, but not
-- one whose refresh never started.
create or replace function analysis.fleet_oldest_success(p_workspace_ids bigint[], p_job text) returns timestamptz
    language plpgsql stable security definer set search_path = pg_catalog, pg_temp
as $$
declare
    oldest timestamptz;
begin
    begin
        select min(coalesce(latest.finished_at, w.created_at)) into oldest
          from meter.workspaces w
          left join lateral (select r.finished_at from analysis.runs r
                              where r.workspace_id = w.id and r.job = p_job and r.status = 'succeeded'
                              order by r.started_at desc limit 1) latest on true
         where w.id = any(p_workspace_ids);
    exception when insufficient_privilege then
        select min(coalesce(latest.finished_at, first_run.started_at)) into oldest
          from unnest(p_workspace_ids) as w(id)
          left join lateral (select r.finished_at from analysis.runs r
                              where r.workspace_id = w.id and r.job = p_job and r.status = 'succeeded'
                              order by r.started_at desc limit 1) latest on true
          left join lateral (select r.started_at from analysis.runs r
                              where r.workspace_id = w.id and r.job = p_job
                              order by r.started_at limit 1) first_run on true;
    end;
    return oldest;
end $$;
revoke execute on function analysis.fleet_oldest_success(bigint[], text) from public;
