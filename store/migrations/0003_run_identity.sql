-- What a run needs to be matched to the lock it held, and what an operator reading runs wants to know.
alter table analysis.runs
    add column lock_scope  text null,     -- the lock this run held: its window, or a wider scope ('workspace')
    add column attempt     integer not null default 0,  -- Celery's retry count of the delivery
    add column replay      boolean not null default false;
create index runs_running_scope on analysis.runs (workspace_id, job, lock_scope) where status = 'running';
drop index analysis.runs_running;  -- the index above serves every query it served

-- runs written before this migration: the refresh locked its workspace; anything else left running
-- then has no lock scope to be matched by and is closed here
update analysis.runs set lock_scope = 'workspace' where job = 'refresh' and lock_scope is null;
update analysis.runs
   set status = 'failed', finished_at = now(),
       error = 'abandoned: left running before migration 0003 and could not be matched to a lock'
 where status = 'running' and lock_scope is null;
