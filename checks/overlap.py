"""What the catalog's monthly findings save taken together: one counterfactual bill per project and model.

Quotes on the same traffic cannot be added. A swap and batching compound (batching then halves the
cheaper bill, not the old one); prompt caching and a response cache on the same prompts overlap (a request
a response cache answers is not sent, cached or not); model-downgrade and legacy-model are alternatives
(one model replaces another once). So every monthly finding states its counterfactual as levers on the
traffic it touches (checks/levers.py), and `combine` applies them together, per scope (a project and a
model as reported):

1. The bill: the scope's successful requests of the window priced at the table's rates as they ran, as the
   checks price them (the day sums, and one by one the requests a lever names: checks.usage.priceable).
2. The levers are taken in order of what each saves alone, largest first. The first counts what it saves
   alone, as quoted. Each next one is applied to the bill the levers before it left and counts what it
   saves on that bill, at most what it saves alone; one that saves nothing more there is not taken. Of the
   levers that change the model only the first is taken (they are alternatives). A request a response
   cache answers costs nothing whatever else applies; a row a lever cannot price (a tier the new model
   does not offer) keeps its price from before that lever.
3. So a scope saves at least its largest lever and at most the sum of its levers. The workspace's monthly
   figure (`monthly_headline`) is the sum over scopes of the open findings' levers, scaled to a 30-day
   month as every quote is: at least the largest open quote and at most the open quotes' sum (clamped to
   it, since each quote is rounded down on its own when scaled).

A person accepts, dismisses or suppresses findings between catalog runs (halton.apply_decisions, which
recomputes nothing), so `combine` keeps what every subset of a scope's levers saves (2^k values: k is at
most the eight monthly checks, and rarely above two), and the headline takes the subset that is open.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
import pandas as pd

from checks import legacy_model, levers, model_downgrade
from checks.base import MONTH_DAYS, CheckInputs, Finding
from checks.levers import Lever
from checks.usage import priceable, successful_of
from pricing import PricedBatch, RateTable, price_requests

CACHE_KINDS = ("input_tokens", "cache_read_tokens", "cache_write_tokens", "cache_write_1h_tokens")
MAX_LEVERS_PER_SCOPE = 12  # the catalog has eight monthly checks, each with at most one lever per scope


@dataclass(frozen=True)
class ScopeCombination:
    project_id: int  # checks.usage.NO_PROJECT: unattributed traffic
    model: str  # as reported
    fingerprints: tuple[str, ...]  # the findings whose levers touch the scope, in the order they are taken
    subset_savings: tuple[int, ...]  # window saving of each subset: bit i of the index takes fingerprints[i]

    def saving(self, taken: Collection[str]) -> int:
        """What the levers of the `taken` findings save together on this scope over the window."""
        return self.subset_savings[sum(1 << i for i, fp in enumerate(self.fingerprints) if fp in taken)]


@dataclass(frozen=True)
class Combination:
    """A catalog run's scopes and the days its quotes were scaled from (what store/ keeps of it)."""

    scopes: tuple[ScopeCombination, ...] = ()
    days_observed: int = MONTH_DAYS

    def headline(self, open_quotes: Mapping[str, int]) -> int:
        return monthly_headline(self.scopes, open_quotes, self.days_observed)


def combine(findings: Sequence[Finding], inputs: CheckInputs) -> Combination:
    """Every scope a monthly finding's lever touches, with what each subset of its levers saves."""
    by_scope: dict[tuple[int, str], list[tuple[str, Lever]]] = {}
    for finding in findings:
        for lever in finding.levers:
            by_scope.setdefault(lever.scope, []).append((finding.fingerprint, lever))
    out = []
    for scope, entries in sorted(by_scope.items()):
        entries.sort(key=lambda entry: (-entry[1].window_saving_nanos, entry[0]))
        taken = [lever for _, lever in entries]
        if len(taken) > MAX_LEVERS_PER_SCOPE:
            raise ValueError(f"{len(taken)} levers on one scope: more than the catalog's checks can state")
        savings = [0, taken[0].window_saving_nanos] if len(taken) == 1 else \
            subset_savings(_scope_rows(inputs, scope, taken), taken, inputs.rates)
        out.append(ScopeCombination(scope[0], scope[1], tuple(fp for fp, _ in entries), tuple(savings)))
    return Combination(tuple(out), inputs.days_observed)


