"""The plants for the optimisation catalog that need traffic of their own (issue 8).

Each plant is a project of its own (its share of the organic traffic is 0) fed by its own part of
the day's traffic, with its own random streams, so switching it off removes its rows and leaves every
other row as it was. A few columns are set after `finish` (cache and reasoning splits the organic model
would not draw). Each plant reports the saving it expects the catalog to quote, computed here with the
price table directly, independently of checks/:

- legacy_model        a project on a superseded model (Opus 4.1); saving: its cost minus the same tokens
                      on the current model the table's successors lead to by the end of the seeded days;
- cache_write_waste   every request writes its prefix to the prompt cache and none reads it; saving: its
                      cost minus the same tokens billed as plain input;
- reasoning_overspend one-word classifications behind long reasoning; saving: its cost minus the same
                      requests with reasoning capped at the visible answer's length;
- spend_spike         a project whose traffic triples in the workspace's days 23..29; its impact: that week
                      minus the week before (an anomaly: not scaled to a month);
- cacheable_prompts   agent sessions re-sending one long prompt every 1-4 minutes with no caching; saving:
                      its cost minus the same requests with the prompt cached (first of a session writes,
                      the rest read), with the better of the 5-minute and the 1-hour cache.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from pricing import RateTable, price_requests
from synthetic.catalog import DEVICE_INDEX, PROJECT_INDEX, project_slug
from synthetic.columns import ATTRIBUTION_TIERS, SERVICE_TIERS, Columns, Mark, categorical, empty_draft
from synthetic.rhythm import MICROS_PER_HOUR, MICROS_PER_SECOND, day_start_micros, daytime_starts, weekday_factor
from synthetic.strings import mix_ids

if TYPE_CHECKING:
    from synthetic.generator import Plan

SPIKE_DAY_OFFSET = 23  # the spike runs on the workspace's days 23..29 (the last week of a 30-day seed)
SPIKE_DAYS = 7
SPIKE_FACTOR = 3
MICROS_PER_MINUTE = 60 * MICROS_PER_SECOND


@dataclass(frozen=True)
class PlantSpec:
    plant: str  # the name in options.PLANTS
    project: str  # catalog project key
    role: str  # model role
    device: str
    mark: Mark
    share: float  # of requests_per_day, per day
    prompt: tuple[float, float]  # lognormal median, sigma
    visible: tuple[float, float]
    max_tokens: int


PLANT_SPECS: tuple[PlantSpec, ...] = (
    PlantSpec("legacy_model", "report-writer", "claude-legacy", "frank-mbp", Mark.LEGACY, 0.02,
              (12_000, 0.4), (1_400, 0.4), 4096),
    PlantSpec("cache_write_waste", "ticket-triage", "claude-small", "support-api-2", Mark.CACHE_WASTE, 0.04,
              (6_000, 0.25), (200, 0.4), 1024),
    PlantSpec("reasoning_overspend", "classifier", "gpt-top", "search-api-1", Mark.REASONING, 0.03,
              (2_500, 0.4), (40, 0.3), 4096),
    PlantSpec("spend_spike", "ingest", "claude-mid", "summariser-worker-1", Mark.SPIKE, 0.02,
              (11_000, 0.3), (600, 0.4), 2048),
    PlantSpec("cacheable_prompts", "agent-sessions", "claude-small", "heidi-mbp", Mark.CACHEABLE, 0.0,
              (6_500, 0.15), (300, 0.5), 2048),
)
CATALOG_PLANTS = tuple(spec.plant for spec in PLANT_SPECS)

#: Which check of the optimisation catalog should find each planted pattern (its id, as text).
FOUND_BY: dict[str, str] = {
    "overpowered_model": "model-downgrade",
    "repeated_prompts": "response-cache",
    "runaway_loop": "runaway-loop",
    "long_context": "long-context-tier",
    "nightly_batchable": "batch-api",
    "legacy_model": "legacy-model",
    "cache_write_waste": "cache-write-waste",
    "reasoning_overspend": "reasoning-overspend",
    "spend_spike": "spend-spike",
    "cacheable_prompts": "prompt-caching",
}
#: Projects no plant touches: the catalog must raise nothing there.
CONTROL_PROJECTS: tuple[str, ...] = ("search", "research-agent")
SESSIONS_PER_DAY = 6
SESSION_REQUESTS = (15, 31)


def spike_days(first_day: dt.date) -> tuple[dt.date, dt.date]:
    start = first_day + dt.timedelta(days=SPIKE_DAY_OFFSET)
    return start, start + dt.timedelta(days=SPIKE_DAYS)


def drafts(plan: Plan, day: dt.date) -> dict[str, Columns]:
    """The day's rows of every catalog plant that is planted, by part name (= plant name)."""
    out = {}
    for spec in PLANT_SPECS:
        if plan.planted(spec.plant):
            out[spec.plant] = _sessions(plan, day, spec) if spec.plant == "cacheable_prompts" \
                else _steady(plan, day, spec)
    return out


