"""The FOCUS cost-and-usage rows of LLM spend, from the daily rollup (analysis.daily_spend) and the price table.

Grain: one row per UTC day, provider, model, project (SubAccount), device, service tier and token kind (input,
cache read, cache write, output): a rollup row becomes one row per token kind it used. A rollup row that used
no token (failed requests) still gets its input row, so every request is counted (`x_RequestCount`, which sits
on the first row of each rollup row and is 0 on the others: the column sums to the requests).

Amounts are exact. The rollup stores a row's logged cost (the daemon's `cost_nanos`, summed), not its split
by token kind, so the cost is allocated over the kinds in proportion to their list cost that day (tokens ×
the list rate of the model and tier in force; by tokens when the table does not price the model, all on input
when no token was used), by the largest-remainder rule in whole nanos: the kinds' BilledCost add up to the
rollup row's cost exactly, so a day's BilledCost is the rollup's cost for that day to the nano.
ListCost is tokens × the list rate in force that day (ListUnitPrice × PricingQuantity, exactly: rates are
integer pico-USD per token, so every amount is a decimal with at most 12 places); a daemon that priced with
stale rates shows as ListCost ≠ BilledCost. Long-context requests are billed at higher rates the rollup cannot
tell apart: their ListCost is at the base rates. ContractedCost and EffectiveCost equal BilledCost
(pay-as-you-go, no negotiated or commitment discount known).

A reconciled month (the provider's bill read, analysis.reconciliation 'ok') gets one Adjustment row per
provider: BilledCost = billed − the month's exported usage, with the reconciliation's causes in its
description, so the provider's month sums to what the provider billed.

Everything is columnar (numpy and pyarrow): a month of a 1M-request workspace is a few hundred thousand rows.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from core.money import money
from exports.allocation import allocate as allocate  # re-exported: the allocation is part of this module's rules
from exports.allocation import largest_magnitude
from exports.columns import (
    AMOUNT,
    FOCUS_SCHEMA,
    amount_array,
    codes_of,
    groups_of,
    months_end,
    repeated,
    seconds_array,
    with_nulls,
)
from pricing.table import RateTable

KINDS = ("input", "cache_read", "cache_write", "output")
TOKEN_COLUMNS = tuple(f"{kind}_tokens" for kind in KINDS)
METERS = {"input": "Input Tokens", "cache_read": "Cached Input Tokens", "cache_write": "Cache Write Tokens",
          "output": "Output Tokens"}
SKU_KIND = {"input": "input", "cache_read": "cache-read", "cache_write": "cache-write", "output": "output"}
DIRECTION = {"input": "Input", "cache_read": "Input", "cache_write": "Input", "output": "Output"}
CACHE_ACTION = {"input": "None", "cache_read": "Read", "cache_write": "Write", "output": "None"}
# who sells, hosts and invoices each provider's API (direct purchase: all the same), and its offering's name
PROVIDERS = {"anthropic": ("Anthropic", "Claude API"), "openai": ("OpenAI", "OpenAI API"),
             "gemini": ("Google", "Gemini API"), "xai": ("xAI", "xAI API")}
SERVICE_CATEGORY, SERVICE_SUBCATEGORY = "AI and Machine Learning", "Generative AI"
PRICING_UNIT, CONSUMED_UNIT = "1000000 Tokens", "Tokens"
COST_SOURCE_LOGGED, COST_SOURCE_RECONCILED = "logged", "reconciliation"
PICO_PER_NANO = 1000

#: the rollup columns the usage rows are built from
ROLLUP_COLUMNS = ("day", "project_id", "device_id", "provider", "model", "service_tier", "requests",
                  *TOKEN_COLUMNS, "cost_nanos")


@dataclass(frozen=True)
class Workspace:
    """Names the rows carry: the workspace (the billing account at each provider), its projects (sub-accounts,
    with their cost centres) and its devices."""

    slug: str
    name: str
    projects: Mapping[int, tuple[str, str, str | None]]  # id -> (slug, name, cost centre name)
    devices: Mapping[int, str]  # id -> name


@dataclass(frozen=True)
class MonthReconciliation:
    """A provider's reconciled month: what it billed, and the reconciliation's causes (cause, findings, delta)."""

    provider: str
    period: date
    billed_nanos: int
    logged_nanos: int
    causes: Sequence[tuple[str, int, int]]


def provider_names(provider: str) -> tuple[str, str]:
    """(the entity's display name, the offering's name); an unknown provider is named as it is stored."""
    return PROVIDERS.get(provider, (provider, f"{provider} API"))


def _rates(table: RateTable, days: Sequence[date], models: Sequence[str], tiers: Sequence[str]
           ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_], list[str]]:
    """For each (day, model, tier) given the list rates in pico-USD per token of the four kinds in force on the
    day (0 where not priced), whether the table prices it, and the canonical model id (the reported one when
    unknown)."""
    n = len(models)
    rates = np.zeros((n, 4), dtype=np.int64)
    priced = np.zeros(n, dtype=bool)
    canonical: list[str] = []
    for i in range(n):
        info = table.model_info(models[i], days[i])
        tier_rates = None if info is None else info.rates.get(tiers[i])
        if tier_rates is not None:
            rates[i] = (tier_rates.input, tier_rates.cache_read, tier_rates.cache_write, tier_rates.output)
            priced[i] = True
        canonical.append(models[i] if info is None else info.model)
    return rates, priced, canonical


# -- the usage rows ------------------------------------------------------------------------------------------

def usage_rows(rollup: pa.Table, table: RateTable, workspace: Workspace) -> pa.Table:
    """The FOCUS usage rows of the rollup rows given (any days), in a stable order: by day, provider, model,
    service tier, project (none last) and device, as `Table.sort_by` orders them, then token kind.

    Columnar throughout: every text column is built once per distinct value of what it depends on (the
    provider; the project; the project and device; the provider, canonical model and tier, per token kind)
    and taken per row; the rates are looked up once per distinct (price version, model, tier)."""
    if rollup.num_rows == 0:
        return FOCUS_SCHEMA.empty_table()
    provider_codes, provider_values = codes_of(rollup["provider"])
    model_codes, model_values = codes_of(rollup["model"])
    tier_codes, tier_values = codes_of(rollup["service_tier"])
    day_codes = _integers(rollup["day"].cast(pa.int32()))  # days since 1970-01-01
    no_project = _integers(rollup["project_id"].is_null()).astype(bool)
    project_ids = _integers(rollup["project_id"].fill_null(-1))
    devices = _integers(rollup["device_id"])
    # the order of sort_by (stable; strings by their bytes, a null project last), on integer keys: the rows
    # are put in order once, as numpy arrays, instead of taking every column of the table
    order = np.lexsort((devices, project_ids, no_project, _ranks(tier_codes, tier_values),
                        _ranks(model_codes, model_values), _ranks(provider_codes, provider_values), day_codes))
    provider_codes, model_codes, tier_codes = provider_codes[order], model_codes[order], tier_codes[order]
    day_codes, project_ids, devices = day_codes[order], project_ids[order], devices[order]
    tokens = np.column_stack([_integers(rollup[c])[order] for c in TOKEN_COLUMNS])
    cost = _integers(rollup["cost_nanos"])[order]
    requests = _integers(rollup["requests"])[order]

    # the rates of each distinct (price version, model, tier): a day's rates depend on it only through the
    # version in force, so a month of days costs a lookup per model and tier, not per day
    day_values, day_index = np.unique(day_codes, return_inverse=True)
    day_index = day_index.reshape(-1)
    dates: list[date] = day_values.astype("datetime64[D]").tolist()
    version_codes = np.array([table.compiled.version_index(d) for d in dates], dtype=np.int64)[day_index]
    rate_group, rate_first = groups_of(version_codes, model_codes, tier_codes)
    group_rates, group_priced, group_canonical = _rates(
        table, [dates[i] for i in day_index[rate_first]], [model_values[i] for i in model_codes[rate_first]],
        [tier_values[i] for i in tier_codes[rate_first]])
    rates, priced = group_rates[rate_group], group_priced[rate_group]
    canonical_codes, canonical_values = codes_of(pa.array(group_canonical, pa.string()))
    row_canonical = canonical_codes[rate_group]

    # exact: int64 when no product or row sum can overflow it (always, for real token counts), else Python ints
    small = len(tokens) == 0 or largest_magnitude(tokens) * largest_magnitude(rates) < 2**63 // len(KINDS)
    exact: Any = np.int64 if small else object
    list_picos = tokens.astype(exact) * rates.astype(exact)
    weights = list_picos.copy()
    by_tokens = weights.sum(axis=1) <= 0
    weights[by_tokens] = tokens[by_tokens].astype(exact)
    nothing = weights.sum(axis=1) <= 0
    weights[nothing] = np.array([1, 0, 0, 0], dtype=exact)
    billed = allocate(cost, weights)

    emitted = (tokens > 0) | (billed != 0)
    emitted[:, 0] |= ~emitted.any(axis=1)
    row, kind = np.nonzero(emitted)  # row-major: each rollup row's kinds in order
    n = len(row)
    first = np.ones(n, dtype=bool)  # the first kind of its rollup row
    first[1:] = row[1:] != row[:-1]

    # text: per distinct key, then taken per row
    sku_group, sku_first = groups_of(provider_codes, row_canonical, tier_codes)
    sku_values = [_sku_strings(table, provider_values[provider_codes[i]], canonical_values[row_canonical[i]],
                               tier_values[tier_codes[i]], k) for i in sku_first.tolist() for k in KINDS]
    sku_index = sku_group[row] * len(KINDS) + kind
    accounts = [_account_strings(workspace, p) for p in provider_values]
    account_index = provider_codes[row]
    project_group, project_first = groups_of(project_ids)
    projects = [_project_strings(workspace, None if project_ids[i] < 0 else int(project_ids[i]))
                for i in project_first.tolist()]
    project_index = project_group[row]
    tag_group, tag_first = groups_of(project_ids, devices)
    tags = [_tags(workspace, None if project_ids[i] < 0 else int(project_ids[i]), int(devices[i]))
            for i in tag_first.tolist()]

    def sku_col(i: int) -> pa.Array:
        return _taken([v[i] for v in sku_values], sku_index)

    def account_col(i: int) -> pa.Array:
        return _taken([v[i] for v in accounts], account_index)

    def project_col(i: int) -> pa.Array:
        return _taken([v[i] for v in projects], project_index)

    def const(value: str) -> pa.Array:
        return repeated(value, n)

    # timestamps: whole seconds, the month's bounds computed per distinct day
    row_days = day_index[row]
    starts = day_codes[row] * 86_400
    day_months = day_values.astype("datetime64[D]").astype("datetime64[M]").astype("datetime64[s]")
    month_starts = day_months.astype(np.int64)[row_days]
    month_ends = months_end(day_months).astype(np.int64)[row_days]

    row_tokens = tokens[row, kind]
    row_priced = priced[row]
    billed_picos = billed[row, kind].astype(np.int64) * PICO_PER_NANO
    billed_arr = amount_array(billed_picos, 12)
    entity = account_col(2)  # the provider's name fills five columns: taken once
    columns: dict[str, pa.Array] = {
        "BilledCost": billed_arr,
        "BillingAccountId": account_col(0),
        "BillingAccountName": account_col(1),
        "BillingCurrency": const("USD"),
        "BillingPeriodEnd": seconds_array(month_ends),
        "BillingPeriodStart": seconds_array(month_starts),
        "ChargeCategory": const("Usage"),
        "ChargeClass": pa.nulls(n, pa.string()),
        "ChargeDescription": sku_col(5),
        "ChargeFrequency": const("Usage-Based"),
        "ChargePeriodEnd": seconds_array(starts + 86_400),
        "ChargePeriodStart": seconds_array(starts),
        "ConsumedQuantity": amount_array(row_tokens, 0),
        "ConsumedUnit": const(CONSUMED_UNIT),
        "ContractedCost": billed_arr,
        "EffectiveCost": billed_arr,
        "HostProviderName": entity,
        "InvoiceIssuerName": entity,
        # list cost where priced, else the billed cost
        "ListCost": amount_array(np.where(row_priced, list_picos[row, kind], billed_picos), 12),
        # pico-USD per token = micro-USD per million tokens; null where not priced
        "ListUnitPrice": with_nulls(amount_array(rates[row, kind], 6), row_priced),
        "PricingCategory": const("Standard"),
        "PricingQuantity": amount_array(row_tokens, 6),
        "PricingUnit": const(PRICING_UNIT),
        "ProviderName": entity,
        "PublisherName": entity,
        "ServiceCategory": const(SERVICE_CATEGORY),
        "ServiceName": account_col(3),
        "ServiceProviderName": entity,
        "ServiceSubcategory": const(SERVICE_SUBCATEGORY),
        "SkuId": sku_col(0),
        "SkuMeter": sku_col(1),
        "SkuPriceDetails": sku_col(2),
        "SkuPriceId": sku_col(3),
        "SubAccountId": project_col(0),
        "SubAccountName": project_col(1),
        "Tags": _taken(tags, tag_group[row]),
        "x_CostSource": const(COST_SOURCE_LOGGED),
        "x_DeviceId": pa.array(devices[row]),
        "x_ModelId": _taken(canonical_values, row_canonical[row]),
        "x_RequestCount": pa.array(np.where(first, requests[row], 0).astype(np.int64)),
        "x_ServiceTier": sku_col(4),
    }
    return pa.Table.from_arrays([columns[f.name] for f in FOCUS_SCHEMA], schema=FOCUS_SCHEMA)


def _integers(column: pa.Array | pa.ChunkedArray) -> npt.NDArray[np.int64]:
    """A column without nulls as int64."""
    return np.asarray(column.to_numpy(zero_copy_only=False)).astype(np.int64)


def _ranks(codes: npt.NDArray[np.int64], values: Sequence[str]) -> npt.NDArray[np.int64]:
    """Per row the rank of its string among the distinct values, by their UTF-8 bytes (Arrow's sort order)."""
    rank = np.empty(len(values), dtype=np.int64)
    rank[np.asarray(pc.sort_indices(pa.array(values, pa.string())))] = np.arange(len(values))
    return rank[codes]


def _taken(values: Sequence[str | None], index: npt.NDArray[np.int64]) -> pa.Array:
    """A string column of `values[index]`: the distinct strings built once, then taken."""
    return pa.array(values, pa.string()).take(pa.array(index.astype(np.int32)))


def _sku_strings(table: RateTable, provider: str, canonical: str, tier: str,
                 kind: str) -> tuple[str, str, str, str, str, str]:
    """SkuId, SkuMeter, SkuPriceDetails, SkuPriceId, the service tier and the charge's description."""
    sku_id = f"{provider}:{canonical}:{SKU_KIND[kind]}"
    info = table.model_info(canonical)
    details: dict[str, Any] = {"x_CacheAction": CACHE_ACTION[kind], "x_ModelId": canonical,
                               "x_ServiceTier": tier, "x_TokenDirection": DIRECTION[kind]}
    if info is not None and info.family:
        details["x_ModelFamily"] = info.family
    description = f"{canonical} {METERS[kind].lower()}" + ("" if tier == "standard" else f" ({tier} tier)")
    return (sku_id, METERS[kind], json.dumps(details, sort_keys=True, separators=(",", ":")),
            f"{sku_id}:{tier}", tier, description)


def _account_strings(workspace: Workspace, provider: str) -> tuple[str, str, str, str]:
    """BillingAccountId, BillingAccountName, the provider's name, ServiceName."""
    entity, service = provider_names(provider)
    return f"halton:{workspace.slug}:{provider}", f"{workspace.name} at {entity}", entity, service


def _project_strings(workspace: Workspace, project_id: int | None) -> tuple[str | None, str | None]:
    """SubAccountId, SubAccountName (null without a known project)."""
    project = None if project_id is None else workspace.projects.get(project_id)
    return (None, None) if project is None else (project[0], project[1])


def _tags(workspace: Workspace, project_id: int | None, device_id: int | None) -> str | None:
    """Tags: the cost centre and the device (null when neither is known)."""
    tags: dict[str, str] = {}
    project = None if project_id is None else workspace.projects.get(project_id)
    if project is not None and project[2]:
        tags["cost_center"] = project[2]
    if device_id is not None and device_id in workspace.devices:
        tags["device"] = workspace.devices[device_id]
    return json.dumps(tags, sort_keys=True, separators=(",", ":")) if tags else None


# -- the adjustment rows -------------------------------------------------------------------------------------

def adjustment_rows(months: Sequence[MonthReconciliation], usage_nanos: Mapping[tuple[str, date], int],
                    workspace: Workspace) -> pa.Table:
    """One Adjustment row per reconciled provider month whose exported usage (`usage_nanos`, the sum of its
    usage rows' BilledCost) differs from the bill: the difference, so the month sums to the bill."""
    rows: list[dict[str, Any]] = []
    for month in sorted(months, key=lambda m: (m.period, m.provider)):
        usage = usage_nanos.get((month.provider, month.period), 0)
        amount = month.billed_nanos - usage
        if amount == 0:
            continue
        entity, service = provider_names(month.provider)
        start = datetime(month.period.year, month.period.month, 1, tzinfo=UTC)
        end = (start + timedelta(days=32)).replace(day=1)
        rows.append({
            "amount": amount, "start": start, "end": end, "entity": entity, "service": service,
            "account": f"halton:{workspace.slug}:{month.provider}", "account_name": f"{workspace.name} at {entity}",
            "description": adjustment_description(month, entity, usage),
        })
    n = len(rows)
    if n == 0:
        return FOCUS_SCHEMA.empty_table()
    amounts = amount_array(np.array([r["amount"] * PICO_PER_NANO for r in rows], dtype=np.int64), 12)

    def text(key: str) -> pa.Array:
        return pa.array([r[key] for r in rows], pa.string())

    def const(value: str) -> pa.Array:
        return pa.array([value] * n, pa.string())

    def nulls(kind: pa.DataType) -> pa.Array:
        return pa.nulls(n, kind)

    starts = pa.array([r["start"] for r in rows], pa.timestamp("s", tz="UTC"))
    ends = pa.array([r["end"] for r in rows], pa.timestamp("s", tz="UTC"))
    columns: dict[str, pa.Array] = {
        "BilledCost": amounts, "BillingAccountId": text("account"), "BillingAccountName": text("account_name"),
        "BillingCurrency": const("USD"), "BillingPeriodEnd": ends, "BillingPeriodStart": starts,
        "ChargeCategory": const("Adjustment"), "ChargeClass": nulls(pa.string()),
        "ChargeDescription": text("description"), "ChargeFrequency": const("One-Time"),
        "ChargePeriodEnd": ends, "ChargePeriodStart": starts,
        "ConsumedQuantity": nulls(AMOUNT), "ConsumedUnit": nulls(pa.string()),
        "ContractedCost": amounts, "EffectiveCost": amounts, "HostProviderName": text("entity"),
        "InvoiceIssuerName": text("entity"), "ListCost": amounts, "ListUnitPrice": nulls(AMOUNT),
        "PricingCategory": nulls(pa.string()), "PricingQuantity": nulls(AMOUNT), "PricingUnit": nulls(pa.string()),
        "ProviderName": text("entity"), "PublisherName": text("entity"), "ServiceCategory": const(SERVICE_CATEGORY),
        "ServiceName": text("service"), "ServiceProviderName": text("entity"),
        "ServiceSubcategory": const(SERVICE_SUBCATEGORY), "SkuId": nulls(pa.string()), "SkuMeter": nulls(pa.string()),
        "SkuPriceDetails": nulls(pa.string()), "SkuPriceId": nulls(pa.string()), "SubAccountId": nulls(pa.string()),
        "SubAccountName": nulls(pa.string()), "Tags": nulls(pa.string()),
        "x_CostSource": const(COST_SOURCE_RECONCILED), "x_DeviceId": nulls(pa.int64()),
        "x_ModelId": nulls(pa.string()), "x_RequestCount": pa.array([0] * n, pa.int64()),
        "x_ServiceTier": nulls(pa.string()),
    }
    return pa.Table.from_arrays([columns[f.name] for f in FOCUS_SCHEMA], schema=FOCUS_SCHEMA)


def adjustment_description(month: MonthReconciliation, entity: str, usage_nanos: int) -> str:
    """What the Adjustment row says: the bill, the logged usage and the reconciliation's causes, each amount
    to the cent as the rest of the product prints it (core.money.money; the row's BilledCost stays exact)."""
    causes = "; ".join(f"{cause} {money(-delta)} ({count} finding{'s' if count != 1 else ''})"
                       for cause, count, delta in month.causes) or "no cause found"
    return (f"Reconciliation with the {entity} bill for {month.period:%Y-%m}: billed {money(month.billed_nanos)}, "
            f"logged usage {money(usage_nanos)}; causes: {causes}")
