"""The planted patterns: what each one does to the rows, and what it reports it planted.

Each pattern draws from its own random stream, so switching one off leaves every other row alone.
One-off events (the runaway loop) are anchored to the workspace's first seeded day, which an
append reads back from the database: that keeps an append identical to seeding at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from synthetic.catalog import (
    CODE_REVIEW,
    DEVICE_INDEX,
    DEVICES,
    LOOP_DEVICE,
    LOOP_PROJECT,
    NIGHTLY,
    OVERPOWERED_ROLE,
    PROJECT_INDEX,
    RIGHT_SIZED_ROLE,
    STALE_RATE_DEVICE,
    SUMMARISER,
    SUPPORT_BOT,
    project_slug,
)
from synthetic.columns import ATTRIBUTION_TIERS, SERVICE_TIERS, Columns, Mark, empty_draft
from synthetic.models import STALE_ROLE
from synthetic.rhythm import MICROS_PER_HOUR, MICROS_PER_SECOND, day_start_micros, local_hours
from synthetic.strings import hex_digests, mix_ids

if TYPE_CHECKING:
    from synthetic.generator import Plan

HOT_PROMPT_SHARE = 0.12  # of support-bot requests: the FAQ questions everyone asks
HOT_PROMPT_WEIGHTS = (0.3, 0.22, 0.16, 0.13, 0.1, 0.09)
LONG_CONTEXT_SHARE = 0.05  # of code-review requests on a model with a long-context price
UNATTRIBUTED_SHARE = 0.12  # of laptop requests: a scratch folder no rule matches
LOOP_DAY_OFFSET = 2  # the loop fires on the workspace's third day
LOOP_REQUESTS = (320, 480)
LOOP_LOCAL_HOUR = 15
LOOP_GAP_SECONDS = 1.1  # mean pause between two iterations of the loop


# -- what the patterns do to the rows ------------------------------------------------------------


def hot_prompt_id(seed: int, k: int) -> np.uint64:
    return mix_ids(seed, 0x407, k)


def loop_prompt_id(seed: int) -> np.uint64:
    return mix_ids(seed, 0x1009)


def loop_day(first_day: dt.date) -> dt.date:
    return first_day + dt.timedelta(days=LOOP_DAY_OFFSET)


def outdated_daemon(plan: Plan, draft: Columns) -> None:
    """The outdated daemon's owner uses the model whose price changed, on its provider's calls.

    Its rows are priced with the version before the change later (see costs.price_rows).
    """
    change = plan.models.price_change
    if not plan.planted("stale_rate") or change is None:
        return
    stale_model = plan.models.role_model[STALE_ROLE]
    providers = np.array(plan.models.facts.providers)
    on_device = draft["device"] == DEVICE_INDEX[STALE_RATE_DEVICE]
    same_provider = providers[draft["model"]] == providers[stale_model]
    draft["model"][on_device & same_provider] = stale_model


def repeated_prompts(plan: Plan, day: dt.date, draft: Columns) -> None:
    """A few support questions asked again and again, word for word, on both API hosts."""
    if not plan.planted("repeated_prompts"):
        return
    rng = plan.rng(day, "hot_prompts")
    rows = np.flatnonzero(draft["origin"] == PROJECT_INDEX[SUPPORT_BOT])
    rows = rows[rng.random(len(rows)) < HOT_PROMPT_SHARE]
    weights = np.array(HOT_PROMPT_WEIGHTS)
    which = rng.choice(len(weights), size=len(rows), p=weights / weights.sum())
    ids = np.array([hot_prompt_id(plan.seed, k) for k in range(len(weights))], dtype=np.uint64)
    draft["prompt_id"][rows] = ids[which]
    draft["prompt"][rows] = 1400 + (ids % np.uint64(2600)).astype(np.int64)[which]  # same prompt, same size
    draft["mark"][rows] |= Mark.HOT_PROMPT


def long_context(plan: Plan, day: dt.date, draft: Columns) -> None:
    """Code reviews that paste a whole repository: prompts above the model's long-context threshold."""
    if not plan.planted("long_context"):
        return
    rng = plan.rng(day, "long_context")
    facts = plan.models.facts
    model = draft["model"]
    cap = np.where(draft["max_tokens"] > 0, draft["max_tokens"], facts.max_output[model])
    threshold = facts.long_context_threshold[model]
    ceiling = np.minimum(facts.context_window[model] - cap, threshold * 1.6)
    eligible = (draft["origin"] == PROJECT_INDEX[CODE_REVIEW]) & (threshold > 0) & (ceiling > threshold * 1.1)
    chosen = eligible & (rng.random(len(model)) < LONG_CONTEXT_SHARE)
    size = threshold * 1.05 + rng.random(len(model)) * (ceiling - threshold * 1.05)
    draft["prompt"] = np.where(chosen, np.floor(size).astype(np.int64), draft["prompt"])
    draft["mark"][chosen] |= Mark.LONG_CONTEXT