def _base(plan: Plan, spec: PlantSpec, count: int) -> Columns:
    draft = empty_draft(count)
    draft["origin"][:] = draft["project"][:] = PROJECT_INDEX[spec.project]
    draft["device"][:] = DEVICE_INDEX[spec.device]
    draft["model"][:] = plan.models.role_model[spec.role]
    draft["attribution"][:] = ATTRIBUTION_TIERS.index("header")
    draft["max_tokens"][:] = spec.max_tokens
    draft["mark"][:] = spec.mark
    return draft


def _sizes(rng: np.random.Generator, draft: Columns, spec: PlantSpec) -> None:
    n = len(draft["model"])
    draft["prompt"] = np.ceil(rng.lognormal(np.log(spec.prompt[0]), spec.prompt[1], n)).astype(np.int64) + 20
    draft["visible"] = np.ceil(rng.lognormal(np.log(spec.visible[0]), spec.visible[1], n)).astype(np.int64)


def _steady(plan: Plan, day: dt.date, spec: PlantSpec) -> Columns:
    rng = plan.rng(day, spec.plant, spec.plant)
    start, end = spike_days(plan.first_day)
    factor = SPIKE_FACTOR if spec.plant == "spend_spike" and start <= day < end else 1
    count = int(rng.poisson(plan.requests_per_day * spec.share * factor * weekday_factor(day)))
    draft = _base(plan, spec, count)
    draft["started"] = daytime_starts(rng, day, plan.timezone, count)
    _sizes(rng, draft, spec)
    draft["prompt_id"] = rng.integers(0, np.iinfo(np.uint64).max, size=count, dtype=np.uint64, endpoint=True)
    return draft


def _sessions(plan: Plan, day: dt.date, spec: PlantSpec) -> Columns:
    """Agent sessions on weekdays: one prompt re-sent every 1-4 minutes, starting 14:00-19:00 UTC."""
    rng = plan.rng(day, spec.plant, spec.plant)
    sessions = SESSIONS_PER_DAY if day.weekday() < 5 else 0
    lengths = rng.integers(*SESSION_REQUESTS, size=sessions)
    draft = _base(plan, spec, int(lengths.sum()))
    starts = day_start_micros(day) + (14 + rng.random(sessions) * 5) * MICROS_PER_HOUR
    session = np.repeat(np.arange(sessions), lengths)
    gaps = rng.uniform(1, 4, len(session)) * MICROS_PER_MINUTE
    first = np.r_[0, np.cumsum(lengths)[:-1]].astype(np.int64) if sessions else np.zeros(0, np.int64)
    gaps[first] = 0
    offsets = np.cumsum(gaps) - np.repeat(np.cumsum(gaps)[first] if sessions else gaps[:0], lengths)
    draft["started"] = (np.repeat(starts, lengths) + offsets).astype(np.int64)
    prompts = np.ceil(rng.lognormal(np.log(spec.prompt[0]), spec.prompt[1], sessions)).astype(np.int64)
    draft["prompt"] = np.repeat(prompts, lengths)
    draft["visible"] = np.ceil(rng.lognormal(np.log(spec.visible[0]), spec.visible[1], len(session))).astype(np.int64)
    ids = np.array([mix_ids(plan.seed, 0xCAC4E, day.toordinal(), s) for s in range(sessions)], dtype=np.uint64)
    draft["prompt_id"] = np.repeat(ids, lengths)
    return draft


