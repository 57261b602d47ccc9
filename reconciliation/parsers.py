"""Parsers of the providers' billing answers into daily buckets (pure; the clients fetch the pages).

Units differ and are easy to get wrong: OpenAI's Costs API answers dollars as a JSON number
(`amount.value`, read as a Decimal, never a float), Anthropic's cost report answers cents as a decimal
string (`"123.78912"` is $1.2378912). Unknown fields are ignored and optional ones may be missing
(as OpenAI's Costs API and Anthropic's Admin API references document them). A negative amount is a credit.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, cast

from core.money import NANOS_PER_DOLLAR
from reconciliation.limits import BillingLimits
from reconciliation.model import DayBill, LineItem

MAX_AMOUNT = Decimal(10) ** 15  # in the answer's own unit; beyond this it is not a bill
DEFAULT_LIMITS = BillingLimits()


class BillingFormatError(ValueError):
    """A provider answer or an export file that does not have the documented shape."""

    # its messages say what was wrong with the answer or file, in words (limits as quantities): stored as is
    for_customers = True


class LimitExceeded(BillingFormatError):
    """An answer or an export beyond a bound of reconciliation.limits; the message names the bound."""

    def __init__(self, message: str, limit: str) -> None:
        super().__init__(message)
        self.limit = limit  # the BillingLimits field (HALTON_BILLING_<LIMIT> in the settings)


@dataclass(frozen=True)
class Page:
    lines: tuple[tuple[dt.date, LineItem], ...]  # (UTC day, line) for each result of each bucket
    days: tuple[dt.date, ...]  # every bucket's day, empty ones included (an empty month still counts)
    next_page: str | None


def loads(text: str | bytes, limits: BillingLimits = DEFAULT_LIMITS, what: str = "the answer") -> Any:
    """JSON with every number that has a fraction as a Decimal (a float would change money), no deeper
    than limits.max_json_depth and with no string longer than limits.max_field_chars."""
    try:
        doc = json.loads(text, parse_float=Decimal, parse_constant=_not_json)
    except RecursionError:  # json's C scanner stops at the interpreter's recursion limit, safely
        raise LimitExceeded(f"{what} nests deeper than {limits.max_json_depth} levels", "max_json_depth") from None
    except BillingFormatError as error:
        raise BillingFormatError(f"{what} is not JSON ({error})") from None
    except ValueError as error:  # not JSON, not UTF-8, or an integer of more than 4,300 digits
        raise BillingFormatError(f"{what} is not JSON: {error}") from None
    check_bounds(doc, limits, what)
    return doc


def _not_json(constant: str) -> Any:
    """NaN and Infinity: Python's json reads them (as floats); JSON has no such numbers."""
    raise BillingFormatError(f"{constant} is not a number JSON knows")


def check_bounds(doc: Any, limits: BillingLimits, what: str = "the answer") -> None:
    """Refuse a parsed JSON document nested deeper or holding a longer string than the limits allow
    (iterative: a deep document cannot exhaust the stack here)."""
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if len(value) > limits.max_field_chars:
                raise LimitExceeded(f"{what} holds a text of {len(value):,} characters, longer than the limit of "
                                    f"{limits.max_field_chars:,}", "max_field_chars")
            continue
        if not isinstance(value, (dict, list)):
            continue
        if depth > limits.max_json_depth:
            raise LimitExceeded(f"{what} nests deeper than {limits.max_json_depth} levels", "max_json_depth")
        if isinstance(value, dict):
            stack.extend((key, depth) for key in value)
            stack.extend((item, depth + 1) for item in value.values())
        else:
            stack.extend((item, depth + 1) for item in value)


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
                raise BillingFormatError(f"a cost in {_short(currency)}, not usd")
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
                raise BillingFormatError(f"a cost in {_short(currency)}, not USD")
            cents = _decimal(_field(result, "amount"), "amount")
            label = result.get("description") or result.get("cost_type") or "costs"
            lines.append((day, LineItem(str(label), to_nanos(cents / 100))))
    return Page(tuple(lines), tuple(days), _next(doc))


