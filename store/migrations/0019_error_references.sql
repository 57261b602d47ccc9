-- Errors the workspace's people read carry a reference (issue 16 item 4): analysis.runs.error and
-- analysis.reports.error hold a sentence a person can act on; the details (exception type, library text,
-- setting names) are in the fleet's logs and Sentry under error_ref. Null for a success, and for the
-- fleet's own notes (superseded, abandoned, skipped) that need no details.
alter table analysis.runs add column error_ref text null;
alter table analysis.reports add column error_ref text null;
-- a check that raised: check_outcomes.error says so in a sentence, its details are logged under error_ref
alter table analysis.check_outcomes add column error_ref text null;
