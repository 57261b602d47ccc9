"""Gemini Cloud Billing and xAI usage exports read into the same daily buckets as the APIs."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciliation.exports import CHUNK_BYTES, parse_export
from reconciliation.limits import BillingLimits
from reconciliation.parsers import BillingFormatError, LimitExceeded

GEMINI = """billing_account_id,service.id,service.description,sku.id,sku.description,usage_start_time,usage_end_time,\
project.id,cost,currency,usage.amount,usage.unit,credits,invoice.month,cost_type
01AB,AEFD,Gemini API,S1,Gemini 2.5 Pro input tokens,2026-11-03T00:00:00Z,2026-11-03T01:00:00Z,acme,12.50,USD,1,\
count,[],202611,regular
01AB,AEFD,Gemini API,S2,Gemini 2.5 Pro output tokens,2026-11-03 05:00:00 UTC,2026-11-03 06:00:00 UTC,acme,7.5,USD,\
1,count,"[{""name"": ""Free trial credit"", ""amount"": -4.25, ""type"": ""PROMOTION""}]",202611,regular
01AB,6F81,Compute Engine,S3,N1 core,2026-11-03T00:00:00Z,2026-11-03T01:00:00Z,acme,99.00,USD,1,h,[],202611,regular
01AB,AEFD,Gemini API,S1,Gemini 2.5 Pro input tokens,2026-11-04T00:00:00Z,2026-11-04T01:00:00Z,acme,1.000000001,USD,\
1,count,,202611,regular
"""


def test_a_gemini_export_gives_days_with_lines_and_credits_and_skips_other_services() -> None:
    days = parse_export("gemini", GEMINI)
    assert [(d.day, d.charges_nanos, d.credits_nanos) for d in days] == [
        (dt.date(2026, 11, 3), 20_000_000_000, -4_250_000_000), (dt.date(2026, 11, 4), 1_000_000_001, 0)]
    assert ("Free trial credit", -4_250_000_000) in [(i.description, i.amount_nanos) for i in days[0].lines]


def test_an_xai_export_is_matched_by_loose_column_names() -> None:
    text = "Date,Model,Cost (USD)\n2026-11-01,grok-4,3.20\n2026-11-01,grok-4-mini,0.80\n2026-11-02,Credit,-1.00\n"
    days = parse_export("xai", text)
    assert [(d.day.day, d.charges_nanos, d.credits_nanos) for d in days] == [(1, 4_000_000_000, 0),
                                                                             (2, 0, -1_000_000_000)]


@pytest.mark.parametrize(("provider", "text", "says"), [
    ("gemini", "", "no header"),
    ("gemini", "cost,currency\n1,USD\n", "no column usage_start_time"),
    ("gemini", "usage_start_time,cost,currency\n2026-11-01T00:00:00Z,1,EUR\n", "not USD"),
    ("gemini", "usage_start_time,cost\nyesterday,1\n", "not a date"),
    ("xai", "when,cost\n2026-11-01,1\n", "no column for a day"),
    ("xai", "date,price\n2026-11-01,1\n", "no column for an amount"),
    ("xai", "date,cost\n2026-11-01,lots\n", "not an amount"),
    ("openai", "date,cost\n", "no export format for openai"),
])
def test_a_malformed_export_says_what_it_could_not_read(provider: str, text: str, says: str) -> None:
    with pytest.raises(BillingFormatError, match=says):
        parse_export(provider, text)


@pytest.mark.parametrize("text", ["when,price\n2026-11-01,1\n", "When,Price\n"])
def test_an_xai_export_names_every_column_it_misses_like_a_gemini_one(text: str) -> None:
    with pytest.raises(BillingFormatError) as refused:
        parse_export("xai", text)
    said = str(refused.value)
    assert "no column for a day (looked for date, day," in said and "nor for an amount in USD (looked for cost_usd," \
        in said and said.endswith("(its columns: when, price)")
    with pytest.raises(BillingFormatError, match=r"no column usage_start_time nor cost \(its columns: when, price\)"):
        parse_export("gemini", text)


@pytest.mark.parametrize("provider", ["gemini", "xai"])
@pytest.mark.parametrize("data", [
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",  # an image
    b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00",  # a spreadsheet (a zip)
    b"date,cost\n2026-11-01,1\x00\n",  # valid UTF-8 with a NUL byte
    "date,cost\n".encode("utf-16"),  # another encoding
])
def test_a_binary_file_is_not_a_utf8_csv(provider: str, data: bytes) -> None:
    with pytest.raises(BillingFormatError, match=r"^the file is not a UTF-8 CSV"):
        parse_export(provider, data)


def test_an_export_read_as_bytes_drops_a_byte_order_mark() -> None:
    days = parse_export("xai", "\ufeffdate,cost\n2026-11-01,1.50\n".encode())
    assert [(d.day, d.charges_nanos) for d in days] == [(dt.date(2026, 11, 1), 1_500_000_000)]


class Recording(io.BytesIO):
    """A file that records how much each read asked for and how much was read in all."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.asked: list[int] = []

    def read(self, size: int | None = -1) -> bytes:
        self.asked.append(-1 if size is None else size)
        return super().read(size)


