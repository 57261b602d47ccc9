"""Synthetic request rows, generated day by day with numpy: no database, no per-row Python.

Each day draws from its own random streams, seeded by (seed, day, stream), so a day's rows do
not depend on which other days are generated with it (seeding [a, c) at once equals [a, b) then
[b, c)) and switching one planted pattern off leaves the other rows as they were.

Rows stay columns of small integer codes (project, device, model, tier) until they are written;
`project` and `attribution` are -1 where the daemon could not attribute the request.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from synthetic import catalog_plants, patterns
from synthetic.catalog import (
    DEVICE_INDEX,
    DEVICES,
    NIGHTLY,
    NIGHTLY_SHARE,
    OVERPOWERED_ROLE,
    PROJECT_INDEX,
    PROJECTS,
    RIGHT_SIZED_ROLE,
    SUMMARISER,
    ProjectSpec,
)
from synthetic.columns import ATTRIBUTION_TIERS, SERVICE_TIERS, Columns, Mark, concat, empty_draft
from synthetic.models import ResolvedModels
from synthetic.rhythm import (
    MICROS_PER_DAY,
    MICROS_PER_SECOND,
    day_start_micros,
    daytime_starts,
    night_starts,
    weekday_factor,
)
from synthetic.strings import hex_digests, mix_ids, request_ids

STREAMS = {
    "organic": 1,
    "nightly": 2,
    "finish": 3,
    "hot_prompts": 4,
    "long_context": 5,
    "unattributed": 6,
    "loop": 7,
    "request_ids": 8,
    "legacy_model": 9,
    "cache_write_waste": 10,
    "reasoning_overspend": 11,
    "spend_spike": 12,
    "cacheable_prompts": 13,
}
# Traffic finished apart, so that adding or removing one part does not move another's draws.
PARTS = {"organic": 0, "nightly": 1, "loop": 2, "legacy_model": 3, "cache_write_waste": 4,
         "reasoning_overspend": 5, "spend_spike": 6, "cacheable_prompts": 7}

NATURAL_REPEAT_SHARE = 0.015  # prompts that recur by themselves (a retried question, a shared template)
NATURAL_REPEAT_POOL = 400  # distinct recurring prompts per project, at least (it grows with the volume)
CACHE_WRITE_SHARE = 0.12  # of cached Anthropic requests, the ones that (re)write the prefix
ERROR_SHARES = {429: 0.010, 500: 0.004, 529: 0.003}  # 529 is Anthropic's 'overloaded'
LATE_SYNC_SHARE = {True: 0.08, False: 0.005}  # laptops go offline; servers rarely
MAX_SYNC_DELAY_DAYS = 2  # counted from the start of the row's day


@dataclass(frozen=True)
class Plan:
    """What stays fixed across the days of one workspace."""

    seed: int
    timezone: str
    plants: frozenset[str]
    first_day: dt.date  # the workspace's first seeded day: one-off patterns are anchored to it
    requests_per_day: int
    models: ResolvedModels

    def planted(self, name: str) -> bool:
        return name in self.plants

    def rng(self, day: dt.date, stream: str, part: str = "organic") -> np.random.Generator:
        return np.random.default_rng([self.seed, day.toordinal(), STREAMS[stream], PARTS[part]])


def generate_days(plan: Plan, days: Sequence[dt.date]) -> Columns:
    """Every row of the given days, in time order within each day, not yet priced."""
    return concat([generate_day(plan, day) for day in days])


def generate_day(plan: Plan, day: dt.date) -> Columns:
    parts = {
        "organic": organic_traffic(plan, day),
        "nightly": nightly_traffic(plan, day),
        "loop": patterns.runaway_loop(plan, day),
        **catalog_plants.drafts(plan, day),
    }
    rows = concat([catalog_plants.adjust(plan, day, part, finish(plan, day, draft, part))
                   for part, draft in parts.items() if draft is not None])
    order = np.argsort(rows["started"], kind="stable")
    return {name: column[order] for name, column in rows.items()}


# -- traffic --------------------------------------------------------------------------------------


def organic_traffic(plan: Plan, day: dt.date) -> Columns:
    """The working-day traffic of every project, then the patterns planted in it."""
    rng = plan.rng(day, "organic")
    count = rng.poisson(plan.requests_per_day * (1 - NIGHTLY_SHARE) * weekday_factor(day))
    shares = np.array([p.share for p in PROJECTS])
    project = rng.choice(len(PROJECTS), size=count, p=shares / shares.sum())
    draft = empty_draft(count)
    draft["started"] = daytime_starts(rng, day, plan.timezone, count)
    for index, spec in enumerate(PROJECTS):
        fill_project_rows(plan, rng, draft, np.flatnonzero(project == index), spec)
    patterns.outdated_daemon(plan, draft)
    patterns.repeated_prompts(plan, day, draft)
    patterns.long_context(plan, day, draft)
    patterns.unattributed(plan, day, draft)
    return draft


def nightly_traffic(plan: Plan, day: dt.date) -> Columns:
    """The indexer's steady 00:00-05:00 run; standard tier when planted, else already on batch."""
    rng = plan.rng(day, "nightly")
    count = rng.poisson(plan.requests_per_day * NIGHTLY_SHARE)
    draft = empty_draft(count)
    draft["started"] = night_starts(rng, day, plan.timezone, count)
    fill_project_rows(plan, rng, draft, np.arange(count), PROJECTS[PROJECT_INDEX[NIGHTLY]])
    if plan.planted("nightly_batchable"):
        draft["mark"] |= Mark.NIGHTLY
    else:
        offers_batch = np.array(["batch" in tiers for tiers in plan.models.facts.tiers])
        draft["tier"][offers_batch[draft["model"]]] = SERVICE_TIERS.index("batch")
    return draft