def adjust(plan: Plan, day: dt.date, part: str, rows: Columns) -> Columns:
    """Set what `finish` drew by the organic model: no cache use, or the planted cache and reasoning."""
    if part not in CATALOG_PLANTS:
        return rows
    ok = rows["status"] == 200
    prompt = rows["input_tokens"] + rows["cache_read_tokens"] + rows["cache_write_tokens"]
    rows["cache_read_tokens"] = np.zeros_like(prompt)
    rows["cache_write_tokens"] = np.zeros_like(prompt)
    rows["input_tokens"] = prompt
    rng = plan.rng(day, part, "organic")  # a stream of its own: (plant, organic) is used by no draft
    if part == "cache_write_waste":
        written = np.where(ok, np.floor(prompt * rng.uniform(0.6, 0.9, len(prompt))).astype(np.int64), 0)
        rows["cache_write_tokens"], rows["input_tokens"] = written, prompt - written
    if part == "reasoning_overspend":
        visible = rows["visible"]
        reasoning = np.where(ok, rng.integers(900, 2500, size=len(visible)), 0)
        rows["reasoning_tokens"] = reasoning
        rows["output_tokens"] = np.where(ok, visible + reasoning, 0)
    return rows


# -- what the plants report -------------------------------------------------------------------------


def summarise(plan: Plan, slug: str, rows: Columns, table: RateTable, as_of: dt.date) -> list[dict[str, Any]]:
    """One entry per plant; `as_of`: the day after the last seeded day (the catalog's moment)."""
    names = plan.models.facts.names
    entries = []
    for spec in PLANT_SPECS:
        if not plan.planted(spec.plant):
            continue
        mask = ((rows["mark"] & spec.mark) != 0) & (rows["status"] == 200)
        model = names[plan.models.role_model[spec.role]]
        where = {"project": project_slug(slug, spec.project), "model": model}
        saving, what, detail = _REPORTS[spec.plant](plan, rows, mask, table, model, as_of)
        entries.append({"pattern": spec.plant, "what": what, "where": where, "rows": int(mask.sum()),
                        "expected_nanos": saving, "detail": detail})
    return entries


def _price(rows: Columns, mask: NDArray[np.bool_], table: RateTable, names: tuple[str, ...], **change: Any) -> int:
    columns = {k: change.get(k, rows[k][mask]) for k in ("input_tokens", "cache_read_tokens", "cache_write_tokens",
                                                         "output_tokens")}
    batch = price_requests(
        table, model=None if "as_model" in change else categorical(rows["model"][mask], names),
        as_model=change.get("as_model"), service_tier=categorical(rows["tier"][mask], SERVICE_TIERS),
        started_at=rows["started"][mask].astype("datetime64[us]"),
        cache_write_1h_tokens=change.get("cache_write_1h_tokens"), **columns)
    return int(batch.cost_nanos[batch.priced].sum())


def _legacy(plan: Plan, rows: Columns, mask: NDArray[np.bool_], table: RateTable,
            model: str, as_of: dt.date) -> tuple[int, str, dict[str, Any]]:
    names = plan.models.facts.names
    chain = [m.model for m in table.successors(model, at=as_of)]
    if not chain:
        return 0, f"{model} has no successor in the price table", {}
    saving = _price(rows, mask, table, names) - _price(rows, mask, table, names, as_model=chain[-1])
    what = f"reports written on {model}, superseded by {chain[0]}" + (f" (now {chain[-1]})" if len(chain) > 1 else "")
    return saving, what, {"successor": chain[0], "current": chain[-1]}


def _cache_waste(plan: Plan, rows: Columns, mask: NDArray[np.bool_], table: RateTable,
                 model: str, as_of: dt.date) -> tuple[int, str, dict[str, Any]]:
    names = plan.models.facts.names
    zeros = np.zeros(int(mask.sum()), dtype=np.int64)
    plain = rows["input_tokens"][mask] + rows["cache_read_tokens"][mask] + rows["cache_write_tokens"][mask]
    saving = _price(rows, mask, table, names) - _price(rows, mask, table, names, input_tokens=plain,
                                                       cache_read_tokens=zeros, cache_write_tokens=zeros)
    return saving, "every triage request writes its prompt to the cache; nothing reads it back", {}


def _reasoning(plan: Plan, rows: Columns, mask: NDArray[np.bool_], table: RateTable,
               model: str, as_of: dt.date) -> tuple[int, str, dict[str, Any]]:
    names = plan.models.facts.names
    reasoning = rows["reasoning_tokens"][mask]
    visible = rows["output_tokens"][mask] - reasoning
    capped = visible + np.minimum(reasoning, visible)
    saving = _price(rows, mask, table, names) - _price(rows, mask, table, names, output_tokens=capped)
    return saving, "one-word labels behind 900-2,500 reasoning tokens each", {}


