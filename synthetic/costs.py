"""Pricing the generated rows with pricing/, as the daemon would have priced them.

Every cost and rates_version comes from `price_requests`; the stale-rate pattern prices the
outdated device's rows at the version before the latest price change, as an old daemon does.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pricing import PricedBatch, RateTable, price_requests
from synthetic.catalog import DEVICE_INDEX, STALE_RATE_DEVICE
from synthetic.columns import SERVICE_TIERS, Columns, Mark, categorical
from synthetic.models import ModelFacts, PriceChange
from synthetic.patterns import Priced
from synthetic.rhythm import day_start_micros

Mask = NDArray[np.bool_]
STANDARD = SERVICE_TIERS.index("standard")


def price_rows(table: RateTable, facts: ModelFacts, rows: Columns, stale: PriceChange | None) -> Priced:
    """Add cost_nanos and rates_version to the rows; errors cost nothing but keep their version."""
    everything = np.ones(len(rows["model"]), dtype=bool)
    batch = _price(table, facts, rows, everything)
    untiered = ~batch.priced & (rows["tier"] != STANDARD)
    if untiered.any():  # a tier the version in force did not price yet: the caller got standard
        rows["tier"][untiered] = STANDARD
        batch = _price(table, facts, rows, everything)
    _require_priced(batch)
    ok = rows["status"] == 200
    cost = np.where(ok, batch.cost_nanos, 0)
    version = np.asarray(batch.rates_version, dtype=object)
    stale_detail = None if stale is None else _price_stale(table, facts, rows, stale, cost, version)
    rows["cost_nanos"] = cost
    rows["rates_version"] = version

    def what_if(mask: Mask, **change: Any) -> int:
        """Cost of the rows priced another way; rows that way cannot price keep their cost."""
        other = _price(table, facts, rows, mask, **change)
        return int(np.where(other.priced, other.cost_nanos, cost[mask]).sum(dtype=np.int64))

    def recommended(model: str, at: dt.date) -> str:
        current = table.current_model(model, at)
        return current.model if current else model

    return Priced(
        cost_as_model=lambda mask, model: what_if(mask, as_model=model),
        recommended=recommended,
        cost_on_tier=lambda mask, tier: what_if(mask, tier=tier),
        stale=stale_detail,
    )


def _price_stale(
    table: RateTable, facts: ModelFacts, rows: Columns, change: PriceChange,
    cost: NDArray[np.int64], version: NDArray[np.object_],
) -> dict[str, Any]:
    """Re-price the outdated device's rows since the change at the version before it, in place."""
    since = day_start_micros(change.effective)
    mask = (rows["device"] == DEVICE_INDEX[STALE_RATE_DEVICE]) & (rows["started"] >= since)
    old = _price(table, facts, rows, mask, at=change.effective - dt.timedelta(days=1))
    _require_priced(old)
    old_cost = np.where(rows["status"][mask] == 200, old.cost_nanos, 0)
    delta = old_cost - cost[mask]
    cost[mask] = old_cost
    version[mask] = old.rates_version
    rows["mark"][mask] |= Mark.STALE_RATE
    return {"model": change.model, "stale_version": change.stale_version,
            "current_version": change.current_version, "effective": change.effective.isoformat(),
            "delta_nanos": int(delta.sum(dtype=np.int64)), "rows_with_delta": int((delta != 0).sum())}


def _price(
    table: RateTable, facts: ModelFacts, rows: Columns, mask: Mask,
    tier: str | None = None, at: dt.date | None = None, as_model: str | None = None,
) -> PricedBatch:
    """Price the masked rows: as generated, or on another tier, model or date."""
    return price_requests(
        table,
        model=None if as_model else categorical(rows["model"][mask], facts.names),
        service_tier=tier or categorical(rows["tier"][mask], SERVICE_TIERS),
        input_tokens=rows["input_tokens"][mask],
        cache_read_tokens=rows["cache_read_tokens"][mask],
        cache_write_tokens=rows["cache_write_tokens"][mask],
        output_tokens=rows["output_tokens"][mask],
        started_at=None if at else rows["started"][mask].astype("datetime64[us]"),
        at=at,
        as_model=as_model,
    )


def _require_priced(batch: PricedBatch) -> None:
    if not batch.priced.all():
        reasons = sorted({str(r) for r in batch.reasons() if r is not None})
        raise ValueError(f"the price table could not price {int((~batch.priced).sum())} generated rows: "
                         + "; ".join(reasons))
