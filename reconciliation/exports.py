"""Billing export files, read into the same daily buckets as the APIs.

- Gemini: a Cloud Billing export (the BigQuery standard usage cost export, saved as CSV). Columns used:
  `usage_start_time`, `cost` (in `currency`), `service.description` and `sku.description` for the line,
  and `credits`, the export's repeated record as JSON (`[{"name": …, "amount": -1.5, "type": "PROMOTION"}]`).
  Rows of other Google Cloud services are skipped, since one billing account pays for all of them.
- xAI: the console's usage export as CSV. Its columns are matched loosely (case and punctuation
  ignored): a day (`date`/`day`/`timestamp`/`usage_date`), an amount in USD (`cost`/`cost_usd`/
  `amount`/`amount_usd`/`total`), and a line (`model`/`description`/`line_item`); a negative amount is a
  credit. xAI does not publish the export's schema, so the reader names every column it could not find.

Either reader names every required column a file lacks, at once, with the columns it has; a file that is
not UTF-8 text (a spreadsheet, a PDF) is refused as "not a UTF-8 CSV".

The file is streamed: read in chunks (a file object is never read whole), checked as it passes (UTF-8,
no NUL byte, at most limits.max_export_bytes), split into rows by Python's csv module and summed into
days row by row, so memory follows the days and their line items, not the file. Rows, fields and the
credits' JSON have their bounds (reconciliation/limits.py); every malformed value is a BillingFormatError
naming its line. Amounts are Decimals, never floats.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from reconciliation.limits import BillingLimits
from reconciliation.model import DayBill
from reconciliation.parsers import DEFAULT_LIMITS, BillingFormatError, DayTotals, LimitExceeded, loads, to_nanos

GEMINI_SERVICES = ("gemini", "generative language", "vertex ai")
_LARGEST = Decimal(10) ** 12  # dollars on one line of an export; beyond this it is not a bill
LINE_FIELDS = 64  # a physical line may hold this many fields at their longest before it is refused
CHUNK_BYTES = 1 << 16
DAY_CACHE = 4096  # distinct day texts remembered (an export repeats each hour's timestamp on many rows)

ExportSource = str | bytes | IO[bytes]


def parse_export(provider: str, data: ExportSource, limits: BillingLimits = DEFAULT_LIMITS) -> list[DayBill]:
    """The export's daily buckets. `data`: the file object (read in chunks), its bytes, or its text."""
    reader = READERS.get(provider)
    if reader is None:
        raise BillingFormatError(f"no export format for {provider}: import exports for gemini or xai")
    source = io.BytesIO(data.encode("utf-8", "surrogatepass")) if isinstance(data, str) else (
        io.BytesIO(data) if isinstance(data, bytes) else data)
    # closing these closes _CheckedBytes, never the caller's file
    with io.TextIOWrapper(io.BufferedReader(_CheckedBytes(source, limits), CHUNK_BYTES), encoding="utf-8-sig",
                          newline="") as text:
        return reader(_Table(text, limits))


class _CheckedBytes(io.RawIOBase):
    """The export's bytes as the csv reader pulls them: counted against the byte cap and checked to be
    UTF-8 text without NUL bytes, so a spreadsheet, a zip or an image is refused at its first bad byte."""

    def __init__(self, source: IO[bytes], limits: BillingLimits) -> None:
        super().__init__()
        self._source, self._limits = source, limits
        self._offset = 0
        self._utf8 = codecs.getincrementaldecoder("utf-8")()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._source.read(len(buffer))
        start = self._offset
        self._offset += len(data)
        if self._offset > self._limits.max_export_bytes:
            raise LimitExceeded(f"the export is larger than the limit of {self._limits.max_export_bytes:,} bytes; "
                                "split it by month", "max_export_bytes")
        self._check(data, start)
        buffer[:len(data)] = data
        return len(data)

    def _check(self, data: bytes, start: int) -> None:
        held = len(self._utf8.getstate()[0])  # the start of a character cut by the previous chunk
        try:
            text = self._utf8.decode(data, final=not data)
        except UnicodeDecodeError as error:
            raise BillingFormatError(
                f"the file is not a UTF-8 CSV (byte 0x{error.object[error.start]:02x} at offset "
                f"{start - held + error.start:,} is not UTF-8: a binary file, or another encoding?); export "
                "the billing data as CSV in UTF-8") from None
        if "\x00" in text:  # valid UTF-8 can still be a binary file (a spreadsheet, a zip): csv cannot read it
            raise BillingFormatError("the file is not a UTF-8 CSV (it holds NUL bytes: a binary file?); export the "
                                     "billing data as CSV")


