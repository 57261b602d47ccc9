-- Today, so far (issue 17 item 1): the rollup now builds the current UTC day up to its as_of, and the pulse
-- (halton.pulse, every 10 minutes) adds to it only the requests synced since the last refresh or pulse.
--
-- A request's synced_at is when its sync transaction started, which may commit up to the late-commit margin
-- (10 minutes) later: a refresh or pulse as of T counts every request synced by T - margin (settled_through)
-- and some synced after it. To add the next requests without counting one twice or rescanning a day, the
-- rollup remembers which requests synced after its settled moment it has counted: the next pulse reads the
-- requests synced after that moment (an index range on (workspace_id, synced_at)) and adds those not listed.
-- Replaced by every refresh and pulse; a few minutes of a workspace's traffic.
create table analysis.rollup_margin (
    workspace_id bigint not null,
    request_id   bigint not null,
    primary key (workspace_id, request_id)
);

comment on column analysis.rollup_state.window_end is
    'the day after the last built day: (0021) the day after the as_of''s UTC day, which is built up to synced_through';
