-- The optimisation catalog reads a window as sums (one grouped scan) plus, one by one, the few requests
-- sums cannot serve: prompts above the lowest long-context threshold (100,000 tokens in every price
-- table so far) and successful requests without output. This partial index finds those without a second
-- scan of the window. A price table with a lower threshold still gets every such request, by a scan.
create index requests_catalog_odd on meter.requests (workspace_id, started_at)
    where input_tokens + cache_read_tokens + cache_write_tokens > 100000
       or (status_code = 200 and output_tokens = 0);
