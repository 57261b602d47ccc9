"""The kit a check is written with (`from checks import kit`), and the counterfactual skeleton.

A check is a pure function of `kit.CheckInputs` returning `kit.Finding`s (checks/base.py says what they
hold). A monthly check states two things and nothing else:

- its rule: which traffic, by what test: per project and model from the window's day sums
  (`kit.per_project_model`), or request by request from the clustering stage's rows;
- its counterfactual: what would change, one of the lever kinds of checks/levers.py:
  `kit.on_model(to)`, `kit.on_tier(tier, to)`, `kit.NO_CACHE`, `kit.CAPPED_REASONING`,
  `kit.cached_prompts(reads, lifetime)`, `kit.BASE_RATES`, `kit.DROPPED`.

`kit.quote` does the rest: it prices the traffic as it ran and with the change (the rates in force at each
request's start, over the rows both can price), scales the window's saving to a 30-day month (None when
that is nothing), and states the lever checks/overlap.py combines; `Quote.finding` builds the Finding with
its sample ids; `Quote.evidence` is what every quote's evidence carries:

    quote = kit.quote(inputs, project_id, model, kit.on_model(target))   # the successful requests' day sums
    if quote is not None:
        findings.append(quote.finding(ID, subject=..., title=..., rationale=..., confidence=...,
                                      request_count=count, model=model, evidence={..., **quote.evidence}))

`kit.quote_requests(inputs, rows, change, project_id=...)` is the same on per-request rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from checks import levers
from checks.base import (
    ANOMALY,
    MONTHLY,
    NO_PROJECT,
    ONE_OFF,
    Check,
    CheckInputs,
    Delta,
    Finding,
    SampleScope,
    delta,
    dollars,
    groups,
    price,
    project_or_none,
    prompt_tokens,
    samples,
    successful,
    unpriced_evidence,
)
from checks.levers import Lever
from checks.usage import (
    OUTPUT_EDGES,
    PROMPT_EDGES,
    VISIBLE_EDGES,
    Grouping,
    by_project_model,
    grouped_rows,
    percentile_bound,
    priceable,
    successful_of,
    successful_rows,
)
from pricing import CacheLifetime, PricedBatch, RateTable
from pricing.providers import DEFAULT_WRITE

__all__ = [
    "ANOMALY", "BASE_RATES", "CAPPED_REASONING", "DROPPED", "MONTHLY", "NO_CACHE", "NO_PROJECT", "ONE_OFF",
    "OUTPUT_EDGES", "PROMPT_EDGES", "VISIBLE_EDGES", "Check", "CheckInputs", "Counterfactual", "Finding", "Grouping",
    "Quote",
    "SampleScope", "by_project_model", "cached_prompts", "dollars", "grouped_rows", "groups", "on_model", "on_tier",
    "per_project_model", "percentile_bound", "price_change", "project_or_none", "prompt_tokens", "quote",
    "quote_requests", "samples", "successful",
]


@dataclass(frozen=True)
class Counterfactual:
    """What a monthly finding would change: a lever kind (checks/levers.py) and what that kind needs."""

    kind: str
    to: str | None = None  # MODEL: the model; TIER: the tier
    tier: str | None = None  # TIER: the tier the requests leave
    reads: frozenset[int] = frozenset()  # PROMPT_CACHE: the requests that would read the cache
    lifetime: CacheLifetime | None = None  # PROMPT_CACHE: the lifetime the others write the cache with

    def priced(self, rows: pd.DataFrame, rates: RateTable) -> PricedBatch:
        """The rows priced with the change (rates in force at each row's start)."""
        if self.kind == levers.MODEL:
            return price(rows, rates, as_model=self.to)
        if self.kind == levers.TIER:
            return price(rows, rates, service_tier=self.to)
        zeros = np.zeros(len(rows), dtype=np.int64)
        if self.kind == levers.NO_CACHE:  # cache reads and writes billed as the input they stand for
            return price(rows, rates, input_tokens=prompt_tokens(rows), cache_read_tokens=zeros,
                         cache_write_tokens=zeros)
        if self.kind == levers.CAP_REASONING:
            return price(rows, rates, output_tokens=np.asarray(rows["capped_output_tokens"], np.int64))
        if self.kind == levers.PROMPT_CACHE and self.lifetime is not None:
            hit = np.isin(np.asarray(rows["id"], np.int64), np.fromiter(self.reads, np.int64, len(self.reads)))
            prompt = np.asarray(rows["input_tokens"], dtype=np.int64)
            write = np.where(hit, 0, prompt)
            default = self.lifetime.write == DEFAULT_WRITE
            return price(rows, rates, input_tokens=zeros, cache_read_tokens=np.where(hit, prompt, 0),
                         cache_write_tokens=write if default else zeros,
                         cache_write_1h_tokens=zeros if default else write)
        if self.kind == levers.BASE_RATES:  # the same tokens compared with no threshold: the base rates
            return price(rows.assign(threshold_prompt=0), rates)
        raise ValueError(f"no pricing for a {self.kind} counterfactual")

    def saved(self, rows: pd.DataFrame, rates: RateTable,
              weights: Any = None) -> tuple[Delta, npt.NDArray[np.int64]]:
        """Actual minus counterfactual over the rows both can price (`weights`: the requests each row
        stands for), and per row. DROPPED: a request not sent costs nothing, and one the table cannot
        price counts at its logged cost."""
        if self.kind == levers.DROP:
            paid = price(rows, rates)
            cost = np.where(paid.priced, paid.cost_nanos, np.asarray(rows["cost_nanos"], dtype=np.int64))
            total = int(cost.sum())
            return Delta(total, total, 0, len(rows), 0, []), cost
        actual, counterfactual = price(rows, rates), self.priced(rows, rates)
        both = actual.priced & counterfactual.priced
        return delta(actual, counterfactual, weights), np.where(both, actual.cost_nanos - counterfactual.cost_nanos, 0)

    def as_levers(self, project_id: int, rows: pd.DataFrame, saved: npt.NDArray[np.int64]) -> tuple[Lever, ...]:
        """One lever per model of the rows (as reported), each with what it saves on that model's rows."""
        models = rows["model"].astype(str).to_numpy()
        ids = np.asarray(rows["id"], dtype=np.int64)
        named = self.kind in levers.BY_REQUEST
        out = []
        for model in sorted(set(models.tolist())):
            mine = models == model
            request_ids = frozenset(ids[mine].tolist()) if named else frozenset()
            out.append(Lever(
                self.kind, project_id, model, max(0, int(saved[mine].sum())), to=self.to, tier=self.tier,
                request_ids=request_ids, reads=self.reads & request_ids if self.reads else frozenset(),
                cache_write=self.lifetime.write if self.lifetime else None))
        return tuple(out)


def on_model(to: str) -> Counterfactual:
    """Every request priced on another model (model-downgrade, legacy-model)."""
    return Counterfactual(levers.MODEL, to=to)


def on_tier(tier: str, to: str) -> Counterfactual:
    """The requests on one service tier priced on another (batch-api)."""
    return Counterfactual(levers.TIER, to=to, tier=tier)


def cached_prompts(reads: frozenset[int], lifetime: CacheLifetime) -> Counterfactual:
    """The requests send their prompt through the cache: `reads` read it, the others write it (prompt-caching)."""
    return Counterfactual(levers.PROMPT_CACHE, reads=reads, lifetime=lifetime)


NO_CACHE = Counterfactual(levers.NO_CACHE)  # cache-write-waste
CAPPED_REASONING = Counterfactual(levers.CAP_REASONING)  # reasoning-overspend
BASE_RATES = Counterfactual(levers.BASE_RATES)  # long-context-tier: prompts trimmed under the line
DROPPED = Counterfactual(levers.DROP)  # response-cache: a cache answers them, they are not sent


@dataclass(frozen=True, eq=False)
class Quote:
    """A counterfactual priced on the traffic a rule picked."""

    inputs: CheckInputs
    project_id: int  # NO_PROJECT: unattributed traffic
    change: Counterfactual
    delta: Delta
    saved: npt.NDArray[np.int64]  # per row of `rows`: actual minus counterfactual where both are priced
    rows: pd.DataFrame  # what was priced
    sample_scope: SampleScope | None = None  # where sample ids come from; None: the costliest rows

    @cached_property
    def levers(self) -> tuple[Lever, ...]:
        """The change stated per model for checks/overlap.py (built once asked: a check comparing
        alternatives states only the one it quotes)."""
        return self.change.as_levers(self.project_id, self.rows, self.saved)

    @property
    def monthly(self) -> int:
        """The window's saving scaled to a 30-day month (never negative)."""
        return self.inputs.monthly(self.delta.saving_nanos)

    @property
    def evidence(self) -> dict[str, Any]:
        """What every quote's evidence says: both bills, the window's saving, the days, what was not priced."""
        d = self.delta
        return {"actual_nanos": d.actual_nanos, "counterfactual_nanos": d.counterfactual_nanos,
                "window_saving_nanos": d.saving_nanos, "days_observed": self.inputs.days_observed,
                **unpriced_evidence(d)}

    @property
    def instead(self) -> str:
        """'$1.20 instead of $3.40': the counterfactual's bill, then the actual one (for a rationale)."""
        return f"{dollars(self.delta.counterfactual_nanos)} instead of {dollars(self.delta.actual_nanos)}"

    def finding(self, check_id: str, *, subject: str, title: str, rationale: str, confidence: str,
                request_count: int, evidence: dict[str, Any], model: str | None = None,
                sample_request_ids: tuple[int, ...] | None = None) -> Finding:
        """The monthly finding of this quote: its saving, its levers, sample ids from its scope."""
        if sample_request_ids is None:
            sample_request_ids = self.inputs.sample(self.sample_scope) if self.sample_scope is not None \
                else samples(self.rows)
        return Finding(check_id=check_id, project_id=project_or_none(self.project_id), subject=subject, title=title,
                       rationale=rationale, impact_nanos=self.monthly, confidence=confidence,
                       request_count=request_count, sample_request_ids=sample_request_ids, evidence=evidence,
                       levers=self.levers, model=model)


def price_change(inputs: CheckInputs, rows: pd.DataFrame, change: Counterfactual, *, project_id: int,
                 weights: Any = None, sample_scope: SampleScope | None = None) -> Quote:
    """The change priced on the rows, whatever it saves (a check comparing alternatives picks one)."""
    d, saved = change.saved(rows, inputs.rates, weights)
    return Quote(inputs, project_id, change, d, saved, rows, sample_scope)


def quote(inputs: CheckInputs, project_id: int, model: str, change: Counterfactual, *,
          service_tier: str | None = None, with_output_only: bool = False,
          sample_scope: SampleScope | None = None) -> Quote | None:
    """The change on the window's successful requests of one project and model (on one service tier when
    given; without the successful requests that had no output when `with_output_only`): their day sums,
    and one by one the requests sums cannot serve (checks.usage.priceable). None: it saves nothing in a
    month. Sample ids come from the same requests unless `sample_scope` narrows them."""
    rows = priceable(inputs.usage, successful_of(project_id, model, service_tier), rates=inputs.rates,
                     with_output_only=with_output_only)
    scope = sample_scope or SampleScope(project_id=project_id, model=model, service_tier=service_tier,
                                        with_output=with_output_only)
    found = price_change(inputs, rows, change, project_id=project_id, weights=np.asarray(rows["requests"]),
                         sample_scope=scope)
    return found if found.monthly > 0 else None


def quote_requests(inputs: CheckInputs, rows: pd.DataFrame, change: Counterfactual, *,
                   project_id: int) -> Quote | None:
    """The change on per-request rows (checks.base.REQUEST_COLUMNS) of one project; None: it saves nothing
    in a month. Sample ids: the costliest of the rows."""
    found = price_change(inputs, rows, change, project_id=project_id)
    return found if found.monthly > 0 else None


def per_project_model(inputs: CheckInputs, columns: list[str]) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """The successful requests' sums of `columns` per project and model (as reported), in key order: what
    most rules test first. Nothing for an empty window."""
    if inputs.usage.group_rows:
        yield from successful_rows(inputs.usage, columns)
