-- Clustering (issue 7): what the checks can read beyond the contract's columns, the per-day
-- aggregates that keep the nightly refresh incremental, and the request shapes.

-- analysis.prompt_clusters and analysis.loop_incidents hold the latest window of a workspace only:
-- a clustering run replaces all of that workspace's rows (see store/clustering.py).
alter table analysis.prompt_clusters
    add column run_id                     bigint null,
    add column project_id                 bigint null,      -- the project with most of its requests
    add column model                      text null,        -- the model with most of its requests
    add column provider                   text null,        -- that model's provider
    add column models                     text[] not null default '{}',
    add column median_prompt_tokens       bigint not null default 0,  -- input + cache read + cache write
    add column median_output_tokens       bigint not null default 0,
    add column median_gap_seconds         double precision not null default 0,  -- between consecutive requests
    add column cacheable_requests         bigint not null default 0,  -- under the default cache lifetimes
    add column cacheable_prompt_tokens    bigint not null default 0,
    add column cacheable_requests_1h      bigint not null default 0,  -- under the extended lifetimes
    add column cacheable_prompt_tokens_1h bigint not null default 0,
    add column loop_incidents             integer not null default 0;
create index prompt_clusters_avoidable on analysis.prompt_clusters (workspace_id, avoidable_nanos desc);

alter table analysis.loop_incidents
    add column window_end timestamptz null,
    add column run_id     bigint null,
    add column model      text null;
create index loop_incidents_cost on analysis.loop_incidents (workspace_id, cost_nanos desc);

-- Per UTC day and first hex digit of prompt_hash (part 0..15): the day's distinct prompt keys (the
-- first 16 hex digits as a signed bigint) and their request counts, as little-endian int64 / int32
-- arrays (clustering.keys says why arrays). The nightly refresh rebuilds only new days and days that
-- received late rows, and finds the window's repeated hashes here instead of in its raw rows.
create table analysis.prompt_key_days (
    workspace_id      bigint not null,
    day               date not null,
    part              smallint not null,
    keys              bytea not null,
    counts            bytea not null,
    requests          bigint not null,            -- hashed requests of the part
    unhashed_requests bigint not null default 0,  -- requests with a null prompt_hash (on part 0 only)
    primary key (workspace_id, day, part)
);

-- Per UTC day, the grid the request shapes are fitted on: project, model, log2 prompt and output
-- sizes, the hour in the workspace's time zone.
create table analysis.request_shape_days (
    workspace_id bigint not null,
    day          date not null,
    project_id   bigint null,
    model        text not null,
    provider     text not null,
    prompt_bin   smallint not null,  -- floor(log2(prompt tokens)), prompt = input + cache read + cache write
    output_bin   smallint not null,  -- floor(log2(output tokens))
    hour         smallint not null,  -- 0..23, local to the workspace
    requests     bigint not null,
    cost_nanos   bigint not null
);
create index request_shape_days_day on analysis.request_shape_days (workspace_id, day);

-- What the per-day aggregates already cover, per workspace (like analysis.rollup_state).
create table analysis.clustering_state (
    workspace_id   bigint primary key,
    synced_through timestamptz not null,
    first_day      date not null,
    end_day        date not null,  -- exclusive
    run_id         bigint not null,
    updated_at     timestamptz not null
);

-- A project's traffic in a few shapes (clustering.shapes), for the latest window of the workspace.
create table analysis.request_shapes (
    workspace_id          bigint not null,
    project_id            bigint null,            -- null: the unattributed traffic
    window_end            timestamptz not null,
    shape                 smallint not null,      -- 1 = the shape with the most cost in its project
    model                 text not null,
    provider              text not null,
    prompt_band           text not null,          -- 'short prompts' < 1k tokens, 'medium' < 8k, 'long' < 128k, 'very long'
    output_band           text not null,          -- 'short answers' < 256, 'medium' < 2k, 'long'
    time_profile          text not null,          -- 'nightly', 'working hours', 'evenings', 'round the clock'
    label                 text not null,          -- 'long prompts, short answers, nightly'
    requests              bigint not null,
    cost_nanos            bigint not null,
    request_share         numeric(5, 4) not null, -- of the project's requests
    cost_share            numeric(5, 4) not null, -- of the project's cost
    typical_prompt_tokens bigint not null,        -- middle of the median prompt-size bin
    typical_output_tokens bigint not null,
    hours                 bigint[] not null,      -- requests per local hour 0..23
    seed                  integer not null,
    run_id                bigint not null
);
create unique index request_shapes_key on analysis.request_shapes (workspace_id, project_id, shape) nulls not distinct;