def unattributed(plan: Plan, day: dt.date, draft: Columns) -> None:
    """Laptop requests from folders no attribution rule matches: no project, no tier."""
    if not plan.planted("unattributed"):
        return
    rng = plan.rng(day, "unattributed")
    laptop = np.array([d.laptop for d in DEVICES])[draft["device"]]
    chosen = laptop & (rng.random(len(laptop)) < UNATTRIBUTED_SHARE)
    draft["project"][chosen] = -1
    draft["attribution"][chosen] = -1
    draft["mark"][chosen] |= Mark.UNATTRIBUTED


def runaway_loop(plan: Plan, day: dt.date) -> Columns | None:
    """An agent stuck retrying one prompt from one laptop: hundreds of calls in a few minutes."""
    if not plan.planted("runaway_loop") or day != loop_day(plan.first_day):
        return None
    rng = plan.rng(day, "loop")
    count = int(rng.integers(*LOOP_REQUESTS))
    hours = local_hours(day, plan.timezone)
    hour = int(np.argmax(hours == LOOP_LOCAL_HOUR)) if (hours == LOOP_LOCAL_HOUR).any() else 12
    start = day_start_micros(day) + hour * MICROS_PER_HOUR + int(rng.integers(0, MICROS_PER_HOUR // 2))
    gaps = (0.25 + rng.exponential(LOOP_GAP_SECONDS, count)) * MICROS_PER_SECOND
    draft = empty_draft(count)
    draft["started"] = start + np.cumsum(gaps).astype(np.int64)
    draft["origin"][:] = draft["project"][:] = PROJECT_INDEX[LOOP_PROJECT]
    draft["device"][:] = DEVICE_INDEX[LOOP_DEVICE]
    draft["model"][:] = plan.models.role_model[OVERPOWERED_ROLE]
    draft["attribution"][:] = ATTRIBUTION_TIERS.index("directory")
    draft["prompt"][:] = int(rng.integers(6_000, 12_000))
    draft["visible"] = rng.integers(30, 120, size=count)
    draft["max_tokens"][:] = 4096
    draft["prompt_id"][:] = loop_prompt_id(plan.seed)
    draft["mark"][:] = Mark.LOOP
    return draft


# -- what the seed reports it planted ------------------------------------------------------------


@dataclass(frozen=True)
class Priced:
    """What the report needs from the price table, over the rows of this seed."""

    cost_as_model: Callable[[NDArray[np.bool_], str], int]  # cost of the rows had they used that model
    cost_on_tier: Callable[[NDArray[np.bool_], str], int]  # cost of the rows on that service tier
    recommended: Callable[[str, dt.date], str]  # the current model the table's successors lead to at a date
    stale: dict[str, Any] | None  # the stale-rate plant's versions and delta, when planted


def summarise(
    plan: Plan, slug: str, rows: Columns, priced: Priced, days: tuple[dt.date, dt.date]
) -> list[dict[str, Any]]:
    """One entry per requested pattern (billing is added once the statements are written)."""
    reports: dict[str, Callable[[], dict[str, Any]]] = {
        "overpowered_model": lambda: _overpowered(plan, slug, rows, priced, days[1] + dt.timedelta(days=1)),
        "repeated_prompts": lambda: _repeated(slug, rows),
        "runaway_loop": lambda: _loop(plan, slug, rows, days),
        "long_context": lambda: _long_context(plan, slug, rows),
        "nightly_batchable": lambda: _nightly(slug, rows, priced),
        "stale_rate": lambda: _stale(rows, priced),
        "unattributed": lambda: _unattributed(rows),
    }
    return [report() for name, report in reports.items() if plan.planted(name)]


def _entry(pattern: str, what: str, where: dict[str, Any], rows: int, expected_nanos: int | None,
           **detail: Any) -> dict[str, Any]:
    return {"pattern": pattern, "what": what, "where": where, "rows": rows,
            "expected_nanos": expected_nanos, "detail": detail}


def _marked(rows: Columns, mark: Mark) -> NDArray[np.bool_]:
    return np.asarray((rows["mark"] & mark) != 0, dtype=bool)


def _cost(rows: Columns, mask: NDArray[np.bool_]) -> int:
    return int(rows["cost_nanos"][mask].sum(dtype=np.int64))


def _overpowered(plan: Plan, slug: str, rows: Columns, priced: Priced, as_of: dt.date) -> dict[str, Any]:
    """The summariser's model and the cheaper one it should use: the right-sized model, or what the table says
    supersedes it by the end of the seeded days (a recommendation never targets a superseded model)."""
    mask = _marked(rows, Mark.OVERPOWERED) & (rows["status"] == 200)
    heavy, light = plan.models.name(OVERPOWERED_ROLE), priced.recommended(plan.models.name(RIGHT_SIZED_ROLE), as_of)
    saving = _cost(rows, mask) - priced.cost_as_model(mask, light)
    prompt = rows["input_tokens"] + rows["cache_read_tokens"] + rows["cache_write_tokens"]
    return _entry(
        "overpowered_model",
        f"{heavy} writing short summaries a {light} could write "
        f"(median prompt {_median(prompt[mask])} tokens, median output {_median(rows['output_tokens'][mask])})",
        {"project": project_slug(slug, SUMMARISER), "model": heavy, "cheaper_model": light},
        int(mask.sum()), saving,
    )


def _repeated(slug: str, rows: Columns) -> dict[str, Any]:
    mask = _marked(rows, Mark.HOT_PROMPT)
    hashes = rows["prompt_hash"][mask]
    unique, first, counts = np.unique(hashes.astype(str), return_index=True, return_counts=True)
    first_cost = int(rows["cost_nanos"][np.flatnonzero(mask)[first]].sum(dtype=np.int64))
    order = np.argsort(-counts, kind="stable")
    devices = sorted({DEVICES[d].name for d in np.unique(rows["device"][mask])})
    return _entry(
        "repeated_prompts",
        f"{len(unique)} support questions sent word for word {int(mask.sum())} times",
        {"project": project_slug(slug, SUPPORT_BOT), "prompt_hashes": unique[order].tolist(), "devices": devices},
        int(mask.sum()), _cost(rows, mask) - first_cost,
        requests_per_hash=counts[order].tolist(),
    )


def _loop(plan: Plan, slug: str, rows: Columns, days: tuple[dt.date, dt.date]) -> dict[str, Any]:
    mask = _marked(rows, Mark.LOOP)
    when = loop_day(plan.first_day)
    where = {"project": project_slug(slug, LOOP_PROJECT), "device": LOOP_DEVICE,
             "prompt_hash": str(hex_digests(np.array([loop_prompt_id(plan.seed)]))[0]),
             "model": plan.models.facts.names[plan.models.role_model[OVERPOWERED_ROLE]], "day": when.isoformat()}
    if not mask.any():
        return _entry("runaway_loop", f"no loop in these days: it fires on the workspace's day {when} "
                      f"(first day + {LOOP_DAY_OFFSET}), outside {days[0]}..{days[1]}", where, 0, None)
    started = rows["started"][mask]
    minutes = (started - started.min()) // (60 * MICROS_PER_SECOND)
    peak = int(np.bincount(minutes).max())
    span = (int(started.max()) - int(started.min())) / (60 * MICROS_PER_SECOND)
    return _entry("runaway_loop", f"{int(mask.sum())} identical calls from one laptop in {span:.0f} minutes",
                  where, int(mask.sum()), _cost(rows, mask), peak_per_minute=peak,
                  started_at=_iso(int(started.min())), ended_at=_iso(int(started.max())))


def _long_context(plan: Plan, slug: str, rows: Columns) -> dict[str, Any]:
    mask = _marked(rows, Mark.LONG_CONTEXT) & (rows["status"] == 200)
    names = plan.models.facts.names
    models = sorted({names[m] for m in np.unique(rows["model"][mask])})
    thresholds = {names[m]: int(plan.models.facts.long_context_threshold[m]) for m in np.unique(rows["model"][mask])}
    return _entry("long_context", "code reviews with prompts above the model's long-context threshold",
                  {"project": project_slug(slug, CODE_REVIEW), "models": models},
                  int(mask.sum()), _cost(rows, mask), thresholds=thresholds)


def _nightly(slug: str, rows: Columns, priced: Priced) -> dict[str, Any]:
    mask = _marked(rows, Mark.NIGHTLY) & (rows["status"] == 200)
    saving = _cost(rows, mask) - priced.cost_on_tier(mask, "batch")
    return _entry("nightly_batchable", "steady standard-tier traffic every night 00:00-05:00 (local) "
                  "that the batch tier would price lower",
                  {"project": project_slug(slug, NIGHTLY), "service_tier": SERVICE_TIERS[0]},
                  int(mask.sum()), saving)


def _stale(rows: Columns, priced: Priced) -> dict[str, Any]:
    """rows: the rows whose logged cost differs from the current rates (what re-pricing finds);
    expected_nanos: their logged minus current cost (positive: logged too much).

    The daemon stamps every row it prices since the change with the old version, but only the
    rows on the changed model (and the tiers and token kinds whose price changed) cost anything
    different: detail.rows_stamped counts all of them, detail.rows_with_delta the ones that matter.
    """
    mask = _marked(rows, Mark.STALE_RATE)
    detail = priced.stale
    if detail is None:
        return _entry("stale_rate", "no stale rows: no price changed before the workspace's first day",
                      {"device": STALE_RATE_DEVICE}, 0, None)
    stamped, with_delta = int(mask.sum()), int(detail["rows_with_delta"])
    return _entry("stale_rate",
                  f"an outdated daemon still pricing with rates {detail['stale_version']} although "
                  f"{detail['current_version']} changed the price of {detail['model']} on {detail['effective']}: "
                  f"{with_delta} rows logged at a price that differs from the current one (of {stamped} rows "
                  f"stamped {detail['stale_version']} since then)",
                  {"device": STALE_RATE_DEVICE, "model": detail["model"], "rates_version": detail["stale_version"]},
                  with_delta, int(detail["delta_nanos"]),
                  current_version=detail["current_version"], effective=detail["effective"],
                  rows_with_delta=with_delta, rows_stamped=stamped)


def _unattributed(rows: Columns) -> dict[str, Any]:
    mask = rows["project"] < 0
    devices = sorted({DEVICES[d].name for d in np.unique(rows["device"][mask])})
    return _entry("unattributed", "laptop requests no attribution rule matched (project and tier null)",
                  {"devices": devices}, int(mask.sum()), _cost(rows, mask))


def _median(values: NDArray[Any]) -> int:
    return int(np.median(values)) if len(values) else 0


def _iso(micros: int) -> str:
    return dt.datetime.fromtimestamp(micros / MICROS_PER_SECOND, tz=dt.UTC).isoformat(timespec="seconds")

