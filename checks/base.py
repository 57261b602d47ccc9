"""What every check shares: its inputs, its findings, and the arithmetic of a quote.

A check is a pure function of `CheckInputs` (no SQL, no Celery): the workspace's 30-day window as
`checks.usage.Usage` (one grouped scan's sums, and the few requests sums cannot serve), the per-request
rows of the clustering stage's hashes, its clusters and loop incidents, and the price table. It
returns `Finding`s; the lifecycle (fingerprints, statuses) lives in store/.

The pure tests hand a whole per-request frame instead: `CheckInputs.usage` is then built from it
(`checks.usage.from_requests`) and sample ids are picked from it, so both paths run the same code.

Money: a finding says what kind it is about (`recurrence`) and how much (`impact_nanos`):
- 'monthly': a saving that recurs; observed over the window and scaled to a 30-day month from the days
  observed (`CheckInputs.monthly`). It states its counterfactual as `levers` (checks/levers.py), so that
  checks/overlap.py can take every monthly finding together on one bill. A quote from fewer than 7 days
  says so in its rationale and is at most 'low' confidence (`run_catalog` sees to it).
- 'one_off': waste already spent that a fix stops from happening again (a loop), as it cost, not scaled.
- 'anomaly': spend above its baseline (a spike), as observed, not scaled: it may be wanted.
`monthly_saving_nanos` is the impact of a monthly finding and 0 for the others. Never negative.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from checks import usage as usage_mod
from checks.levers import Lever
from checks.usage import Usage
from core.money import money
from pricing import PricedBatch, RateTable, price_requests

MONTH_DAYS = 30
MAX_SAMPLES = 20
MONTHLY, ONE_OFF, ANOMALY = "monthly", "one_off", "anomaly"
RECURRENCES = (MONTHLY, ONE_OFF, ANOMALY)
FULL_CONFIDENCE_DAYS = 7  # a monthly quote from fewer days of data is at most 'low' confidence
NO_PROJECT = usage_mod.NO_PROJECT  # store.frames' sentinel for an unattributed request

#: The per-request columns of the requests the catalog reads one by one (store/frames.py names): the
#: clustering stage's hashes' and the odd ones of checks.usage (and the whole window in the pure tests).
REQUEST_COLUMNS: tuple[str, ...] = (
    "id", "started_at", "device_id", "project_id", "provider", "model", "service_tier", "status_code",
    "input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens",
    "cost_nanos", "prompt_key",
)


@dataclass(frozen=True)
class SampleScope:
    """Which requests of the window a finding's sample ids come from (store/ turns it into a WHERE)."""

    project_id: int | None = None  # NO_PROJECT: unattributed requests
    model: str | None = None  # as reported
    service_tier: str | None = None
    device_id: int | None = None
    successful: bool = True  # status 200 only
    since: datetime | None = None
    cache_writes: bool = False  # only requests that wrote the cache
    with_output: bool = False  # only requests with output

    def mask(self, frame: pd.DataFrame) -> npt.NDArray[np.bool_]:
        mask = np.ones(len(frame), dtype=bool)
        if self.project_id is not None:
            mask &= np.asarray(frame["project_id"] == self.project_id)
        if self.model is not None:
            mask &= np.asarray(frame["model"].astype(str) == self.model)
        if self.service_tier is not None:
            mask &= np.asarray(frame["service_tier"].astype(str) == self.service_tier)
        if self.device_id is not None:
            mask &= np.asarray(frame["device_id"] == self.device_id)
        if self.successful:
            mask &= np.asarray(frame["status_code"] == 200)
        if self.since is not None:
            mask &= np.asarray(frame["started_at"] >= pd.Timestamp(self.since))
        if self.cache_writes:
            mask &= np.asarray(frame["cache_write_tokens"] > 0)
        if self.with_output:
            mask &= np.asarray(frame["output_tokens"] > 0)
        return mask


class Sampler(Protocol):
    def __call__(self, scope: SampleScope) -> tuple[int, ...]: ...


def latest_ids(frame: pd.DataFrame, scope: SampleScope) -> tuple[int, ...]:
    """Up to 20 ids of the scope's requests, the latest first (what store/ picks with the started_at index)."""
    rows = frame[scope.mask(frame)]
    if not len(rows):
        return ()
    started = rows["started_at"].to_numpy(dtype="datetime64[us]").astype(np.int64)
    ids = np.asarray(rows["id"], dtype=np.int64)
    order = np.lexsort((-ids, -started))[:MAX_SAMPLES]
    return tuple(int(i) for i in ids[order])