class _Table:
    """The header's column names (normalised) and the data rows, read one at a time within the limits."""

    def __init__(self, text: IO[str], limits: BillingLimits) -> None:
        self.limits = limits
        self._line_chars = limits.max_field_chars * LINE_FIELDS
        self._reader = csv.reader(self._lines(text))
        header = self._next()
        if header is None:
            raise BillingFormatError("the export is empty: it has no header line")
        self._check_fields(header)
        self.names = list(dict.fromkeys(_norm(raw) for raw in dict.fromkeys(header)))
        self._index = {_norm(raw): position for position, raw in enumerate(header)}  # the last one of a name

    def column(self, name: str) -> Callable[[list[str]], str]:
        """A getter of one column's value in a row ('' when the row is shorter than the header)."""
        position = self._index.get(name)
        if position is None:
            return lambda row: ""
        return lambda row: row[position] if position < len(row) else ""

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """(line number, fields) of every data row; blank lines are skipped."""
        reader, longest, most = self._reader, self.limits.max_field_chars, self.limits.max_rows
        count = 0
        try:
            for row in reader:
                if not row:
                    continue
                count += 1
                if count > most:
                    raise LimitExceeded(f"the export has more than the limit of {most:,} rows; split it by month",
                                        "max_rows")
                if max(map(len, row)) > longest:
                    raise self._too_long(reader.line_num)
                yield reader.line_num, row
        except csv.Error as error:
            raise self._unsplittable(error) from None

    def _next(self) -> list[str] | None:
        try:
            return next(self._reader, None)
        except csv.Error as error:
            raise self._unsplittable(error) from None

    def _unsplittable(self, error: csv.Error) -> BillingFormatError:
        line = self._reader.line_num
        if str(error).startswith("field larger than field limit"):
            return self._too_long(line)
        return BillingFormatError(f"line {line}: the file is not a CSV the reader can split ({error})")

    def _check_fields(self, row: list[str]) -> None:
        if row and max(map(len, row)) > self.limits.max_field_chars:
            raise self._too_long(self._reader.line_num)

    def _too_long(self, line: int) -> LimitExceeded:
        return LimitExceeded(f"line {line}: a field is longer than the limit of {self.limits.max_field_chars:,} "
                             "characters", "max_field_chars")

    def _lines(self, text: IO[str]) -> Iterator[str]:
        """Physical lines, each read with a bound: a file without line breaks is not read whole."""
        number = 0
        while line := text.readline(self._line_chars + 1):
            number += 1
            if len(line) > self._line_chars:
                raise LimitExceeded(f"line {number} is longer than the limit of {self._line_chars:,} characters "
                                    f"({LINE_FIELDS} fields of {self.limits.max_field_chars:,})", "max_field_chars")
            yield line


def parse_gemini_billing_export(table: _Table) -> list[DayBill]:
    _require(table.names, {"usage_start_time": ("usage_start_time",), "cost": ("cost",)})
    service_of, currency_of, sku_of = (table.column(name) for name in ("service.description", "currency",
                                                                       "sku.description"))
    start_of, cost_of, credits_of = (table.column(name) for name in ("usage_start_time", "cost", "credits"))
    days, totals = _Days(), DayTotals()
    for number, row in table.rows():
        service = service_of(row).strip()
        if service and not any(name in service.lower() for name in GEMINI_SERVICES):
            continue
        currency = (currency_of(row) or "USD").strip().upper()
        if currency != "USD":
            raise BillingFormatError(f"line {number}: a cost in {currency[:12]}, not USD")
        day = days.of(start_of(row), number)
        totals.add(day, sku_of(row).strip() or service or "Gemini API", _nanos(cost_of(row), number, "cost"))
        for name, nanos in _credits(credits_of(row), number, table.limits):
            totals.add(day, name, nanos)
    return totals.bills()


XAI_DAY = ("date", "day", "usage_date", "timestamp", "time", "start_time")
XAI_AMOUNT = ("cost_usd", "cost", "amount_usd", "amount", "total_usd", "total")
XAI_LABEL = ("model", "description", "line_item", "item")


