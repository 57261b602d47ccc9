-- Row-level security (issue 16 item 6), the meter side: skipped by `migrate --skip-meter`, because in
-- production the sync service owns `meter` and its owner runs this file (deploy/runbook.md, "Row-level
-- security"), then the statements that name the fleet's role (store/row_security.py; the runbook lists them).
--
-- Row-level security is switched on for every meter table, with a permissive policy for every role, so
-- nothing changes for the dashboard, the sync service (an owner bypasses it anyway) or any other reader;
-- `migrate` adds a restrictive policy for the fleet's role alone: only the rows of the workspace its
-- connection is scoped to (the setting halton.workspace_id; unset: no rows at all).

alter table meter.workspaces enable row level security;
alter table meter.cost_centers enable row level security;
alter table meter.projects enable row level security;
alter table meter.devices enable row level security;
alter table meter.requests enable row level security;
alter table meter.billing_statements enable row level security;
alter table meter.provider_connections enable row level security;
alter table meter.check_suppressions enable row level security;
alter table meter.recommendation_decisions enable row level security;
alter table meter.report_requests enable row level security;
alter table meter.budgets enable row level security;
alter table meter.alert_channels enable row level security;

create policy every_role on meter.workspaces using (true) with check (true);
create policy every_role on meter.cost_centers using (true) with check (true);
create policy every_role on meter.projects using (true) with check (true);
create policy every_role on meter.devices using (true) with check (true);
create policy every_role on meter.requests using (true) with check (true);
create policy every_role on meter.billing_statements using (true) with check (true);
create policy every_role on meter.provider_connections using (true) with check (true);
create policy every_role on meter.check_suppressions using (true) with check (true);
create policy every_role on meter.recommendation_decisions using (true) with check (true);
create policy every_role on meter.report_requests using (true) with check (true);
create policy every_role on meter.budgets using (true) with check (true);
create policy every_role on meter.alert_channels using (true) with check (true);

-- The reads across workspaces the fleet needs, each as narrow as its caller: ids only (and the id of one
-- slug or one report request), and the price table's lint its models. They run as the owner of meter, which row-level security does not restrict.

-- the scheduler's nightly fan-out and the reconcile sweep
create function meter.fleet_workspace_ids() returns setof bigint
    language sql stable security definer set search_path = pg_catalog, pg_temp
    as $$ select id from meter.workspaces order by id $$;

-- the nightly billing pull's fan-out
create function meter.fleet_workspaces_with_connections() returns setof bigint
    language sql stable security definer set search_path = pg_catalog, pg_temp
    as $$ select distinct workspace_id from meter.provider_connections where revoked_at is null order by 1 $$;

-- the command line names a workspace by its slug
create function meter.fleet_workspace_of_slug(p_slug text) returns bigint
    language sql stable security definer set search_path = pg_catalog, pg_temp
    as $$ select id from meter.workspaces where slug = p_slug $$;

-- a report task gets the id of a meter.report_requests row, and must know its workspace to read it
create function meter.fleet_workspace_of_report_request(p_request_id bigint) returns bigint
    language sql stable security definer set search_path = pg_catalog, pg_temp
    as $$ select workspace_id from meter.report_requests where id = p_request_id $$;

-- `rates check --traffic`: the models and tiers any workspace sent, for gaps in the shared price table
create function meter.fleet_models_in_traffic() returns table (provider text, model text, service_tier text)
    language sql stable security definer set search_path = pg_catalog, pg_temp
    as $$ select distinct provider, model, service_tier from meter.requests order by 1, 2, 3 $$;

revoke execute on function meter.fleet_workspace_ids(), meter.fleet_workspaces_with_connections(),
    meter.fleet_workspace_of_slug(text), meter.fleet_workspace_of_report_request(bigint),
    meter.fleet_models_in_traffic() from public;