@dataclass(frozen=True)
class CheckInputs:
    workspace_id: int
    window_start: datetime
    as_of: datetime  # the window's end (exclusive)
    # per-request rows (REQUEST_COLUMNS) started in the window and synced by as_of: the whole window for
    # the pure tests; in the stage only the requests of the clustering stage's hashes (clusters, loops)
    requests: pd.DataFrame
    daily: pd.DataFrame  # analysis.daily_spend rows: day, project_id (-1 none), device_id, model, cost_nanos, …
    clusters: pd.DataFrame  # analysis.prompt_clusters of this window, plus prompt_key (int64)
    loops: pd.DataFrame  # analysis.loop_incidents started in the window, plus prompt_key
    rates: RateTable
    timezone: str = "UTC"
    project_names: Mapping[int, str] = field(default_factory=dict)
    device_names: Mapping[int, str] = field(default_factory=dict)
    usage_scan: Usage | None = None  # the grouped scan (store/); None: built from `requests`
    sampler: Sampler | None = None  # sample ids from store/; None: picked from `requests`

    @cached_property
    def usage(self) -> Usage:
        if self.usage_scan is not None:
            return self.usage_scan
        return usage_mod.from_requests(self.requests, rates=self.rates, timezone=self.timezone)

    def sample(self, scope: SampleScope) -> tuple[int, ...]:
        return self.sampler(scope) if self.sampler is not None else latest_ids(self.requests, scope)

    @cached_property
    def days_observed(self) -> int:
        """Whole days from the first request in the window to as_of (1..30)."""
        usage = self.usage
        if not usage.group_rows:
            return MONTH_DAYS
        first: datetime = pd.Timestamp(usage.columns["first_at"].min(), tz="UTC").to_pydatetime()
        days = math.ceil((self.as_of - first) / timedelta(days=1))
        return min(max(days, 1), MONTH_DAYS)

    def monthly(self, saving_nanos: int) -> int:
        """A saving observed over the window, scaled to 30 days; never negative."""
        return max(0, saving_nanos) * MONTH_DAYS // self.days_observed

    def project_label(self, project_id: int | None) -> str:
        if project_id is None or project_id == NO_PROJECT:
            return "unattributed traffic"
        return self.project_names.get(project_id, f"project {project_id}")

    def device_label(self, device_id: int) -> str:
        return self.device_names.get(device_id, f"device {device_id}")


@dataclass(frozen=True)
class Finding:
    check_id: str
    project_id: int | None  # None: workspace-wide (or unattributed traffic)
    subject: str  # what within the project, stable across runs (a model, 'model->sibling', a device…)
    title: str
    rationale: str
    impact_nanos: int  # the money it is about: the monthly saving, the waste spent, or the excess (see above)
    confidence: str  # 'high', 'medium', 'low'
    request_count: int
    sample_request_ids: tuple[int, ...]
    evidence: dict[str, Any]
    recurrence: str = MONTHLY
    levers: tuple[Lever, ...] = ()  # a monthly finding's counterfactual, per project and model it touches
    model: str | None = None
    device_id: int | None = None

    def __post_init__(self) -> None:
        if self.impact_nanos < 0:
            raise ValueError(f"{self.check_id}: a quote is never negative")
        if self.recurrence not in RECURRENCES:
            raise ValueError(f"{self.check_id}: unknown recurrence {self.recurrence!r}")
        if self.levers and self.recurrence != MONTHLY:
            raise ValueError(f"{self.check_id}: only a monthly saving states levers")
        if self.confidence not in ("high", "medium", "low"):
            raise ValueError(f"{self.check_id}: unknown confidence {self.confidence!r}")
        if len(self.sample_request_ids) > MAX_SAMPLES:
            raise ValueError(f"{self.check_id}: at most {MAX_SAMPLES} sample ids")

    @property
    def monthly_saving_nanos(self) -> int:
        """The quoted saving for a 30-day month; 0 unless the finding is a monthly one."""
        return self.impact_nanos if self.recurrence == MONTHLY else 0

    @property
    def fingerprint(self) -> str:
        """Stable across runs: check, project and subject (readable; the dashboard stores it)."""
        project = "ws" if self.project_id is None else str(self.project_id)
        return f"{self.check_id}:{project}:{self.subject}"


def short_window(finding: Finding, days_observed: int) -> Finding:
    """A monthly quote scaled from fewer than FULL_CONFIDENCE_DAYS days of data: said in its rationale, and
    'low' confidence (a day or two of traffic says little about a month)."""
    if finding.recurrence != MONTHLY or days_observed >= FULL_CONFIDENCE_DAYS:
        return finding
    days = "1 day" if days_observed == 1 else f"{days_observed} days"
    note = (f" Quoted from {days} of data, scaled ×{MONTH_DAYS}/{days_observed} to a month: low confidence "
            f"until {FULL_CONFIDENCE_DAYS} days are seen.")
    return replace(finding, rationale=finding.rationale + note, confidence="low",
                   evidence={**finding.evidence, "days_observed": days_observed, "short_window": True})


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    description: str
    tags: tuple[str, ...]
    run: Callable[[CheckInputs], list[Finding]]


