-- Run state as data: why a run failed is a kind, not a prefix of its message; the lock a run held is
-- its advisory-lock key, not a formatted string.
alter table analysis.runs
    add column failure_kind text null
        check (failure_kind in ('error', 'user_error', 'abandoned', 'given_up', 'timeout', 'skipped')),
    add column lock_key bigint null;  -- the advisory lock the run held (store.claims.lock_key)

update analysis.runs set failure_kind = case
        when error like 'abandoned:%' then 'abandoned'
        when error like 'given up:%' then 'given_up'
        when error like 'hard time limit%' then 'timeout'
        else 'error' end
 where status = 'failed';

-- window-scoped runs recorded their window as text in lock_scope; the window columns hold it already
update analysis.runs set lock_scope = null where lock_scope like '%|%';

create index runs_running_lock on analysis.runs (workspace_id, lock_key) where status = 'running';
create index runs_deaths on analysis.runs (workspace_id, lock_key, task_id) where failure_kind = 'abandoned';
drop index analysis.runs_running_scope;
