-- The optimisation catalog reads its 30-day window aggregate first (checks/usage.py, store/catalog_scan.py).
--
-- analysis.catalog_daily: per UTC day, the sums and counts its checks need, per project, model, tier,
-- status and the workspace's local day and night; built incrementally like analysis.daily_spend (only
-- days not built yet and days that received rows synced since), so a nightly catalog reads thirty small
-- days instead of scanning millions of requests. analysis.catalog_daily_state says up to which synced_at,
-- for which days, in which time zone and for which long-context line it is complete.
create table analysis.catalog_daily (
    workspace_id         bigint not null,
    day                  date not null,
    project_id           bigint not null,  -- -1: unattributed
    provider             text not null,
    model                text not null,
    service_tier         text not null,
    status_code          smallint not null,
    local_day            date not null,    -- in the workspace's time zone
    night                boolean not null, -- local 00:00-06:00
    requests             bigint not null,
    input_tokens         bigint not null,
    cache_read_tokens    bigint not null,
    cache_write_tokens   bigint not null,
    output_tokens        bigint not null,
    reasoning_tokens     bigint not null,
    capped_output_tokens bigint not null,  -- output with reasoning capped at the visible answer
    reasoning_requests   bigint not null,
    writing_requests     bigint not null,
    prompt_le_2000       bigint not null,
    prompt_le_8000       bigint not null,
    prompt_le_16000      bigint not null,
    output_le_256        bigint not null,
    output_le_512        bigint not null,
    output_le_1024       bigint not null,
    visible_le_400       bigint not null,
    max_prompt           bigint not null,
    first_at             timestamptz not null
);
create index catalog_daily_day on analysis.catalog_daily (workspace_id, day);

create table analysis.catalog_daily_state (
    workspace_id   bigint primary key,
    synced_through timestamptz not null,
    first_day      date not null,
    end_day        date not null,  -- exclusive
    timezone       text not null,
    long_line      bigint not null,  -- the prompt size above which requests are kept one by one
    updated_at     timestamptz not null
);

-- analysis.catalog_odd_requests: per UTC day, the requests sums cannot serve, kept one by one: prompts
-- above the lowest long-context threshold of the price table (`long_line` in the state) and successful
-- requests without output. Built with the same days as analysis.catalog_daily.
create table analysis.catalog_odd_requests (
    workspace_id       bigint not null,
    day                date not null,
    id                 bigint not null,
    started_at         timestamptz not null,
    device_id          bigint not null,
    project_id         bigint not null,  -- -1: unattributed
    provider           text not null,
    model              text not null,
    service_tier       text not null,
    status_code        smallint not null,
    input_tokens       integer not null,
    cache_read_tokens  integer not null,
    cache_write_tokens integer not null,
    output_tokens      integer not null,
    reasoning_tokens   integer not null,
    cost_nanos         bigint not null,
    prompt_key         bigint not null   -- as store.frames derives it; 0: no prompt_hash
);
create index catalog_odd_requests_day on analysis.catalog_odd_requests (workspace_id, day);
