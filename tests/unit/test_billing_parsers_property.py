"""Generated valid provider answers: the parsers read every amount exactly, whatever else is in them."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reconciliation.limits import BillingLimits
from reconciliation.parsers import (
    BillingFormatError,
    LimitExceeded,
    day_bills,
    loads,
    parse_anthropic_costs,
    parse_openai_costs,
)

NOV1 = 1_793_491_200
dollars = st.decimals(min_value=Decimal("-1000"), max_value=Decimal("100000"), places=9, allow_nan=False)
cents = st.decimals(min_value=Decimal("-100000"), max_value=Decimal("10000000"), places=7, allow_nan=False)
extra = st.dictionaries(st.text("abcdefghij_", min_size=3, max_size=8).map(lambda k: f"x_{k}"),
                        st.one_of(st.none(), st.integers(), st.text(max_size=5), st.lists(st.integers(), max_size=2)),
                        max_size=2)
labels = st.one_of(st.none(), st.sampled_from(["input", "output", "web search", "Promotional credit"]))


def encode(doc: Any) -> str:
    """JSON with Decimals written as exact number literals (json would round them through float)."""
    if isinstance(doc, Decimal):
        return format(doc, "f")
    if isinstance(doc, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{encode(v)}" for k, v in doc.items()) + "}"
    if isinstance(doc, list):
        return "[" + ",".join(encode(v) for v in doc) + "]"
    return json.dumps(doc)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.tuples(dollars, labels, extra), max_size=4), max_size=6), extra, st.booleans())
def test_openai_pages_sum_to_the_exact_dollars(buckets: list[list[Any]], top: dict[str, Any], more: bool) -> None:
    doc = {"object": "page", **top, "has_more": more, "next_page": "page_x" if more else None, "data": [
        {"object": "bucket", "start_time": NOV1 + i * 86400, "end_time": NOV1 + (i + 1) * 86400, "results": [
            {"object": "organization.costs.result", "amount": {"value": value, "currency": "usd"},
             "line_item": label, **fields} for value, label, fields in results]}
        for i, results in enumerate(buckets)]}
    page = parse_openai_costs(loads(encode(doc)))
    assert page.next_page == ("page_x" if more else None)
    assert len(page.days) == len(buckets)
    expected = sum((value for results in buckets for value, _, _ in results), Decimal(0))
    assert sum(line.amount_nanos for _, line in page.lines) == int(expected * 10**9)
    bills = day_bills(page.lines, page.days)
    assert sum(b.net_nanos for b in bills) == int(expected * 10**9)
    assert all(b.credits_nanos <= 0 <= b.charges_nanos for b in bills)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.tuples(cents, labels, extra), max_size=4), max_size=6), extra)
def test_anthropic_pages_read_cents_strings_to_the_nano(buckets: list[list[Any]], top: dict[str, Any]) -> None:
    start = dt.date(2026, 11, 1)
    doc = {**top, "has_more": False, "next_page": None, "data": [
        {"starting_at": f"{start + dt.timedelta(days=i)}T00:00:00Z",
         "ending_at": f"{start + dt.timedelta(days=i + 1)}T00:00:00Z",
         "results": [{"amount": format(value, "f"), "currency": "USD", "description": label, **fields}
                     for value, label, fields in results]}
        for i, results in enumerate(buckets)]}
    page = parse_anthropic_costs(loads(json.dumps(doc)))
    expected = sum((value for results in buckets for value, _, _ in results), Decimal(0))
    assert sum(line.amount_nanos for _, line in page.lines) == int(expected * 10**7)  # cents → nanos
    assert list(page.days) == [start + dt.timedelta(days=i) for i in range(len(buckets))]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5) | st.decimals(allow_nan=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(
        ["data", "results", "start_time", "starting_at", "amount", "value", "currency", "has_more", "next_page",
         "line_item", "description"]), inner, max_size=5),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_other_answer_is_a_format_error_never_a_crash(doc: Any) -> None:
    for parse in (parse_openai_costs, parse_anthropic_costs):
        try:
            parse(doc)
        except BillingFormatError as error:
            assert str(error)


HOSTILE_NUMBERS = ["1e999999999", "-1e999999999", "1e-999999999", "9" * 5_000, "1" + "0" * 400, "-0", "0e-99999",
                   "NaN", "Infinity", "-Infinity", "1.5", "12345678901234567890.123456789012345678901234567890"]
HOSTILE_TIMES = ['"0001-01-01T00:00:00+05:00"', '"9999-12-31T23:00:00-05:00"', '"2026-11-01"', '"yesterday"',
                 "99999999999999999999", "-1", "1793491200", '"2026-11-01T00:00:00Z"', "null", "[]"]


def answer_text(number: str, time: str, depth: int, text_length: int) -> str:
    """An answer of the documented shape (both providers' field names) with hostile values in it."""
    result = (f'{{"amount": {{"value": {number}, "currency": "usd"}}, "line_item": "{"x" * text_length}", '
              f'"description": "d", "currency": "USD"}}')
    anthropic_result = result.replace('{"amount": {"value": ' + number + ', "currency": "usd"}',
                                      f'{{"amount": "{number}"')
    nested = "[" * depth + "1" + "]" * depth
    return (f'{{"has_more": false, "extra": {nested}, "data": [{{"start_time": {time}, "starting_at": {time}, '
            f'"results": [{result}, {anthropic_result}]}}]}}')


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(HOSTILE_NUMBERS), st.sampled_from(HOSTILE_TIMES), st.sampled_from([0, 3, 40, 5_000]),
       st.sampled_from([0, 10, 20_000]))
def test_hostile_numbers_times_nesting_and_lengths_are_a_format_error_never_a_crash(
        number: str, time: str, depth: int, text_length: int) -> None:
    text = answer_text(number, time, depth, text_length)
    for parse in (parse_openai_costs, parse_anthropic_costs):
        try:
            page = parse(loads(text))
        except BillingFormatError as error:
            assert str(error).strip() and len(str(error)) < 400
            continue
        assert all(abs(line.amount_nanos) <= 10**24 for _, line in page.lines)


@pytest.mark.parametrize(("text", "says", "limit"), [
    ("[" * 100_000 + "]" * 100_000, "the answer nests deeper than 32 levels", "max_json_depth"),
    ("[" * 33 + "]" * 33, "the answer nests deeper than 32 levels", "max_json_depth"),
    ('{"data": "' + "x" * 16_385 + '"}', "the answer holds a text of 16,385 characters, longer than the limit of "
                                         "16,384", "max_field_chars"),
    ('{"' + "k" * 16_385 + '": 1}', "the answer holds a text of 16,385 characters", "max_field_chars"),
])
def test_an_answer_beyond_a_limit_is_refused_naming_it(text: str, says: str, limit: str) -> None:
    with pytest.raises(LimitExceeded) as refused:
        loads(text)
    assert str(refused.value).startswith(says) and refused.value.limit == limit


def test_the_documented_answers_fit_the_limits_with_room() -> None:
    assert loads('{"data": [{"results": [{"amount": {"value": 1}}]}]}', BillingLimits(max_json_depth=8))
    with pytest.raises(BillingFormatError, match="NaN is not a number JSON knows"):
        loads('{"value": NaN}')