def test_an_export_file_is_read_in_chunks_never_whole() -> None:
    rows = "".join(f"2026-11-{1 + i % 28:02d},grok-4,0.01\n" for i in range(20_000))
    export = Recording(f"date,model,cost\n{rows}".encode())
    days = parse_export("xai", export)
    assert sum(d.net_nanos for d in days) == 200 * 10**9
    assert max(export.asked) <= CHUNK_BYTES and -1 not in export.asked and len(export.asked) > 5
    assert not export.closed, "the caller's file is the caller's to close"


def test_an_export_over_the_byte_limit_is_refused_as_soon_as_it_is_read_past_it() -> None:
    export = Recording(("date,cost\n" + "2026-11-01,1\n" * 1_000_000).encode())  # 13 MB
    with pytest.raises(LimitExceeded, match="larger than the limit of 100,000 bytes; split it by month") as refused:
        parse_export("xai", export, BillingLimits(max_export_bytes=100_000))
    assert refused.value.limit == "max_export_bytes" and export.tell() <= 100_000 + CHUNK_BYTES


@pytest.mark.parametrize(("text", "limits", "says", "limit"), [
    ("date,cost\n" + "2026-11-01,1\n" * 11, BillingLimits(max_rows=10),
     "more than the limit of 10 rows; split it by month", "max_rows"),
    ("date,model,cost\n2026-11-01," + "x" * 131_073 + ",1\n", BillingLimits(),
     "line 2: a field is longer than the limit of 16,384 characters", "max_field_chars"),
    ("date,model,cost\n2026-11-01," + "x" * 20_000 + ",1\n", BillingLimits(),
     "line 2: a field is longer than the limit of 16,384 characters", "max_field_chars"),
    ("date,model,cost\n2026-11-01," + '"' + "x" * 20_000, BillingLimits(),  # a quote never closed
     "a field is longer than the limit of 16,384 characters", "max_field_chars"),
    ("date,cost\n" + "2026-11-01" * 200_000, BillingLimits(),  # a file without line breaks
     "line 2 is longer than the limit of 1,048,576 characters", "max_field_chars"),
    ("x" * 2_000_000, BillingLimits(), "line 1 is longer than the limit", "max_field_chars"),
    ('usage_start_time,cost,credits\n2026-11-01T00:00:00Z,1,"' + "[" * 5_000 + '"\n', BillingLimits(),
     "line 2: credits nests deeper than 32 levels", "max_json_depth"),
    ('usage_start_time,cost,credits\n2026-11-01T00:00:00Z,1,"' + "[" * 40 + "]" * 40 + '"\n', BillingLimits(),
     "line 2: credits nests deeper than 32 levels", "max_json_depth"),
])
def test_an_export_beyond_a_limit_is_refused_naming_it(text: str, limits: BillingLimits, says: str,
                                                       limit: str) -> None:
    provider = "gemini" if text.startswith("usage_start_time") else "xai"
    with pytest.raises(LimitExceeded) as refused:
        parse_export(provider, text.encode(), limits)
    assert says in str(refused.value) and refused.value.limit == limit and len(str(refused.value)) < 200


