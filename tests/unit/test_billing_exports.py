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