def fill_project_rows(
    plan: Plan, rng: np.random.Generator, draft: Columns, rows: NDArray[np.intp], spec: ProjectSpec
) -> None:
    """Device, model, tier, attribution and token sizes of one project's rows."""
    count = len(rows)
    draft["origin"][rows] = PROJECT_INDEX[spec.key]
    draft["project"][rows] = PROJECT_INDEX[spec.key]
    draft["device"][rows] = _weighted(rng, [DEVICE_INDEX[d] for d, _ in spec.devices],
                                      [w for _, w in spec.devices], count)
    model = _weighted(rng, [_role_model(plan, spec, role) for role, _ in spec.models],
                      [w for _, w in spec.models], count)
    draft["model"][rows] = model
    draft["attribution"][rows] = _weighted(rng, [ATTRIBUTION_TIERS.index(t) for t, _ in spec.attribution],
                                           [w for _, w in spec.attribution], count)
    draft["tier"][rows] = _service_tiers(plan, rng, spec, model)
    draft["prompt"][rows] = np.ceil(rng.lognormal(np.log(spec.input_median), spec.input_sigma, count)) + 20
    draft["visible"][rows] = np.ceil(rng.lognormal(np.log(spec.output_median), spec.output_sigma, count))
    caps = [-1 if cap is None else cap for cap, _ in spec.max_tokens]
    draft["max_tokens"][rows] = _weighted(rng, caps, [w for _, w in spec.max_tokens], count)
    draft["prompt_id"][rows] = _prompt_ids(plan, rng, spec, count)
    if spec.key == SUMMARISER and plan.planted("overpowered_model"):
        overpowered = plan.models.role_model[OVERPOWERED_ROLE]
        draft["mark"][rows[model == overpowered]] |= Mark.OVERPOWERED


def _role_model(plan: Plan, spec: ProjectSpec, role: str) -> int:
    if spec.key == SUMMARISER and role == OVERPOWERED_ROLE and not plan.planted("overpowered_model"):
        role = RIGHT_SIZED_ROLE  # without the plant the summariser already uses the cheaper model
    return plan.models.role_model[role]


