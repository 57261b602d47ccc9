-- analysis.daily_totals: analysis.daily_spend summed per UTC day, project and provider (devices, models
-- and service tiers folded in), rebuilt by the rollup together with the days of daily_spend it rebuilds.
-- The executive summary reads a year of spend per day, provider and project: of daily_spend that is
-- hundreds of thousands of rows for a team (a row per device, model and tier), of this a few thousand.
create table analysis.daily_totals (
    workspace_id bigint not null,
    day          date not null,
    project_id   bigint null,       -- null: unattributed
    provider     text not null,
    requests     bigint not null,
    cost_nanos   bigint not null
);
create unique index daily_totals_key on analysis.daily_totals
    (workspace_id, day, coalesce(project_id, -1), provider);

insert into analysis.daily_totals (workspace_id, day, project_id, provider, requests, cost_nanos)
select workspace_id, day, project_id, provider, sum(requests), sum(cost_nanos)
from analysis.daily_spend
group by workspace_id, day, project_id, provider;
