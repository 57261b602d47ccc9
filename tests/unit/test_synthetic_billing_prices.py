"""The Gemini export plant's own pricing, against figures worked out by hand from pricing/rates.json
(USD per million tokens; 1 token at $1/M is 1,000 nano-dollars)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from synthetic.billing_prices import ReferencePrices

PRICES = ReferencePrices.load()


def request(model: str, day: dt.datetime, *, tier: str = "standard", input_tokens: int = 0, cache_read: int = 0,
            cache_write: int = 0, output: int = 0, status: int = 200) -> dict[str, Any]:
    return {"model": model, "started_at": day, "service_tier": tier, "input_tokens": input_tokens,
            "cache_read_tokens": cache_read, "cache_write_tokens": cache_write, "output_tokens": output,
            "status_code": status}


NOV_10 = dt.datetime(2026, 11, 10, 12, tzinfo=dt.UTC)


@pytest.mark.parametrize(("row", "nanos"), [
    # gemini-2.5-pro, standard: $1.25 input, $0.125 cache read, $10 output per million tokens
    # 1,000 × 1.25 + 2,000 × 0.125 + 500 × 10 = 6,500 → $0.0065
    (request("gemini-2.5-pro", NOV_10, input_tokens=1_000, cache_read=2_000, output=500), 6_500_000),
    # the prompt (input + cache read + cache write) above 200,000 tokens: the whole request at $2.50 / $15
    # 250,000 × 2.5 + 1,000 × 15 = 640,000 → $0.64
    (request("gemini-2.5-pro", NOV_10, input_tokens=250_000, output=1_000), 640_000_000),
    # a prompt of exactly 200,000 is not above the threshold: 199,000 × 1.25 + 1,000 × 0.125 = 248,875
    (request("gemini-2.5-pro", NOV_10, input_tokens=199_000, cache_read=1_000), 248_875_000),
    # batch: $0.15 input, $1.25 output: 10,000 × 0.15 + 2,000 × 1.25 = 4,000 → $0.004
    (request("gemini-2.5-flash", NOV_10, tier="batch", input_tokens=10_000, output=2_000), 4_000_000),
    # one cached token at $0.0375 per million is 37.5 nano-dollars: half up to 38
    (request("gemini-2.5-flash-preview-04-17", NOV_10, cache_read=1), 38),
    # no cache-write price: those tokens at the input price, 1,000 × 0.1 = 100 → $0.0001
    (request("gemini-2.5-flash-lite", NOV_10, cache_write=1_000), 100_000),
    # listed first on 2026-11-26: earlier traffic at its first listed rates, 1,000 × 1.5 + 100 × 9 = 2,400
    (request("gemini-3.5-flash", NOV_10, input_tokens=1_000, output=100), 2_400_000),
    # an error response is not billed
    (request("gemini-2.5-pro", NOV_10, input_tokens=1_000, status=500), 0),
])
def test_a_request_costs_what_the_price_table_says_worked_out_by_hand(row: dict[str, Any], nanos: int) -> None:
    assert PRICES.cost_nanos(row) == nanos


def test_the_version_in_force_is_the_last_one_effective_at_utc_midnight_before_the_request() -> None:
    # 2026-11-26 adds a flex tier to gemini-2.5-pro ($0.625 input, $5 output)
    before = request("gemini-2.5-pro", dt.datetime(2026, 11, 25, 23, 59, 59, tzinfo=dt.UTC), tier="flex",
                     input_tokens=1_000, output=100)
    after = request("gemini-2.5-pro", dt.datetime(2026, 11, 26, tzinfo=dt.UTC), tier="flex", input_tokens=1_000,
                    output=100)
    assert PRICES.cost_nanos(before) is None  # not offered yet: left off the bill
    assert PRICES.cost_nanos(after) == (1_000 * 625 + 100 * 5_000)  # 1,125,000


def test_a_model_the_table_does_not_know_is_not_priced() -> None:
    assert PRICES.cost_nanos(request("gemini-9-ultra", NOV_10, input_tokens=10)) is None
    assert PRICES.cost_nanos(request("gemini-2.5-pro", NOV_10, tier="turbo", input_tokens=10)) is None
