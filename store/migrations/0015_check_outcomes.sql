-- Checks that cannot sink each other (issue 15). A check that raises is recorded with its error while the
-- other checks' findings are written; its earlier recommendations keep their state (a failed check says
-- nothing about whether they still hold).
--
-- One row per workspace and check: how the check fared in the workspace's latest catalog run, replaced by
-- each run in its results transaction. failing_since is the as_of of the first of the runs it has failed
-- in a row (null while it succeeds); last_ok_at the as_of of its latest run without error.
create table analysis.check_outcomes (
    workspace_id  bigint not null,
    check_id      text not null,
    run_id        bigint not null,
    as_of         timestamptz not null,
    status        text not null check (status in ('ok', 'failed')),
    findings      integer not null,
    error         text null,
    failing_since timestamptz null,
    last_ok_at    timestamptz null,
    primary key (workspace_id, check_id),
    check ((status = 'failed') = (error is not null)),
    check ((status = 'failed') = (failing_since is not null))
);

-- The checks the headline leaves out: those that failed in the catalog run it comes from. Every figure of
-- the row is then over the open recommendations of the other checks.
alter table analysis.catalog_summary add column failed_checks text[] not null default '{}';
