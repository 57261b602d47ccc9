-- The optimisation catalog's lifecycle: whether a recommendation's finding fired in the latest catalog
-- run (a finding that disappears resolves its recommendation, while a decision or a suppression still
-- wins), and the workspace total of realised savings the dashboard quotes.
alter table analysis.recommendations
    add column present boolean not null default true;

create index recommendations_status on analysis.recommendations (workspace_id, status);

create view analysis.realised_savings_total as
select workspace_id,
       sum(saved_nanos)::bigint      as saved_nanos,
       count(distinct fingerprint)   as recommendations,
       min(month)                    as first_month,
       max(computed_at)              as computed_at
  from analysis.realised_savings
 group by workspace_id;