def monthly_headline(scopes: Iterable[ScopeCombination], open_quotes: Mapping[str, int], days_observed: int) -> int:
    """What taking every open monthly recommendation together saves in a 30-day month, in nanos.

    `open_quotes`: fingerprint -> monthly quote of each open monthly recommendation; `days_observed`: the
    days the catalog run's quotes were scaled from. A quote no scope knows (a finding that stated no
    lever: none of the catalog's checks) counts on its own."""
    window, combined = 0, set[str]()
    for scope in scopes:
        window += scope.saving(open_quotes.keys())
        combined.update(scope.fingerprints)
    together = max(0, window) * MONTH_DAYS // max(days_observed, 1)
    quoted = sum(q for fp, q in open_quotes.items() if fp in combined)
    return min(together, quoted) + sum(q for fp, q in open_quotes.items() if fp not in combined)


# -- one scope's bill --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bill:
    """A scope's rows as the levers taken so far leave them, and what each row costs then."""

    model: npt.NDArray[np.object_]  # the model each row is priced on
    tier: npt.NDArray[np.object_]
    tokens: dict[str, npt.NDArray[np.int64]]  # CACHE_KINDS and output_tokens
    threshold: npt.NDArray[np.int64]  # the prompt compared with the long-context line (0: a sum below it)
    cost: npt.NDArray[np.int64]  # 0 for a dropped row
    live: npt.NDArray[np.bool_]  # priced (or dropped): a lever may change it
    dropped: npt.NDArray[np.bool_]
    swapped: bool = False  # a lever changed the model (the others that would are alternatives)


def subset_savings(rows: pd.DataFrame, taken: Sequence[Lever], rates: RateTable) -> list[int]:
    """What each subset of the levers (in the order given) saves together on the rows, by the module's rule:
    index = the subset as bits. Depth first: each subset extends the one without its last lever."""
    out = [0] * (1 << len(taken))

    def visit(mask: int, bill: Bill, saved: int, start: int) -> None:
        out[mask] = saved
        for j in range(start, len(taken)):
            after, increment = apply(taken[j], bill, rows, rates)
            if mask == 0:  # the largest lever of the subset: what it saves alone, as quoted
                counted = taken[j].window_saving_nanos
            elif increment > 0:
                counted = min(increment, taken[j].window_saving_nanos)
            else:  # nothing more to save: not taken
                after, counted = bill, 0
            visit(mask | 1 << j, after, saved + counted, j + 1)

    visit(0, actual_bill(rows, rates), 0, 0)
    return out


def actual_bill(rows: pd.DataFrame, rates: RateTable) -> Bill:
    model = rows["model"].astype(str).to_numpy(dtype=object)
    tier = rows["service_tier"].astype(str).to_numpy(dtype=object)
    tokens = {name: np.asarray(rows[name], np.int64) if name in rows else np.zeros(len(rows), np.int64)
              for name in (*CACHE_KINDS, "output_tokens")}
    bill = Bill(model, tier, tokens, np.asarray(rows["threshold_prompt"], np.int64), np.zeros(len(rows), np.int64),
                np.zeros(len(rows), bool), np.zeros(len(rows), bool))
    priced = _price(bill, rows, rates, np.arange(len(rows)))
    return replace(bill, cost=np.where(priced.priced, priced.cost_nanos, 0), live=priced.priced.copy())


