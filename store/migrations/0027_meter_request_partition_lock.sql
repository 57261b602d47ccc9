-- meter.create_request_partition (0026) moved a month's rows out of the DEFAULT partition and then attached
-- the month's partition; a sync insert for that month landing in the DEFAULT between the two made the attach
-- fail (and `migrate`/`partitions maintain` with it) for as long as an offline daemon backfilled the month.
-- The DEFAULT partition is now locked against inserts for the move and the attach.
create or replace function meter.create_request_partition(p_month date) returns boolean
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
        -- no sync insert may land in the default for this month between the move and the attach (the attach
        -- would then fail its check of the default); inserts routed elsewhere go on, those to the default wait
        lock table meter_partitions.requests_default in share row exclusive mode;
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
