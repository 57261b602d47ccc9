-- meter.requests partitioned by month of started_at (issue 18 item 3): skipped by `migrate --skip-meter`, as
-- every meter migration is; in production the owner of `meter` (the sync service) runs this file, then
-- `select meter.partition_requests_by_month()` when it chooses to convert (deploy/runbook.md, "Partitions").
--
-- The layout: the parent meter.requests (partitioned by range of started_at), one partition per UTC month
-- in the schema meter_partitions, and a DEFAULT partition there that takes any row outside the months
-- created, so no sync ever fails for a month nobody created (an offline daemon's old rows, a clock far
-- ahead). meter_partitions is granted to no one: the fleet and the dashboard read through the parent, whose
-- grants and row-level security policies apply; a partition named directly is refused (no USAGE on the
-- schema), and each partition has row-level security on without a policy, which admits no row to a role
-- that is not its owner, should USAGE ever be granted.
--
-- The key: a partitioned table's unique constraints must contain the partition key, so the primary key is
-- (id, started_at). ids still come from one identity sequence, so they stay unique in practice, and a
-- lookup by id uses the key's index in each partition; but `on conflict (id)` has no constraint to match:
-- an upsert keyed on id alone (a sync's idempotency) must name (id, started_at), which a request's id and
-- start, both fixed by the daemon, give. That is why populated tables are left to the owner's decision.
--
-- A new install (meter.requests empty) is converted here. A populated table is left as it is: converting
-- rewrites every row under an exclusive lock, which is the owner's call at a time of its choosing.

create schema if not exists meter_partitions;
revoke all on schema meter_partitions from public;

-- The partition of the UTC month of p_month, created if missing, with the rows the default partition
-- holds for that month moved into it (a month cannot be attached while the default holds its rows).
-- True when it was created.
create function meter.create_request_partition(p_month date) returns boolean
    language plpgsql set search_path = pg_catalog, pg_temp as $$
declare
    v_first date := date_trunc('month', p_month)::date;
    v_name text := format('requests_%s', to_char(date_trunc('month', p_month), 'YYYY_MM'));
    v_from timestamptz := v_first::timestamp at time zone 'UTC';
    v_to timestamptz := (v_first + interval '1 month')::timestamp at time zone 'UTC';
begin
    if to_regclass(format('meter_partitions.%I', v_name)) is not null then
        return false;
    end if;
    execute format('create table meter_partitions.%I (like meter.requests including defaults including constraints '
                   'including storage)', v_name);
    execute format('alter table meter_partitions.%I enable row level security', v_name);
    if to_regclass('meter_partitions.requests_default') is not null then
        execute format('with moved as (delete from meter_partitions.requests_default where started_at >= %L '
                       'and started_at < %L returning *) insert into meter_partitions.%I select * from moved',
                       v_from, v_to, v_name);
    end if;
    -- the check lets the attach skip its validating scan of the new partition
    execute format('alter table meter_partitions.%I add constraint in_month check (started_at >= %L and started_at < %L)',
                   v_name, v_from, v_to);
    execute format('alter table meter.requests attach partition meter_partitions.%I for values from (%L) to (%L)',
                   v_name, v_from, v_to);
    execute format('alter table meter_partitions.%I drop constraint in_month', v_name);
    return true;
end $$;

-- Every month partition of [p_from, p_to) (months of the two dates), and the default partition; the number
-- created.
create function meter.ensure_request_partitions(p_from date, p_to date) returns integer
    language plpgsql set search_path = pg_catalog, pg_temp as $$
declare
    v_month date := date_trunc('month', p_from)::date;
    v_created integer := 0;
begin
    if (select relkind from pg_class where oid = 'meter.requests'::regclass) <> 'p' then
        raise exception 'meter.requests is not partitioned: run select meter.partition_requests_by_month() first';
    end if;
    if to_regclass('meter_partitions.requests_default') is null then
        create table meter_partitions.requests_default partition of meter.requests default;
        alter table meter_partitions.requests_default enable row level security;
    end if;
    while v_month < p_to loop
        if meter.create_request_partition(v_month) then
            v_created := v_created + 1;
        end if;
        v_month := (v_month + interval '1 month')::date;
    end loop;
    return v_created;
end $$;

-- The maintenance step (`migrate` runs it where it owns meter; the owner's monthly job otherwise): the
-- months the default partition holds rows of get their partitions (the rows move), and the current month
-- and the p_ahead_months after it exist. The number of partitions created.
create function meter.maintain_request_partitions(p_ahead_months integer default 3) returns integer
    language plpgsql set search_path = pg_catalog, pg_temp as $$
declare
    v_month date;
    v_this_month date := date_trunc('month', now() at time zone 'UTC')::date;
    v_created integer;
begin
    v_created := meter.ensure_request_partitions(v_this_month,
                                                 (v_this_month + make_interval(months => p_ahead_months + 1))::date);
    for v_month in select distinct date_trunc('month', started_at at time zone 'UTC')::date
                     from meter_partitions.requests_default order by 1 loop
        if meter.create_request_partition(v_month) then
            v_created := v_created + 1;
        end if;
    end loop;
    return v_created;
end $$;

-- The conversion, for an empty or a populated table, in the caller's transaction (all or nothing): a
-- partitioned copy with the same columns, defaults, identity sequence position, grants (on the table and
-- its columns), row-level security and its policies, triggers and indexes, every row copied in one pass (the rows of a month are
-- not an index range of the old table, whose indexes lead with workspace_id, so a month at a time would
-- read the whole table once per month), then the old table dropped and the copy renamed in its place.
-- Holds an exclusive lock on meter.requests throughout: the sync's writes wait (docs/BENCHMARKS.md has
-- the time per million rows). Returns the rows copied; 0 and a notice when already partitioned.
create function meter.partition_requests_by_month(p_ahead_months integer default 3) returns bigint
    language plpgsql set search_path = pg_catalog, pg_temp as $$
declare
    v_old oid := 'meter.requests'::regclass;
    v_owner text;
    v_rls boolean;
    v_force boolean;
    v_statements text[];
    v_indexes text[];
    v_statement text;
    v_month date;
    v_rows bigint;
    v_sequence text;
begin
    if (select relkind from pg_class where oid = v_old) = 'p' then
        raise notice 'meter.requests is already partitioned';
        return 0;
    end if;
    lock table meter.requests in access exclusive mode;
    if exists (select 1 from pg_constraint where conrelid = v_old and contype in ('u', 'x')
               or (contype = 'f' and confrelid = v_old)) then
        raise exception 'meter.requests has a unique, exclusion or referencing foreign key constraint: a partitioned '
                        'table cannot keep it as it is; drop or rework it first';
    end if;
    if exists (select 1 from pg_index where indrelid = v_old and indisunique and not indisprimary) then
        raise exception 'meter.requests has a unique index other than its primary key: it would have to include '
                        'started_at; drop or rework it first';
    end if;
    select pg_get_userbyid(relowner), relrowsecurity, relforcerowsecurity into v_owner, v_rls, v_force
      from pg_class where oid = v_old;

    -- what is re-created on the new table once it bears the name: grants, policies, triggers, indexes
    select coalesce(array_agg(format('grant %s on meter.requests to %s%s', a.privilege_type,
                                     case when a.grantee = 0 then 'public' else quote_ident(pg_get_userbyid(a.grantee)) end,
                                     case when a.is_grantable then ' with grant option' else '' end)), '{}')
      into v_statements
      from pg_class c, aclexplode(c.relacl) a
     where c.oid = v_old and a.grantee <> c.relowner;
    select v_statements || coalesce(array_agg(format('grant %s (%I) on meter.requests to %s%s', a.privilege_type,
                                     t.attname,
                                     case when a.grantee = 0 then 'public' else quote_ident(pg_get_userbyid(a.grantee)) end,
                                     case when a.is_grantable then ' with grant option' else '' end)), '{}')
      into v_statements
      from pg_attribute t, aclexplode(t.attacl) a
     where t.attrelid = v_old and t.attnum > 0 and not t.attisdropped and t.attacl is not null;
    select v_statements || coalesce(array_agg(
               format('create policy %I on meter.requests as %s for %s to %s', p.policyname, p.permissive, p.cmd,
                      (select string_agg(case when r = 'public' then 'public' else quote_ident(r) end, ', ')
                         from unnest(p.roles) r))
               || coalesce(' using (' || p.qual || ')', '') || coalesce(' with check (' || p.with_check || ')', '')),
               '{}')
      into v_statements
      from pg_policies p where p.schemaname = 'meter' and p.tablename = 'requests';
    select v_statements || coalesce(array_agg(pg_get_triggerdef(t.oid)), '{}') into v_statements
      from pg_trigger t where t.tgrelid = v_old and not t.tgisinternal;
    select coalesce(array_agg(pg_get_indexdef(i.indexrelid) order by i.indexrelid), '{}') into v_indexes
      from pg_index i where i.indrelid = v_old and not i.indisprimary;

    execute 'create table meter.requests_by_month (like meter.requests including defaults including identity '
            'including constraints including storage including comments including statistics) '
            'partition by range (started_at)';
    alter table meter.requests rename to requests_unpartitioned;
    alter table meter.requests_by_month rename to requests;
    -- the default, the current month and those ahead, then each month that has rows (not the empty ones
    -- between: each partition costs the planner a little in every statement that cannot prune it)
    perform meter.maintain_request_partitions(p_ahead_months);
    for v_month in select distinct date_trunc('month', started_at at time zone 'UTC')::date
                     from meter.requests_unpartitioned loop
        perform meter.create_request_partition(v_month);
    end loop;
    insert into meter.requests overriding system value select * from meter.requests_unpartitioned;
    get diagnostics v_rows = row_count;

    v_sequence := pg_get_serial_sequence('meter.requests', 'id');
    execute format('select setval(%L, last_value, is_called) from %s', v_sequence,
                   pg_get_serial_sequence('meter.requests_unpartitioned', 'id'));
    drop table meter.requests_unpartitioned;  -- refused if a view depends on it, which stops the conversion
    execute format('alter sequence %s rename to requests_id_seq', v_sequence);

    alter table meter.requests add constraint requests_pkey primary key (id, started_at);
    foreach v_statement in array v_indexes loop
        execute v_statement;
    end loop;
    execute format('alter table meter.requests owner to %I', v_owner);
    if v_rls then
        alter table meter.requests enable row level security;
    end if;
    if v_force then
        alter table meter.requests force row level security;
    end if;
    foreach v_statement in array v_statements loop
        execute v_statement;
    end loop;
    return v_rows;
end $$;

revoke execute on function meter.create_request_partition(date), meter.ensure_request_partitions(date, date),
    meter.maintain_request_partitions(integer), meter.partition_requests_by_month(integer) from public;

do $$
begin
    if not exists (select 1 from meter.requests) then
        perform meter.partition_requests_by_month();
    end if;
end $$;