@pytest.mark.parametrize(("provider", "text", "says"), [
    ("xai", "date,cost\n2026-11-01,1e999999999\n", "line 2: cost '1e999999999' is not a usable amount"),
    ("xai", "date,cost\n2026-11-01,-1e999999999\n", "is not a usable amount"),
    ("xai", "date,cost\n2026-11-01,1e-999999999\n", None),  # far below a nano-dollar: a day of $0
    ("xai", "date,cost\n2026-11-01,Infinity\n", "is not a usable amount"),
    ("xai", "date,cost\n2026-11-01,NaN\n", "is not a usable amount"),
    ("xai", "date,cost\n2026-11-01," + "9" * 5_000 + "\n", "is not a usable amount"),
    ("xai", "date,cost\n0001-01-01T00:00:00+05:00,1\n", "line 2: '0001-01-01T00:00:00+05:00' is not a date"),
    ("xai", "date,cost\n9999-12-31T23:00:00-05:00,1\n", "is not a date or time"),
    ("gemini", 'usage_start_time,cost,credits\n2026-11-01T00:00:00Z,1,"[{""amount"": 1e999999999}]"\n',
     "line 2: credits.amount Decimal('1E+999999999') is not a usable amount"),
    ("gemini", 'usage_start_time,cost,credits\n2026-11-01T00:00:00Z,1,"[{""amount"": ' + "9" * 5_000 + '}]"\n',
     "line 2: credits is not JSON"),
    ("gemini", 'usage_start_time,cost,credits\n2026-11-01T00:00:00Z,1,"{""amount"": 1}"\n',
     "line 2: credits is not a list"),
    ("gemini", 'usage_start_time,cost,credits\n2026-11-01T00:00:00Z,1,"[1]"\n', "line 2: a credit is not an object"),
    ("gemini", 'usage_start_time,cost,credits\n2026-11-01T00:00:00Z,1,"[{""amount"": NaN}]"\n',
     "line 2: credits is not JSON (NaN is not a number JSON knows)"),
])
def test_every_malformed_number_or_structure_is_the_billing_format_error(provider: str, text: str,
                                                                         says: str | None) -> None:
    if says is None:
        assert [d.net_nanos for d in parse_export(provider, text)] == [0]
        return
    with pytest.raises(BillingFormatError) as refused:
        parse_export(provider, text)
    assert says in str(refused.value)


LABELS = st.sampled_from(["grok-4", "grok-4-mini", "Credit", "web search", "ünïcödé", "a,b", 'say "hi"', ""])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 30), LABELS, st.decimals(min_value=-1000, max_value=100_000, places=9,
                                                                 allow_nan=False, allow_infinity=False)),
                max_size=40),
       st.sampled_from(["\n", "\r\n"]), st.booleans())
def test_generated_xai_exports_sum_to_the_nano(rows: list[tuple[int, str, Decimal]], newline: str,
                                               as_file: bool) -> None:
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator=newline)
    writer.writerow(["Date", "Model", "Cost (USD)"])
    for day, label, amount in rows:
        writer.writerow([f"2026-11-{day:02d}", label, format(amount, "f")])
    data = out.getvalue().encode()
    days = parse_export("xai", io.BytesIO(data) if as_file else data)
    assert sum(d.net_nanos for d in days) == sum(int(amount * 10**9) for _, _, amount in rows)
    assert all(d.credits_nanos <= 0 <= d.charges_nanos for d in days)


CSV_PIECES = st.sampled_from(["date", "cost", "usage_start_time", "credits", "currency", "service.description", ",",
                              "\n", "\r", '"', '""', "2026-11-01", "2026-11-01T00:00:00Z", "1", "-2.5", "1e999999999",
                              "[", "]", "{", "}", '""amount"": 1', "USD", "EUR", "Gemini API", "\x00", "\ufeff",
                              "é", " ", "NaN", "0001-01-01T00:00:00+05:00"])


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.lists(CSV_PIECES, max_size=40).map("".join).map(str.encode), st.binary(max_size=200)),
       st.sampled_from(["gemini", "xai"]))
def test_any_file_is_read_or_refused_as_a_billing_format_error_never_a_crash(data: bytes, provider: str) -> None:
    limits = BillingLimits(max_rows=5, max_field_chars=50, max_json_depth=8, max_export_bytes=150)
    try:
        days = parse_export(provider, data, limits)
    except BillingFormatError as error:
        assert str(error).strip() and len(str(error)) < 400
        return
    assert all(d.credits_nanos <= 0 <= d.charges_nanos for d in days)
