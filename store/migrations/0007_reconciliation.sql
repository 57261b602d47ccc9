-- Reconciliation: the provider billing data the fleet pulled or imported, and what a sweep needs to
-- know whether a month's inputs changed since it was last reconciled.

-- One UTC day of a provider's billing data (an API pull or an export import), with its lines and credits.
create table analysis.billing_days (
    workspace_id  bigint not null,
    provider      text not null,
    day           date not null,
    origin        text not null,   -- 'openai_costs_api','anthropic_cost_report','gemini_billing_export','xai_usage_export'
    charges_nanos bigint not null,
    credits_nanos bigint not null, -- <= 0
    line_items    jsonb not null,  -- [{"description": …, "amount_nanos": …}], credits negative
    run_id        bigint not null,
    primary key (workspace_id, provider, day)
);

-- The months a pull or an import covered: a month with a row here is billed (an empty month is $0),
-- and changed_at moves only when its figures changed, so the latest word (paste or pull) can be told.
create table analysis.billing_months (
    workspace_id bigint not null,
    provider     text not null,
    period       date not null,
    origin       text not null,
    checksum     text not null,   -- of the month's days as pulled
    changed_at   timestamptz not null,
    pulled_at    timestamptz not null,
    run_id       bigint not null,
    primary key (workspace_id, provider, period)
);

-- What the reconciliation row was computed from (requests, the statement or pull, the rates): the sweep
-- recomputes a month whose inputs no longer match, and a rerun with the same inputs changes nothing.
alter table analysis.reconciliation add column inputs text null;
alter table analysis.reconciliation add column bill_reference text null;  -- 'statement:42' or 'pull:openai_costs_api'

create index reconciliation_findings_request on analysis.reconciliation_findings (request_id)
    where request_id is not null;
create index audit_events_resource on analysis.audit_events (workspace_id, resource, at);
