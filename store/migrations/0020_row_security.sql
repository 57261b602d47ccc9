-- Row-level security (issue 16 item 6), the analysis side. The policies are issued by `migrate` after the
-- migrations (store/row_security.py): they name the fleet's role, which is configurable, and they cover
-- every analysis table with a workspace_id, including tables later migrations add.
--
-- A job of the fleet sees one workspace's rows (the one its connection is scoped to). The one job that
-- must look across workspaces here is the worker's parent closing the runs of a delivery the hard time
-- limit killed: it knows the task id, not the workspace. This function tells it the workspace(s), and
-- nothing else; the closing itself then runs scoped to each.

create function analysis.fleet_workspaces_of_running_task(p_task_id text) returns setof bigint
    language sql stable security definer set search_path = pg_catalog, pg_temp
    as $$ select distinct workspace_id from analysis.runs
          where task_id = p_task_id and status = 'running' order by 1 $$;
revoke execute on function analysis.fleet_workspaces_of_running_task(text) from public;