# -- helpers the checks share -------------------------------------------------------------------


def project_or_none(project_id: int) -> int | None:
    return None if project_id == NO_PROJECT else int(project_id)


def successful(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["status_code"] == 200]


def prompt_tokens(frame: pd.DataFrame | dict[str, npt.NDArray[Any]]) -> npt.NDArray[np.int64]:
    # added as numpy arrays: a sum of Series costs a tenth of a millisecond each however few the rows
    prompt: npt.NDArray[np.int64] = (np.asarray(frame["input_tokens"], np.int64)
                                     + np.asarray(frame["cache_read_tokens"], np.int64)
                                     + np.asarray(frame["cache_write_tokens"], np.int64))
    return prompt


def price(frame: pd.DataFrame, rates: RateTable, *, as_model: str | None = None, service_tier: Any = None,
          input_tokens: Any = None, cache_read_tokens: Any = None, cache_write_tokens: Any = None,
          cache_write_1h_tokens: Any = None, output_tokens: Any = None) -> PricedBatch:
    """Price the rows as they ran (rates in force at started_at), or with some columns changed. Rows of
    `checks.usage.priceable` (sums of requests) carry the prompt to compare with the thresholds."""
    def col(value: Any, name: str) -> Any:
        return np.asarray(frame[name], dtype=np.int64) if value is None else value

    return price_requests(
        rates,
        model=None if as_model else frame["model"],
        as_model=as_model,
        service_tier=frame["service_tier"] if service_tier is None else service_tier,
        input_tokens=col(input_tokens, "input_tokens"),
        cache_read_tokens=col(cache_read_tokens, "cache_read_tokens"),
        cache_write_tokens=col(cache_write_tokens, "cache_write_tokens"),
        cache_write_1h_tokens=cache_write_1h_tokens,
        output_tokens=col(output_tokens, "output_tokens"),
        started_at=frame["started_at"].to_numpy(dtype="datetime64[us]"),
        threshold_prompt_tokens=np.asarray(frame["threshold_prompt"], dtype=np.int64)
        if "threshold_prompt" in frame else None,
    )


@dataclass(frozen=True)
class Delta:
    """Actual minus counterfactual over the rows both could price."""

    saving_nanos: int
    actual_nanos: int
    counterfactual_nanos: int
    priced_rows: int
    unpriced_rows: int
    unpriced_reasons: list[str]


def delta(actual: PricedBatch, counterfactual: PricedBatch, weights: Any = None) -> Delta:
    """`weights`: how many requests each row stands for (rows of checks.usage.priceable); default 1."""
    both = actual.priced & counterfactual.priced
    a = int(actual.cost_nanos[both].sum())
    c = int(counterfactual.cost_nanos[both].sum())
    reasons = sorted({str(r) for r in counterfactual.reasons()[~counterfactual.priced] if r is not None}
                     | {str(r) for r in actual.reasons()[~actual.priced] if r is not None})
    w = np.ones(len(both), dtype=np.int64) if weights is None else np.asarray(weights, dtype=np.int64)
    return Delta(a - c, a, c, int(w[both].sum()), int(w[~both].sum()), reasons[:5])


def samples(frame: pd.DataFrame, weights: Any = None) -> tuple[int, ...]:
    """Up to 20 request ids of the rows: the costliest first (by `weights` when given), then by id."""
    if not len(frame):
        return ()
    w = np.asarray(frame["cost_nanos"] if weights is None else weights, dtype=np.int64)
    ids = np.asarray(frame["id"], dtype=np.int64)
    order = np.lexsort((ids, -w))[:MAX_SAMPLES]
    return tuple(int(i) for i in ids[order])


def unpriced_evidence(d: Delta) -> dict[str, Any]:
    return {"unpriced_requests": d.unpriced_rows, "unpriced_reasons": d.unpriced_reasons} if d.unpriced_rows else {}


def dollars(nanos: int) -> str:
    return money(nanos)


def groups(frame: pd.DataFrame, keys: list[str]) -> Iterator[tuple[Any, pd.DataFrame]]:
    """frame.groupby(keys) in key order, the keys typed loosely (pandas-stubs types them Hashable)."""
    yield from frame.groupby(keys, observed=True, sort=True)
