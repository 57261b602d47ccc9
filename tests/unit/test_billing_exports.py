"""Gemini Cloud Billing and xAI usage exports read into the same daily buckets as the APIs."""

from __future__ import annotations

import datetime as dt

import pytest

from reconciliation.exports import parse_export
from reconciliation.parsers import BillingFormatError

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
