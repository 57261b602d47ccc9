-- What the catalog's monthly findings save taken together, kept per scope so that the headline follows a
-- decision without recomputing the catalog (issue 14; checks/overlap.py has the rule).
--
-- A scope is a project (null: unattributed traffic) and a model as reported. fingerprints are the
-- findings whose counterfactuals touch its traffic, in the order the combination takes them (largest
-- stand-alone saving first); subset_savings_nanos holds what each subset of them saves together over the
-- catalog's window, before scaling to a month: element 1 + b (arrays start at 1) for the subset whose bit i
-- is set when fingerprints[i + 1] is taken. A catalog run replaces the workspace's rows.
create table analysis.catalog_combinations (
    workspace_id         bigint not null,
    project_id           bigint null,
    model                text not null,
    fingerprints         text[] not null,
    subset_savings_nanos bigint[] not null,
    run_id               bigint not null,
    check (cardinality(subset_savings_nanos) = 1 << cardinality(fingerprints))
);
create unique index catalog_combinations_key on analysis.catalog_combinations
    (workspace_id, coalesce(project_id, -1), model);

-- The days the catalog run's quotes were scaled from (x 30 / days to a month): the headline, recomputed
-- after a decision, scales the combined window saving the same way.
alter table analysis.catalog_summary add column days_observed integer not null default 30
    check (days_observed between 1 and 30);
