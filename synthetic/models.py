"""The models a synthetic workspace uses, resolved against the price table.

Each catalog role becomes one model listed in the version in force on the workspace's first day
(so no row is priced by a version newer than itself); its facts (context window, output cap,
caching, long-context threshold, service tiers) come from the price table, never from ours.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from numpy.typing import NDArray

from pricing import ModelRates, RateTable, VersionInfo
from synthetic.catalog import OVERPOWERED_ROLE, RIGHT_SIZED_FALLBACK, RIGHT_SIZED_ROLE, ROLES, ModelRole

DEFAULT_CONTEXT_WINDOW = 128_000
DEFAULT_MAX_OUTPUT = 8_192
DEFAULT_MIN_CACHEABLE = 1_024  # providers that cache automatically from about this length
STALE_ROLE = "stale-rate"  # the model whose price changed, used by the outdated daemon
EXTRA_ROLE_SPEED = 80.0
EXTRA_ROLE_REASONING = 0.5


@dataclass(frozen=True)
class PriceChange:
    """The latest price change (before the workspace's first day) to a listed model."""

    model: str
    stale_version: str  # what an outdated daemon still prices with
    current_version: str
    effective: dt.date


@dataclass(frozen=True)
class ModelFacts:
    """Per-model arrays, indexed by the model's position in `names`."""

    names: tuple[str, ...]
    providers: tuple[str, ...]
    context_window: NDArray[np.int64]
    max_output: NDArray[np.int64]
    min_cacheable: NDArray[np.int64]  # 0: the model has no prompt caching
    cache_writes: NDArray[np.bool_]  # True: the caller writes the cache explicitly (Anthropic)
    long_context_threshold: NDArray[np.int64]  # 0: no long-context price
    reasoning_share: NDArray[np.float64]  # share of requests that think before answering
    tokens_per_second: NDArray[np.float64]
    tiers: tuple[frozenset[str], ...]  # service tiers the table prices


@dataclass(frozen=True)
class ResolvedModels:
    facts: ModelFacts
    role_model: dict[str, int]  # role -> index into facts.names (RIGHT_SIZED_ROLE, STALE_ROLE too)
    price_change: PriceChange | None

    def name(self, role: str) -> str:
        return self.facts.names[self.role_model[role]]


def resolve_models(table: RateTable, at: dt.date) -> ResolvedModels:
    """The workspace's models as of `at` (its first day)."""
    names: list[str] = []
    role_model: dict[str, int] = {}
    speed: dict[str, float] = {}
    reasoning: dict[str, float] = {}

    def add(role: str, model: str, params: ModelRole | None) -> None:
        if model not in names:
            names.append(model)
            speed[model] = params.tokens_per_second if params else EXTRA_ROLE_SPEED
            reasoning[model] = params.reasoning_share if params else EXTRA_ROLE_REASONING
        role_model[role] = names.index(model)

    for role_name, role in ROLES.items():
        add(role_name, _pick(table, role, at), role)
    add(RIGHT_SIZED_ROLE, _right_sized(table, names[role_model[OVERPOWERED_ROLE]], at),
        ROLES[RIGHT_SIZED_FALLBACK])
    change = latest_price_change(table, at)
    if change is not None:
        add(STALE_ROLE, change.model, None)
    return ResolvedModels(_facts(table, names, speed, reasoning, at), role_model, change)


def _pick(table: RateTable, role: ModelRole, at: dt.date) -> str:
    listed = table.models(role.provider, at=at)
    if not listed:
        raise ValueError(f"the price table lists no {role.provider} model on {at}")
    return next((m for m in role.preferred if m in listed), listed[0])


def _right_sized(table: RateTable, heavy: str, at: dt.date) -> str:
    """The over-powered model's cheaper sibling, as the price table names it."""
    info = table.model_info(heavy, at=at)
    sibling = info.cheaper_sibling if info else None
    fallback = ROLES[RIGHT_SIZED_FALLBACK]
    if sibling is not None and sibling in table.models(fallback.provider, at=at):
        return sibling
    return _pick(table, fallback, at)


def latest_price_change(table: RateTable, at: dt.date) -> PriceChange | None:
    """The newest version in force by `at` that changed a listed model's standard rates."""
    listed = table.models(at=at)
    versions = [v for v in table.versions if v.effective <= at]
    for before, after in reversed(list(pairwise(versions))):
        changed = [m for m in listed if _standard_rates_changed(table, m, before, after)]
        if changed:
            return PriceChange(changed[0], before.id, after.id, after.effective)
    return None


def _standard_rates_changed(table: RateTable, model: str, before: VersionInfo, after: VersionInfo) -> bool:
    old, new = table.model_info(model, at=before.effective), table.model_info(model, at=after.effective)
    if old is None or new is None or old.version != before.id:  # not listed yet before the change
        return False
    return old.rates.get("standard") != new.rates.get("standard")


def _facts(
    table: RateTable, names: list[str], speed: dict[str, float], reasoning: dict[str, float], at: dt.date
) -> ModelFacts:
    infos = [_info(table, name, at) for name in names]
    return ModelFacts(
        names=tuple(names),
        providers=tuple(i.provider for i in infos),
        context_window=np.array([i.context_window or DEFAULT_CONTEXT_WINDOW for i in infos], dtype=np.int64),
        max_output=np.array([i.max_output or DEFAULT_MAX_OUTPUT for i in infos], dtype=np.int64),
        min_cacheable=np.array([_min_cacheable(i) for i in infos], dtype=np.int64),
        cache_writes=np.array([i.provider == "anthropic" for i in infos], dtype=bool),
        long_context_threshold=np.array([i.long_context_threshold or 0 for i in infos], dtype=np.int64),
        reasoning_share=np.array([reasoning[n] for n in names], dtype=np.float64),
        tokens_per_second=np.array([speed[n] for n in names], dtype=np.float64),
        tiers=tuple(frozenset(i.service_tiers) for i in infos),
    )


def _info(table: RateTable, name: str, at: dt.date) -> ModelRates:
    info = table.model_info(name, at=at)
    if info is None:  # cannot happen for a model the table just listed
        raise ValueError(f"the price table has no rates for {name} on {at}")
    return info


def _min_cacheable(info: ModelRates) -> int:
    """0 when reading from the cache is not cheaper than fresh input (no caching to speak of)."""
    standard = info.rates["standard"]
    if standard.cache_read >= standard.input:
        return 0
    return info.min_cacheable_tokens or DEFAULT_MIN_CACHEABLE