def parse_xai_usage_export(table: _Table) -> list[DayBill]:
    day_column, amount_column = _require(table.names, {"a day": XAI_DAY, "an amount in USD": XAI_AMOUNT})
    label_column = next((c for c in XAI_LABEL if c in table.names), None)
    day_of, amount_of = table.column(day_column), table.column(amount_column)
    label_of = table.column(label_column) if label_column else (lambda row: "")
    days, totals = _Days(), DayTotals()
    for number, row in table.rows():
        totals.add(days.of(day_of(row), number), label_of(row).strip() or "xAI API",
                   _nanos(amount_of(row), number, amount_column))
    return totals.bills()


READERS: dict[str, Callable[[_Table], list[DayBill]]] = {
    "gemini": parse_gemini_billing_export, "xai": parse_xai_usage_export}


def _require(columns: list[str], needs: dict[str, tuple[str, ...]]) -> list[str]:
    """The first column found for each need, or one message naming every need no column meets."""
    found = [next((name for name in candidates if name in columns), None) for candidates in needs.values()]
    missing = [(what, candidates) for (what, candidates), name in zip(needs.items(), found, strict=True)
               if name is None]
    if missing:
        said = " nor ".join(what if candidates == (what,) else f"for {what} (looked for {', '.join(candidates)})"
                            for what, candidates in missing)
        shown = [name[:40] for name in columns[:12]]
        raise BillingFormatError(f"the export has no column {said} (its columns: "
                                 f"{', '.join(shown) or 'none'}{', …' if len(columns) > 12 else ''})")
    return [name for name in found if name is not None]


def _norm(name: str) -> str:
    """'Cost (USD)' → 'cost_usd'; dots kept, so 'service.description' stays as the export writes it."""
    return re.sub(r"[^a-z0-9.]+", "_", name.strip().lower()).strip("_")


class _Days:
    """A day or time text to its UTC day, remembering recent texts (each hour's timestamp repeats)."""

    def __init__(self) -> None:
        self._seen: dict[str, dt.date] = {}

    def of(self, value: str, number: int) -> dt.date:
        day = self._seen.get(value)
        if day is None:
            if len(self._seen) >= DAY_CACHE:
                self._seen.clear()
            day = self._seen[value] = _day(value, number)
        return day


def _day(value: str, number: int) -> dt.date:
    text = (value or "").strip().replace("Z", "+00:00").replace(" UTC", "+00:00")
    try:
        moment = dt.datetime.fromisoformat(text)
        if moment.tzinfo is not None:
            moment = moment.astimezone(dt.UTC)
    except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 moved across midnight UTC
        raise BillingFormatError(f"line {number}: {_quoted(value)} is not a date or time") from None
    return moment.date()


def _nanos(value: Any, number: int, column: str) -> int:
    """An export's amount in dollars ('1,234.50', '$3.20') to nanos; BillingFormatError naming the line."""
    text = str(value if value is not None else "").strip().replace("$", "").replace(",", "")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise BillingFormatError(f"line {number}: {column} {_quoted(value)} is not an amount") from None
    # the exponent first: abs() of '1e999999999' would raise decimal.Overflow
    if not amount.is_finite() or amount.adjusted() > 12 or (amount.adjusted() == 12 and abs(amount) > _LARGEST):
        raise BillingFormatError(f"line {number}: {column} {_quoted(value)} is not a usable amount")
    return to_nanos(amount)  # a tiny exponent underflows to 0, which decimal does not trap


def _credits(value: str, number: int, limits: BillingLimits) -> list[tuple[str, int]]:
    """(name, nanos < 0) of each credit of a row's credits JSON."""
    if not value or not value.strip() or value.strip() == "[]":
        return []
    items = loads(value, limits, f"line {number}: credits")
    if not isinstance(items, list):
        raise BillingFormatError(f"line {number}: credits is not a list")
    out = []
    for item in items:
        if not isinstance(item, Mapping):
            raise BillingFormatError(f"line {number}: a credit is not an object")
        name = str(item.get("name") or item.get("full_name") or item.get("type") or "credit")
        out.append((name, -abs(_nanos(item.get("amount"), number, "credits.amount"))))
    return out


def _quoted(value: Any, most: int = 40) -> str:
    shown = repr(value)
    return shown if len(shown) <= most else f"{shown[:most - 1]}…"
