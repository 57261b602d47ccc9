"""The export reader as it was before issue 16 (the whole file in memory, every row kept until the end),
kept as the baseline of bench/bench_exports.py. Not used by the fleet."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from reconciliation.model import DayBill, LineItem
from reconciliation.parsers import BillingFormatError, day_bills, to_nanos

GEMINI_SERVICES = ("gemini", "generative language", "vertex ai")
MAX_EXPORT_BYTES = 50_000_000


def parse_export(provider: str, data: str | bytes) -> list[DayBill]:
    """The export's daily buckets; `data` as read from the file (bytes are decoded as UTF-8 here)."""
    text = decode_export(data) if isinstance(data, bytes) else data
    if len(text) > MAX_EXPORT_BYTES:
        raise BillingFormatError(f"the export is {len(text):,} characters; split it by month")
    if "\x00" in text:  # valid UTF-8 can still be a binary file (a spreadsheet, a zip): csv cannot read it
        raise BillingFormatError("the file is not a UTF-8 CSV (it holds NUL bytes: a binary file?); export the "
                                 "billing data as CSV")
    if provider == "gemini":
        return parse_gemini_billing_export(text)
    if provider == "xai":
        return parse_xai_usage_export(text)
    raise BillingFormatError(f"no export format for {provider}: import exports for gemini or xai")


def decode_export(data: bytes) -> str:
    """UTF-8 (a byte-order mark is dropped), or a message saying the file is not a UTF-8 CSV."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise BillingFormatError(f"the file is not a UTF-8 CSV (byte 0x{data[error.start]:02x} at offset "
                                 f"{error.start:,} is not UTF-8: a binary file, or another encoding?); export "
                                 "the billing data as CSV in UTF-8") from None


def parse_gemini_billing_export(text: str) -> list[DayBill]:
    columns, rows = _rows(text)
    _require(columns, {"usage_start_time": ("usage_start_time",), "cost": ("cost",)})
    lines = []
    for number, row in rows:
        service = (row.get("service.description") or "").strip()
        if service and not any(name in service.lower() for name in GEMINI_SERVICES):
            continue
        currency = (row.get("currency") or "USD").strip().upper()
        if currency != "USD":
            raise BillingFormatError(f"line {number}: a cost in {currency}, not USD")
        day = _day(row["usage_start_time"], number)
        label = (row.get("sku.description") or service or "Gemini API").strip()
        lines.append((day, LineItem(label, to_nanos(_amount(row["cost"], number, "cost")))))
        for credit in _credits(row.get("credits"), number):
            lines.append((day, credit))
    return day_bills(lines)


XAI_DAY = ("date", "day", "usage_date", "timestamp", "time", "start_time")
XAI_AMOUNT = ("cost_usd", "cost", "amount_usd", "amount", "total_usd", "total")
XAI_LABEL = ("model", "description", "line_item", "item")


def parse_xai_usage_export(text: str) -> list[DayBill]:
    columns, rows = _rows(text)
    day_column, amount_column = _require(columns, {"a day": XAI_DAY, "an amount in USD": XAI_AMOUNT})
    label_column = next((c for c in XAI_LABEL if c in columns), None)
    lines = []
    for number, row in rows:
        day = _day(row[day_column], number)
        label = (row.get(label_column) or "xAI API").strip() if label_column else "xAI API"
        lines.append((day, LineItem(label, to_nanos(_amount(row[amount_column], number, amount_column)))))
    return day_bills(lines)


def _rows(text: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The header's column names (normalised) and every data row by line number."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    try:
        if reader.fieldnames is None:
            raise BillingFormatError("the export is empty: it has no header line")
        names = {raw: _norm(raw) for raw in reader.fieldnames if raw is not None}
        out = []
        for number, raw in enumerate(reader, start=2):
            out.append((number, {names[k]: (v if isinstance(v, str) else "") for k, v in raw.items() if k in names}))
    except csv.Error as error:
        raise BillingFormatError(f"line {reader.line_num}: the file is not a CSV the reader can split ({error})") \
            from None
    return list(names.values()), out


def _require(columns: list[str], needs: dict[str, tuple[str, ...]]) -> list[str]:
    """The first column found for each need, or one message naming every need no column meets."""
    found = [next((name for name in candidates if name in columns), None) for candidates in needs.values()]
    missing = [(what, candidates) for (what, candidates), name in zip(needs.items(), found, strict=True)
               if name is None]
    if missing:
        said = " nor ".join(what if candidates == (what,) else f"for {what} (looked for {', '.join(candidates)})"
                            for what, candidates in missing)
        raise BillingFormatError(f"the export has no column {said} (its columns: "
                                 f"{', '.join(columns[:12]) or 'none'}{', …' if len(columns) > 12 else ''})")
    return [name for name in found if name is not None]


def _norm(name: str) -> str:
    """'Cost (USD)' → 'cost_usd'; dots kept, so 'service.description' stays as the export writes it."""
    return re.sub(r"[^a-z0-9.]+", "_", name.strip().lower()).strip("_")


def _day(value: str, number: int) -> dt.date:
    text = (value or "").strip().replace("Z", "+00:00").replace(" UTC", "+00:00")
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise BillingFormatError(f"line {number}: {value!r} is not a date or time") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return moment.date()


def _amount(value: Any, number: int, column: str) -> Decimal:
    text = str(value if value is not None else "").strip().replace("$", "").replace(",", "")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise BillingFormatError(f"line {number}: {column} {value!r} is not an amount") from None
    if not amount.is_finite() or abs(amount) > Decimal(10) ** 12:
        raise BillingFormatError(f"line {number}: {column} {value!r} is not a usable amount")
    return amount


def _credits(value: str | None, number: int) -> list[LineItem]:
    if not value or not value.strip() or value.strip() == "[]":
        return []
    try:
        items = json.loads(value, parse_float=Decimal)
    except ValueError:
        raise BillingFormatError(f"line {number}: credits is not the export's JSON list") from None
    if not isinstance(items, list):
        raise BillingFormatError(f"line {number}: credits is not a list")
    out = []
    for item in items:
        if not isinstance(item, Mapping):
            raise BillingFormatError(f"line {number}: a credit is not an object")
        amount = _amount(item.get("amount"), number, "credits.amount")
        name = str(item.get("name") or item.get("full_name") or item.get("type") or "credit")
        out.append(LineItem(name, -abs(to_nanos(amount))))
    return out
