-- The rollup now covers the whole history kept (every day from 1 January of HALTON_ROLLUP_HISTORY_YEARS
-- years before the current one), not the 30 days before each refresh. analysis.rollup_state keeps its
-- columns with a stricter meaning: every day of [window_start, window_end) is built and complete up to
-- synced_through.
--
-- Before, window_start was the first day of the first refresh's window, but only the last 30 days before
-- window_end were kept up to date: older days missed the rows synced late after they left the window.
-- So a state row now claims only those 30 days; the next refresh rebuilds every older day of the history
-- (from meter.requests, replacing what daily_spend and daily_totals hold for them).
update analysis.rollup_state
   set window_start = greatest(window_start, window_end - 30);

comment on column analysis.rollup_state.window_start is
    'first day of the built days: every day of [window_start, window_end) is rolled up, complete up to synced_through';
comment on column analysis.rollup_state.window_end is
    'the day after the last built day (the UTC day of the refresh''s as_of)';