def _service_tiers(
    plan: Plan, rng: np.random.Generator, spec: ProjectSpec, model: NDArray[np.int64]
) -> NDArray[np.int8]:
    """Mostly standard; a project's OpenAI share on priority or flex where the model offers it."""
    draw = rng.random(len(model))
    tier = np.full(len(model), SERVICE_TIERS.index("standard"), dtype=np.int8)
    facts = plan.models.facts
    for name, share, low in (("priority", spec.priority_share, 0.0), ("flex", spec.flex_share, 0.5)):
        offered = np.array([name in t and p == "openai" for t, p in zip(facts.tiers, facts.providers, strict=True)])
        tier[offered[model] & (draw >= low) & (draw < low + share)] = SERVICE_TIERS.index(name)
    return tier


def _prompt_ids(plan: Plan, rng: np.random.Generator, spec: ProjectSpec, count: int) -> NDArray[np.uint64]:
    """Fresh prompts, except a small share drawn from the project's pool of recurring ones."""
    fresh = rng.integers(0, np.iinfo(np.uint64).max, size=count, dtype=np.uint64, endpoint=True)
    recurring = rng.random(count) < NATURAL_REPEAT_SHARE
    pool_index = rng.integers(0, max(NATURAL_REPEAT_POOL, plan.requests_per_day // 10), size=count)
    project_salt = int(mix_ids(plan.seed, PROJECT_INDEX[spec.key], 0x5EED))
    pool = np.uint64(project_salt) ^ pool_index.astype(np.uint64)
    return np.where(recurring, pool, fresh)


def _weighted(
    rng: np.random.Generator, values: Sequence[int], weights: Sequence[float], count: int
) -> NDArray[np.int64]:
    p = np.asarray(weights, dtype=np.float64)
    return np.asarray(values, dtype=np.int64)[rng.choice(len(values), size=count, p=p / p.sum())]


# -- finishing: what the model and the network make of each request ------------------------------


def finish(plan: Plan, day: dt.date, draft: Columns, part: str) -> Columns:
    """Split prompts into cached and fresh input, add reasoning, errors, latency, sync and ids."""
    rng = plan.rng(day, "finish", part)
    facts = plan.models.facts
    model = draft["model"]
    cap = np.where(draft["max_tokens"] > 0, draft["max_tokens"], facts.max_output[model])
    prompt = np.minimum(draft["prompt"], np.maximum(facts.context_window[model] - cap, 1))
    output, reasoning = _outputs(rng, facts.reasoning_share[model], draft["visible"], cap)
    cache_read, cache_write = _cache_split(rng, plan, draft, prompt)
    status = _statuses(rng, draft, np.array(facts.providers)[model] == "anthropic")
    ok = status == 200
    rows = dict(draft)
    rows["status"] = status
    rows["input_tokens"] = np.where(ok, prompt - cache_read - cache_write, 0)
    rows["cache_read_tokens"] = np.where(ok, cache_read, 0)
    rows["cache_write_tokens"] = np.where(ok, cache_write, 0)
    rows["output_tokens"] = np.where(ok, output, 0)
    rows["reasoning_tokens"] = np.where(ok, reasoning, 0)
    rows["latency_ms"] = _latencies(rng, facts.tokens_per_second[model], prompt, output, status)
    rows["synced"] = _synced(rng, day, draft, rows["latency_ms"])
    rows["prompt_hash"] = _prompt_hashes(draft)
    rows["provider_request_id"] = _request_ids(plan.rng(day, "request_ids", part), plan, model, ok)
    return rows


def _outputs(
    rng: np.random.Generator, reasoning_share: NDArray[np.float64], visible: NDArray[np.int64], cap: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Output tokens (reasoning included) within the cap, and their reasoning part."""
    thinks = rng.random(len(visible)) < reasoning_share
    reasoning = np.where(thinks, np.ceil(visible * rng.lognormal(np.log(1.6), 0.7, len(visible))), 0)
    output = np.minimum(visible + reasoning, cap).astype(np.int64)
    return output, np.minimum(reasoning, output).astype(np.int64)


def _cache_split(
    rng: np.random.Generator, plan: Plan, draft: Columns, prompt: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """A cached prefix where the model caches and the prompt reaches its minimum length."""
    facts = plan.models.facts
    model = draft["model"]
    rate = np.array([p.cache_rate for p in PROJECTS])[draft["origin"]]
    minimum = facts.min_cacheable[model]
    cached = (minimum > 0) & (prompt >= minimum) & (rng.random(len(prompt)) < rate)
    prefix = np.floor(prompt * rng.uniform(0.55, 0.95, len(prompt))).astype(np.int64)
    prefix = np.maximum(prefix, minimum)
    writes = cached & facts.cache_writes[model] & (rng.random(len(prompt)) < CACHE_WRITE_SHARE)
    return np.where(cached & ~writes, prefix, 0), np.where(writes, prefix, 0)


def _statuses(rng: np.random.Generator, draft: Columns, anthropic: NDArray[np.bool_]) -> NDArray[np.int64]:
    """Rate limits and server errors; a planted loop is all successes (that is why it costs)."""
    draw = rng.random(len(draft["model"]))
    status = np.full(len(draw), 200, dtype=np.int64)
    low = 0.0
    for code, share in ERROR_SHARES.items():
        status[(draw >= low) & (draw < low + share)] = code
        low += share
    status[(status == 529) & ~anthropic] = 500  # 'overloaded' is Anthropic's own status
    status[(draft["mark"] & Mark.LOOP) != 0] = 200
    return status


def _latencies(
    rng: np.random.Generator,
    tokens_per_second: NDArray[np.float64],
    prompt: NDArray[np.int64],
    output: NDArray[np.int64],
    status: NDArray[np.int64],
) -> NDArray[np.int64]:
    first_token = rng.lognormal(np.log(300 + prompt / 50), 0.35)
    streaming = output / tokens_per_second * 1000 * rng.lognormal(0, 0.2, len(output))
    latency = first_token + streaming
    latency = np.where(status == 429, rng.lognormal(np.log(120), 0.4, len(output)), latency)
    latency = np.where(status >= 500, rng.lognormal(np.log(2500), 0.8, len(output)), latency)
    return np.maximum(np.round(latency), 1).astype(np.int64)


def _synced(rng: np.random.Generator, day: dt.date, draft: Columns, latency_ms: NDArray[np.int64]) -> NDArray[np.int64]:
    """Seconds after the response; a few rows days late (an offline laptop), capped so none lands
    more than MAX_SYNC_DELAY_DAYS after its day began: that keeps every row within the end of the
    seeded range plus one day."""
    count = len(latency_ms)
    prompt_done = draft["started"] + latency_ms * 1000
    delay = (2 + rng.exponential(25, count)) * MICROS_PER_SECOND
    laptop = np.array([d.laptop for d in DEVICES])[draft["device"]]
    late_share = np.where(laptop, LATE_SYNC_SHARE[True], LATE_SYNC_SHARE[False])
    late = rng.random(count) < late_share
    late_delay = rng.lognormal(np.log(8 * 3600), 1.0, count) * MICROS_PER_SECOND
    synced = prompt_done + np.where(late, late_delay, delay).astype(np.int64)
    limit = day_start_micros(day) + MAX_SYNC_DELAY_DAYS * MICROS_PER_DAY - MICROS_PER_SECOND
    return np.minimum(synced, limit)


def _prompt_hashes(draft: Columns) -> NDArray[np.object_]:
    """Hex digests of prompt ids; null from a daemon with hashing turned off."""
    hashes = hex_digests(draft["prompt_id"]).astype(object)
    hashing = np.array([d.hashing for d in DEVICES])[draft["device"]]
    hashes[~hashing] = None
    return hashes


def _request_ids(
    rng: np.random.Generator, plan: Plan, model: NDArray[np.int16], ok: NDArray[np.bool_]
) -> NDArray[np.object_]:
    """The provider's id of each successful response, in that provider's format."""
    providers = np.array(plan.models.facts.providers)[model]
    ids = np.full(len(model), None, dtype=object)
    for provider in sorted(set(providers.tolist())):
        rows = np.flatnonzero((providers == provider) & ok)
        ids[rows] = request_ids(provider, rng, len(rows))
    return ids
