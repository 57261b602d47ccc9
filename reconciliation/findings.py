"""Why logged and billed differ, as findings whose delta_nanos add up to logged − billed.

In order, each cause takes the part of the variance the data proves:
- stale_rate: a request whose stored cost differs from a re-price at the rates in force that day
  (delta = stored − re-priced, one finding per request);
- unpriced_model: a request the daemon could not price (no rate for its model or tier that day);
  delta = stored − an estimate at the latest rates when there is one, else 0 (the rest keeps it);
- promo_credit: a credit in the billed data (billed lower by it, so delta = −credit > 0);
- unlogged_spend: a billed day with no logged traffic (delta = −what was charged that day);
- unattributed: rows no project claims, then rows only the 'default' rule attributed, one finding per
  attribution tier. Not measured like the causes above: the likeliest reason for spend that is logged
  here but not on this bill is a key billed to another account, so they take what is left of a positive
  rest, capped at their (re-priced) cost; with nothing left they are listed with delta 0. Their detail
  says so (measured false, left_before_nanos, cap_nanos);
- unexplained: the rest, stated as such, so the findings always sum to the variance.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from core.periods import next_month
from pricing import UNPRICED_VERSION, PricedBatch, RateTable, price_requests
from reconciliation.model import Bill, Finding

WEAK_TIERS = ("default",)  # attributed by the fallback rule only: after the rows with no project
REQUEST_IDS_IN_DETAIL = 1000  # an unattributed tier lists this many ids; the tier and month select them all
Ints = npt.NDArray[np.int64]


def explain(period: dt.date, requests: pd.DataFrame, bill: Bill, variance: int, table: RateTable) -> list[Finding]:
    findings: list[Finding] = []
    basis = np.zeros(0, dtype=np.int64)
    if not requests.empty:
        basis = _request_findings(requests, table, findings)
    findings += _credit_findings(period, bill)
    findings += _unlogged_findings(period, bill, _logged_days(requests))
    rest = variance - sum(f.delta_nanos for f in findings)
    if not requests.empty:
        unattributed = _unattributed_findings(requests, basis, rest)
        findings += unattributed
        rest -= sum(f.delta_nanos for f in unattributed)
    findings.append(Finding("unexplained", rest, detail={
        "note": "the part of logged − billed no finding accounts for" if rest else "every cent is accounted for"}))
    return findings


def reprice(requests: pd.DataFrame, table: RateTable, latest: bool = False) -> PricedBatch:
    """The requests priced by the table: at the rates in force when each started, or the latest ones."""
    started = pd.to_datetime(requests["started_at"], utc=True).dt.tz_localize(None).to_numpy("datetime64[us]")
    return price_requests(
        table,
        model=pd.Categorical(requests["model"].astype(str)),
        service_tier=pd.Categorical(requests["service_tier"].astype(str)),
        input_tokens=requests["input_tokens"].to_numpy(np.int64),
        cache_read_tokens=requests["cache_read_tokens"].to_numpy(np.int64),
        cache_write_tokens=requests["cache_write_tokens"].to_numpy(np.int64),
        output_tokens=requests["output_tokens"].to_numpy(np.int64),
        started_at=None if latest else started,
    )


def _request_findings(requests: pd.DataFrame, table: RateTable, findings: list[Finding]) -> Ints:
    """Stale-rate and unpriced findings, per request; returns each row's cost as it should have been
    (re-priced where the rates price it, stored otherwise), the basis for the unattributed share."""
    stored = requests["cost_nanos"].to_numpy(np.int64)
    ok = requests["status_code"].to_numpy(np.int64) == 200
    batch = reprice(requests, table)
    repriced = np.where(ok, batch.cost_nanos, 0)  # an error response is not billed
    stamped_unpriced = requests["rates_version"].astype(str).to_numpy() == UNPRICED_VERSION
    unpriced = ok & (~batch.priced | stamped_unpriced)
    stale = ~unpriced & (stored != repriced)
    basis = np.where(unpriced, stored, repriced)
    ids = requests["id"].to_numpy(np.int64)
    days = pd.to_datetime(requests["started_at"], utc=True).dt.date.to_numpy()
    models = requests["model"].astype(str).to_numpy()
    versions = requests["rates_version"].astype(str).to_numpy()
    if stale.any():
        in_force = np.asarray(batch.rates_version, dtype=object)
        for i in np.flatnonzero(stale):
            findings.append(Finding(
                "stale_rate", int(stored[i] - repriced[i]), int(ids[i]), days[i], detail={
                    "model": models[i], "stored_nanos": int(stored[i]), "repriced_nanos": int(repriced[i]),
                    "stored_rates_version": versions[i], "rates_version_in_force": str(in_force[i]),
                    "error_response": not bool(ok[i])}))
    if unpriced.any():
        where = np.flatnonzero(unpriced)
        estimate = reprice(requests.iloc[where], table, latest=True)
        reasons = batch.reasons()
        for k, i in enumerate(where):
            known = bool(estimate.priced[k])
            delta = int(stored[i] - estimate.cost_nanos[k]) if known else 0
            if known:
                basis[i] = int(estimate.cost_nanos[k])
            findings.append(Finding("unpriced_model", delta, int(ids[i]), days[i], detail={
                "model": models[i], "stored_nanos": int(stored[i]), "stored_rates_version": versions[i],
                "reason": str(reasons[i] or "the daemon stamped it unpriced"),
                "estimate_nanos": int(estimate.cost_nanos[k]) if known else None,
                "estimated_at": "the latest rates" if known else None}))
    return basis


def _credit_findings(period: dt.date, bill: Bill) -> list[Finding]:
    out = []
    for day in _month_days(period, bill):
        if day.credits_nanos == 0:
            continue
        lines = [line for line in day.lines if line.amount_nanos < 0]
        for line in lines:
            out.append(Finding("promo_credit", -line.amount_nanos, day=day.day,
                               detail={"description": line.description, "credit_nanos": line.amount_nanos,
                                       "origin": bill.origin}))
        unlisted = day.credits_nanos - sum(line.amount_nanos for line in lines)
        if unlisted:
            out.append(Finding("promo_credit", -unlisted, day=day.day,
                               detail={"description": "credits", "credit_nanos": unlisted, "origin": bill.origin}))
    return out


def _unlogged_findings(period: dt.date, bill: Bill, logged_days: set[dt.date]) -> list[Finding]:
    out = []
    for day in _month_days(period, bill):
        if day.charges_nanos > 0 and day.day not in logged_days:
            top = sorted((line for line in day.lines if line.amount_nanos > 0), key=lambda x: -x.amount_nanos)[:5]
            out.append(Finding("unlogged_spend", -day.charges_nanos, day=day.day, detail={
                "charged_nanos": day.charges_nanos, "origin": bill.origin,
                "lines": [{"description": line.description, "amount_nanos": line.amount_nanos} for line in top],
                "note": "billed on a day the daemon logged no traffic: a key or machine it does not watch"}))
    return out


def _unattributed_findings(requests: pd.DataFrame, basis: Ints, rest: int) -> list[Finding]:
    tiers = [None if pd.isna(tier) else str(tier) for tier in requests["attribution_tier"].tolist()]
    # no project at all first, then rows only the workspace's fallback rule put somewhere
    unclaimed = requests["project_id"].isna().to_numpy() | np.array([t in WEAK_TIERS for t in tiers], dtype=bool)
    if not unclaimed.any():
        return []
    ids = requests["id"].to_numpy(np.int64)
    groups: dict[str | None, list[int]] = {}
    for i in np.flatnonzero(unclaimed):
        groups.setdefault(tiers[i], []).append(int(i))
    out = []
    left = max(rest, 0)
    for tier in sorted(groups, key=lambda t: (t is not None, t or "")):  # None (no project) first
        rows = groups[tier]
        cost = int(basis[rows].sum())
        taken = min(left, max(cost, 0))
        detail: dict[str, Any] = {
            "requests": len(rows), "cost_nanos": cost,
            "request_ids": [int(ids[i]) for i in rows[:REQUEST_IDS_IN_DETAIL]],
            # not measured like the causes before it: what they leave, capped at these rows' cost
            "measured": False, "left_before_nanos": left, "cap_nanos": max(cost, 0),
            "note": _unattributed_note(taken, left, cost)}
        left -= taken
        out.append(Finding("unattributed", taken, attribution_tier=tier, detail=detail))
    return out


def _unattributed_note(taken: int, left: int, cost: int) -> str:
    if not taken:
        return ("not measured: the measured causes leave nothing of logged > billed, so none of the variance "
                "is put on these rows, which no project claims")
    capped = "capped at these rows' cost" if taken < left else "all of it (these rows cost at least that)"
    return ("not measured: the variance left after the measured causes (stale rates, unpriced models, credits, "
            f"unlogged days), {capped}; the likeliest reason is a key billed to another account")


def _logged_days(requests: pd.DataFrame) -> set[dt.date]:
    if requests.empty:
        return set()
    return set(pd.to_datetime(requests["started_at"], utc=True).dt.date.unique())


def _month_days(period: dt.date, bill: Bill) -> list[Any]:
    end = next_month(period)
    return [day for day in bill.days if period <= day.day < end]
