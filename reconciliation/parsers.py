"""Parsers of the providers' billing answers into daily buckets (pure; the clients fetch the pages).

Units differ and are easy to get wrong: OpenAI's Costs API answers dollars as a JSON number
(`amount.value`, read as a Decimal, never a float), Anthropic's cost report answers cents as a decimal
string (`"123.78912"` is $1.2378912). Unknown fields are ignored and optional ones may be missing
(see shared/reference/providers/). A negative amount is a credit.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from core.money import NANOS_PER_DOLLAR
from reconciliation.model import DayBill, LineItem

MAX_AMOUNT = Decimal(10) ** 15  # in the answer's own unit; beyond this it is not a bill


class BillingFormatError(ValueError):
    """A provider answer or an export file that does not have the documented shape."""


@dataclass(frozen=True)
class Page:
    lines: tuple[tuple[dt.date, LineItem], ...]  # (UTC day, line) for each result of each bucket
    days: tuple[dt.date, ...]  # every bucket's day, empty ones included (an empty month still counts)
    next_page: str | None


def loads(text: str | bytes) -> Any:
    """JSON with every number that has a fraction as a Decimal: a float would change money."""
    try:
        return json.loads(text, parse_float=Decimal)
    except ValueError as error:
        raise BillingFormatError(f"the answer is not JSON: {error}") from None


def parse_openai_costs(doc: Any) -> Page:
    """One page of GET /v1/organization/costs (bucket start_time in Unix seconds, amounts in dollars)."""
    buckets = _list(_field(doc, "data"), "data")
    lines, days = [], []
    for bucket in buckets:
        day = _unix_day(_field(bucket, "start_time"))
        days.append(day)
        for result in _list(_field(bucket, "results"), "results"):
            amount = _mapping(result.get("amount") or {}, "amount")
            currency = str(amount.get("currency") or "usd").lower()
            if currency != "usd":
                raise BillingFormatError(f"a cost in {currency!r}, not usd")
            value = _decimal(amount.get("value", 0), "amount.value")
            label = result.get("line_item") or result.get("project_id") or "costs"
            lines.append((day, LineItem(str(label), to_nanos(value))))
    return Page(tuple(lines), tuple(days), _next(doc))


def parse_anthropic_costs(doc: Any) -> Page:
    """One page of GET /v1/organizations/cost_report (RFC 3339 buckets, amounts in cents as strings)."""
    buckets = _list(_field(doc, "data"), "data")
    lines, days = [], []
    for bucket in buckets:
        day = _rfc3339_day(_field(bucket, "starting_at"))
        days.append(day)
        for result in _list(_field(bucket, "results"), "results"):
            currency = str(result.get("currency") or "USD").upper()
            if currency != "USD":
                raise BillingFormatError(f"a cost in {currency!r}, not USD")
            cents = _decimal(_field(result, "amount"), "amount")
            label = result.get("description") or result.get("cost_type") or "costs"
            lines.append((day, LineItem(str(label), to_nanos(cents / 100))))
    return Page(tuple(lines), tuple(days), _next(doc))


def to_nanos(dollars: Decimal) -> int:
    """Dollars to integer nanos, half-up (Anthropic's fractional cents can be finer than a nano)."""
    return int((dollars * NANOS_PER_DOLLAR).to_integral_value(ROUND_HALF_UP))


def day_bills(lines: Iterable[tuple[dt.date, LineItem]], days: Iterable[dt.date] = ()) -> list[DayBill]:
    """Group lines into one DayBill per day: same description summed, credits (< 0) apart from charges."""
    amounts: dict[dt.date, dict[str, int]] = defaultdict(dict)
    for day in days:
        amounts.setdefault(day, {})
    for day, line in lines:
        key = line.description if line.amount_nanos >= 0 else f"credit: {line.description}"
        amounts[day][key] = amounts[day].get(key, 0) + line.amount_nanos
    out = []
    for day in sorted(amounts):
        items = tuple(LineItem(description.removeprefix("credit: ") if nanos < 0 else description, nanos)
                      for description, nanos in sorted(amounts[day].items()) if nanos)
        out.append(DayBill(day, sum(i.amount_nanos for i in items if i.amount_nanos > 0),
                           sum(i.amount_nanos for i in items if i.amount_nanos < 0), items))
    return out


def _next(doc: Mapping[str, Any]) -> str | None:
    if not doc.get("has_more"):
        return None
    cursor = doc.get("next_page")
    if not cursor:
        raise BillingFormatError("has_more is true but next_page is empty")
    return str(cursor)


def _field(value: Any, name: str) -> Any:
    if not isinstance(value, Mapping) or name not in value:
        raise BillingFormatError(f"expected a field {name!r}")
    return value[name]


def _list(value: Any, name: str) -> list[Mapping[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise BillingFormatError(f"expected {name!r} to be a list of objects")
    return value


def _mapping(value: Any, name: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise BillingFormatError(f"expected {name!r} to be an object")
    return value


def _decimal(value: Any, name: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, str, Decimal)):
        raise BillingFormatError(f"{name} is not a number: {value!r}")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise BillingFormatError(f"{name} is not a number: {value!r}") from None
    if not number.is_finite():
        raise BillingFormatError(f"{name} is not a finite number: {value!r}")
    if abs(number) > MAX_AMOUNT:
        raise BillingFormatError(f"{name} {value!r} is larger than any bill")
    return number


def _unix_day(value: Any) -> dt.date:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BillingFormatError(f"start_time {value!r} is not Unix seconds")
    try:
        return dt.datetime.fromtimestamp(value, dt.UTC).date()
    except (OverflowError, OSError, ValueError):
        raise BillingFormatError(f"start_time {value!r} is not a time") from None


def _rfc3339_day(value: Any) -> dt.date:
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise BillingFormatError(f"starting_at {value!r} is not an RFC 3339 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).date()