def apply(lever: Lever, bill: Bill, rows: pd.DataFrame, rates: RateTable) -> tuple[Bill, int]:
    """The bill with the lever applied, and what that saves on it (rows it cannot price keep their state)."""
    ids = np.asarray(rows["id"], np.int64)
    named = np.isin(ids, np.fromiter(lever.request_ids, np.int64, len(lever.request_ids)))
    if lever.kind == levers.DROP:
        idx = np.flatnonzero(named & ~bill.dropped)
        logged = np.asarray(rows["cost_nanos"], np.int64)[idx]  # what a request the table cannot price cost
        increment = int(np.where(bill.live[idx], bill.cost[idx], logged).sum())
        cost, live, dropped = bill.cost.copy(), bill.live.copy(), bill.dropped.copy()
        cost[idx], live[idx], dropped[idx] = 0, True, True
        return replace(bill, cost=cost, live=live, dropped=dropped), increment
    if lever.kind == levers.MODEL and bill.swapped:
        return bill, 0
    changeable = bill.live & ~bill.dropped
    model, tier = bill.model.copy(), bill.tier.copy()
    tokens, threshold = {k: v.copy() for k, v in bill.tokens.items()}, bill.threshold.copy()
    if lever.kind == levers.MODEL:
        idx = np.flatnonzero(changeable)
        model[idx] = lever.to
    elif lever.kind == levers.TIER:
        idx = np.flatnonzero(changeable & (bill.tier == lever.tier))
        tier[idx] = lever.to
    elif lever.kind == levers.NO_CACHE:
        idx = np.flatnonzero(changeable)
        tokens["input_tokens"][idx] = sum(bill.tokens[k][idx] for k in CACHE_KINDS)
        for name in CACHE_KINDS[1:]:
            tokens[name][idx] = 0
    elif lever.kind == levers.CAP_REASONING:
        idx = np.flatnonzero(changeable & (bill.tokens["output_tokens"] > 0))
        tokens["output_tokens"][idx] = np.asarray(rows["capped_output_tokens"], np.int64)[idx]
    elif lever.kind == levers.PROMPT_CACHE:  # as checks.prompt_caching prices it
        idx = np.flatnonzero(changeable & named)
        prompt = bill.tokens["input_tokens"][idx]
        hit = np.isin(ids[idx], np.fromiter(lever.reads, np.int64, len(lever.reads)))
        written = f"{lever.cache_write}_tokens"
        tokens["input_tokens"][idx] = 0
        tokens["cache_read_tokens"][idx] = np.where(hit, prompt, 0)
        tokens["cache_write_tokens"][idx] = 0
        tokens["cache_write_1h_tokens"][idx] = 0
        tokens[written][idx] = np.where(hit, 0, prompt)
    else:  # BASE_RATES
        idx = np.flatnonzero(changeable & named)
        threshold[idx] = 0
    after = replace(bill, model=model, tier=tier, tokens=tokens, threshold=threshold,
                    swapped=bill.swapped or lever.kind == levers.MODEL)
    priced = _price(after, rows, rates, idx)
    keep = idx[~priced.priced]  # rows the lever cannot price: as before
    for column, before in ((model, bill.model), (tier, bill.tier), (threshold, bill.threshold),
                           *((tokens[k], bill.tokens[k]) for k in tokens)):
        column[keep] = before[keep]
    cost = bill.cost.copy()
    cost[idx[priced.priced]] = priced.cost_nanos[priced.priced]
    return replace(after, cost=cost), int(bill.cost[idx].sum() - cost[idx].sum())


def _price(bill: Bill, rows: pd.DataFrame, rates: RateTable, idx: npt.NDArray[np.intp]) -> PricedBatch:
    return price_requests(
        rates, model=pd.Categorical(bill.model[idx]), service_tier=pd.Categorical(bill.tier[idx]),
        input_tokens=bill.tokens["input_tokens"][idx], cache_read_tokens=bill.tokens["cache_read_tokens"][idx],
        cache_write_tokens=bill.tokens["cache_write_tokens"][idx],
        cache_write_1h_tokens=bill.tokens["cache_write_1h_tokens"][idx],
        output_tokens=bill.tokens["output_tokens"][idx],
        started_at=rows["started_at"].to_numpy(dtype="datetime64[us]")[idx],
        threshold_prompt_tokens=bill.threshold[idx])


def _scope_rows(inputs: CheckInputs, scope: tuple[int, str], taken: Sequence[Lever]) -> pd.DataFrame:
    """The scope's priceable rows, the requests a lever names priced one by one."""
    project_id, model = scope
    named: set[int] = set()
    for lever in taken:
        named |= lever.request_ids
    frame = inputs.requests
    apart = frame[frame["id"].isin(list(named))] if named else frame.iloc[:0]
    return priceable(inputs.usage, successful_of(project_id, model), rates=inputs.rates, apart=apart,
                     timezone=inputs.timezone)


# -- kept until store/report_reads.py reads analysis.catalog_summary ---------------------------------

SWAPS = frozenset({model_downgrade.ID, legacy_model.ID})


def attainable_total(quotes: Iterable[tuple[str, int]]) -> int:
    """The sum of (fingerprint, monthly saving) quotes, alternative swaps of one model in one project
    counted once (the larger). Superseded by `monthly_headline` (analysis.catalog_summary), which also
    compounds levers of different kinds; the reports read this until they read the summary."""
    total = 0
    largest_swap: dict[tuple[str, str], int] = {}
    for fingerprint, saving in quotes:
        parts = fingerprint.split(":", 2)  # a model name may hold a ':' itself
        if len(parts) == 3 and parts[0] in SWAPS:
            replaced = (parts[1], parts[2].rsplit("->", 1)[0])
            largest_swap[replaced] = max(largest_swap.get(replaced, 0), saving)
        else:
            total += saving
    return total + sum(largest_swap.values())

