-- Savings that say what they are (issue 14).
--
-- A recommendation's money is one of three kinds: a saving that recurs every month ('monthly'), waste
-- already spent that a fix stops from happening again ('one_off', a runaway loop), or spend above the
-- baseline in an anomaly ('anomaly', a spike). impact_nanos is that money whatever its kind;
-- monthly_saving_nanos is 0 unless the kind is 'monthly', so summing it never adds a one-off to a month.
alter table analysis.recommendations
    add column recurrence text not null default 'monthly'
        check (recurrence in ('monthly', 'one_off', 'anomaly')),
    add column impact_nanos bigint not null default 0;

update analysis.recommendations
   set recurrence = case check_id when 'runaway-loop' then 'one_off'
                                  when 'spend-spike' then 'anomaly'
                                  else 'monthly' end,
       impact_nanos = monthly_saving_nanos;
update analysis.recommendations set monthly_saving_nanos = 0 where recurrence <> 'monthly';

-- The catalog's headline, one row per workspace, replaced by each catalog run in its results
-- transaction. monthly_saving_nanos is what taking every open monthly recommendation together saves:
-- levers on the same traffic combine on one counterfactual bill, so it is at most the sum of the
-- quotes and at least the largest one. One-off and anomaly money is kept apart, never added to it.
create table analysis.catalog_summary (
    workspace_id         bigint primary key,
    run_id               bigint not null,
    computed_at          timestamptz not null,
    open_recommendations bigint not null,
    monthly_saving_nanos bigint not null,
    one_off_nanos        bigint not null,
    anomaly_nanos        bigint not null
);

-- A month keeps reconciling against the last bill that could be read; a later paste that cannot be read
-- is said here ("a paste entered … was refused: …; reconciled against the bill entered …").
alter table analysis.reconciliation add column notice text null;