def to_nanos(dollars: Decimal) -> int:
    """Dollars to integer nanos, half-up (Anthropic's fractional cents can be finer than a nano)."""
    return int((dollars * NANOS_PER_DOLLAR).to_integral_value(ROUND_HALF_UP))


def day_bills(lines: Iterable[tuple[dt.date, LineItem]], days: Iterable[dt.date] = ()) -> list[DayBill]:
    """Group lines into one DayBill per day: same description summed, credits (< 0) apart from charges."""
    totals = DayTotals(days)
    for day, line in lines:
        totals.add(day, line.description, line.amount_nanos)
    return totals.bills()


class DayTotals:
    """day_bills, line by line: what an export's reader sums its rows into (it keeps no row)."""

    def __init__(self, days: Iterable[dt.date] = ()) -> None:
        self._amounts: dict[dt.date, dict[str, int]] = {day: {} for day in days}

    def add(self, day: dt.date, description: str, nanos: int) -> None:
        per_day = self._amounts.get(day)
        if per_day is None:
            per_day = self._amounts[day] = {}
        key = description if nanos >= 0 else f"credit: {description}"
        per_day[key] = per_day.get(key, 0) + nanos

    def bills(self) -> list[DayBill]:
        out = []
        for day in sorted(self._amounts):
            items = tuple(LineItem(description.removeprefix("credit: ") if nanos < 0 else description, nanos)
                          for description, nanos in sorted(self._amounts[day].items()) if nanos)
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
    return amount_decimal(value, name, MAX_AMOUNT, kinds=(int, str, Decimal))


def amount_decimal(value: Any, name: str, largest: Decimal, kinds: tuple[type, ...] = (str,)) -> Decimal:
    """A finite Decimal no larger than `largest`, or BillingFormatError: never decimal.Overflow, whatever
    the exponent ('1e999999999'), never a float."""
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise BillingFormatError(f"{name} is not a number: {_short(value)}")
    try:
        number = Decimal(cast(Decimal | int | str, value))
    except (InvalidOperation, ValueError):
        raise BillingFormatError(f"{name} is not a number: {_short(value)}") from None
    if not number.is_finite():
        raise BillingFormatError(f"{name} is not a finite number: {_short(value)}")
    if not number:
        return number
    # adjusted() reads the exponent without arithmetic: abs() of 1e999999999 would raise decimal.Overflow
    if number.adjusted() < -30:  # far below a nano-dollar: zero, and no arithmetic on 1e-999999999 either
        return Decimal(0)
    if number.adjusted() > largest.adjusted() or abs(number) > largest:
        raise BillingFormatError(f"{name} {_short(value)} is larger than any bill")
    return number


def _short(value: Any, most: int = 60) -> str:
    """A value as a message shows it: its repr, cut (an answer's field may be 16,000 characters)."""
    shown = repr(value) if not isinstance(value, (dict, list)) else type(value).__name__
    return shown if len(shown) <= most else f"{shown[:most - 1]}…"


def _unix_day(value: Any) -> dt.date:
    if isinstance(value, bool) or not isinstance(value, int):
        raise BillingFormatError(f"start_time {_short(value)} is not Unix seconds")
    try:
        return dt.datetime.fromtimestamp(value, dt.UTC).date()
    except (OverflowError, OSError, ValueError):
        raise BillingFormatError(f"start_time {_short(value)} is not a time") from None


def _rfc3339_day(value: Any) -> dt.date:
    if not isinstance(value, str):
        raise BillingFormatError(f"starting_at {_short(value)} is not an RFC 3339 time")
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return moment.astimezone(dt.UTC).date()
    except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 moved across midnight UTC
        raise BillingFormatError(f"starting_at {_short(value)} is not an RFC 3339 time") from None