def _spike(plan: Plan, rows: Columns, mask: NDArray[np.bool_], table: RateTable,
           model: str, as_of: dt.date) -> tuple[int, str, dict[str, Any]]:
    start, end = spike_days(plan.first_day)
    day = (rows["started"] // (24 * MICROS_PER_HOUR)).astype("datetime64[D]").astype(object)
    spiked = (rows["mark"] & Mark.SPIKE) != 0
    cost = rows["cost_nanos"]
    before = int(cost[spiked & (day >= start - dt.timedelta(days=SPIKE_DAYS)) & (day < start)].sum())
    after = int(cost[spiked & (day >= start) & (day < end)].sum())
    what = f"traffic x{SPIKE_FACTOR} from {start} to {end - dt.timedelta(days=1)}"
    detail = {"baseline_week_nanos": before, "spike_week_nanos": after, "spike_start": start.isoformat()}
    return after - before, what, detail


def _cacheable(plan: Plan, rows: Columns, mask: NDArray[np.bool_], table: RateTable,
               model: str, as_of: dt.date) -> tuple[int, str, dict[str, Any]]:
    names = plan.models.facts.names
    idx = np.flatnonzero(mask)
    perm = np.lexsort((rows["started"][idx], rows["prompt_id"][idx]))  # by prompt, then time
    ids, started = rows["prompt_id"][idx][perm], rows["started"][idx][perm]
    same = np.r_[False, ids[1:] == ids[:-1]]
    gap = np.r_[0, np.diff(started)]
    prompt = rows["input_tokens"][idx]
    zeros = np.zeros(len(idx), dtype=np.int64)
    actual = _price(rows, mask, table, names)
    best, best_name = 0, "5m"
    for name, ttl in (("5m", 5 * MICROS_PER_MINUTE), ("1h", 60 * MICROS_PER_MINUTE)):
        hit = np.empty(len(idx), dtype=bool)
        hit[perm] = same & (gap < ttl)  # back to the rows' own order
        read, write = np.where(hit, prompt, 0), np.where(hit, 0, prompt)
        cached = _price(rows, mask, table, names, input_tokens=zeros, cache_read_tokens=read,
                        cache_write_tokens=write if name == "5m" else zeros,
                        cache_write_1h_tokens=write if name == "1h" else zeros)
        if actual - cached > best:
            best, best_name = actual - cached, name
    sessions = len(np.unique(ids))
    return best, f"{sessions} agent sessions re-sending one prompt every 1-4 minutes, uncached", \
        {"cache_lifetime": best_name, "sessions": sessions}


def long_context_trim_saving(plan: Plan, rows: Columns, table: RateTable) -> int:
    """The long_context plant's expected saving for long-context-tier: over its successful rows whose prompt
    is within a quarter above the threshold, their cost minus the same tokens at base rates (both priced
    with the table, so an outdated daemon's logged cost does not count)."""
    facts = plan.models.facts
    prompt = rows["input_tokens"] + rows["cache_read_tokens"] + rows["cache_write_tokens"]
    threshold = facts.long_context_threshold[rows["model"]]
    mask = (((rows["mark"] & Mark.LONG_CONTEXT) != 0) & (rows["status"] == 200) & (threshold > 0)
            & (prompt > threshold) & (prompt * 4 <= threshold * 5))
    rows_ = np.flatnonzero(mask)
    kinds = ("input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens")
    tokens: dict[str, Any] = {k: rows[k][rows_] for k in kinds}
    paid = price_requests(table, model=categorical(rows["model"][rows_], facts.names),
                          service_tier=categorical(rows["tier"][rows_], SERVICE_TIERS),
                          started_at=rows["started"][rows_].astype("datetime64[us]"), **tokens)
    saving = 0
    for n, i in enumerate(rows_):  # a few dozen rows: one price look-up each, the plain way
        day = dt.date(1970, 1, 1) + dt.timedelta(days=int(rows["started"][i] // (24 * MICROS_PER_HOUR)))
        info = table.model_info(facts.names[rows["model"][i]], at=day)
        base = info.rates[SERVICE_TIERS[rows["tier"][i]]] if info else None
        if base is None:
            continue
        pico = (int(rows["input_tokens"][i]) * base.input + int(rows["cache_read_tokens"][i]) * base.cache_read
                + int(rows["cache_write_tokens"][i]) * base.cache_write + int(rows["output_tokens"][i]) * base.output)
        saving += int(paid.cost_nanos[n]) - (pico + 500) // 1000  # at today's table, as the catalog prices it
    return saving


_REPORTS = {"legacy_model": _legacy, "cache_write_waste": _cache_waste, "reasoning_overspend": _reasoning,
            "spend_spike": _spike, "cacheable_prompts": _cacheable}
