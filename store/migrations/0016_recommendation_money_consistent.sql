-- A recommendation's money cannot contradict itself (review of issue 14, finding 7).
--
-- 0010 gave recurrence the default 'monthly' and impact_nanos the default 0, so a writer that names
-- neither stores a monthly quote whose impact is $0.00 next to a monthly_saving_nanos of $45: the CLI
-- and the reports, which read impact_nanos, then show $0.00. From here the database refuses such a row:
-- monthly_saving_nanos is impact_nanos for a monthly saving and 0 for anything else, and every writer
-- states the kind and the money (no defaults).
--
-- Rows already stored are made consistent first, keeping the money a writer did state:
-- - a row with impact_nanos 0 and a saving (a writer that relied on the default) takes the saving as its
--   impact;
-- - then a monthly row's saving is its impact (the figure the fleet writes both columns from), and a
--   one-off or an anomaly saves nothing a month.
update analysis.recommendations
   set impact_nanos = monthly_saving_nanos
 where impact_nanos = 0 and monthly_saving_nanos <> 0;
update analysis.recommendations
   set monthly_saving_nanos = case when recurrence = 'monthly' then impact_nanos else 0 end
 where monthly_saving_nanos <> case when recurrence = 'monthly' then impact_nanos else 0 end;

alter table analysis.recommendations
    alter column recurrence drop default,
    alter column impact_nanos drop default,
    add constraint recommendations_monthly_saving_is_the_monthly_impact
        check (monthly_saving_nanos = case when recurrence = 'monthly' then impact_nanos else 0 end);
