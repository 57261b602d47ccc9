"""The manual paste parser: what people paste, what it refuses and why, and a fuzz of both."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.money import NANOS_PER_DOLLAR
from reconciliation.statement import StatementError, parse_statement

D = NANOS_PER_DOLLAR


def render_amount(nanos: int) -> str:
    """An amount as a person would paste it, every nano kept: '$1,234.56', more decimals only when needed."""
    dollars, rest = divmod(nanos, NANOS_PER_DOLLAR)
    fraction = f"{rest:09d}".rstrip("0")
    return f"${dollars:,}.{fraction.ljust(2, '0')}"


@pytest.mark.parametrize(("text", "nanos"), [
    ("$342.04", 342_040_000_000),
    ("342.04 USD", 342_040_000_000),
    ("USD 1,234.56", 1_234_560_000_000),
    ("  $1,234,567.8 \n", 1_234_567_800_000_000),
    ("US$ 12", 12 * D),
    ("usd 5.5", 5_500_000_000),
    ("342.04", 342_040_000_000),
    ("Total: $342.04 USD", 342_040_000_000),
    ("Amount billed this month: $99.00.", 99 * D),
    ("Subtotal: $340.00\nTax: $2.04\nTotal: $342.04", 342_040_000_000),
    ("Usage  $300.00\nCredits -$10.00\nSubtotal $290.00\nSales tax (8%) $23.20\nAmount due $313.20", 313_200_000_000),
    ("Total due: $12.50\nTotal: $12.50", 12_500_000_000),  # two total lines that agree
    ("Total $342.04 (12 requests)", 342_040_000_000),
    ("Usage $120.00 12 items\nTotal $120.00", 120 * D),
])
def test_what_people_paste_is_read_to_the_nano(text: str, nanos: int) -> None:
    assert parse_statement(text).nanos == nanos


@pytest.mark.parametrize(("text", "says"), [
    ("", "empty"),
    ("   \n ", "empty"),
    ("Total: $342.04\nTotal: $343.00", "2 totals that differ"),
    ("€342.04", "another currency"),
    ("342.04 EUR", "another currency (EUR)"),
    ("GBP 12.00", "another currency (GBP)"),
    ("CA$12.00", "another currency"),
    ("-$342.04", "negative"),
    ("$-342.04", "negative"),
    ("($342.04)", "negative"),
    ("Total: -$5.00", "negative"),
    ("-342.04", "negative"),
    ("$1,23.4", "not written like an amount"),
    ("1.234,56 USD", "not written like an amount"),
    ("$300.00 usage and $42.04 tax", "no Total line"),
    ("about three hundred dollars", "no amount in dollars"),
    ("$0.0000000001", "more decimals"),
    # a number that does not end where the amount does is never read in part
    ("$1e9", "1e9' is not written like an amount"),
    ("$12abc", "12abc' is not written like an amount"),
    ("Total: 342.04USDX", "no amount in dollars"),
    ("$ 1 114.16", "groups digits with spaces"),
    ("Total $1 114.16", "groups digits with spaces"),
])
def test_what_cannot_be_used_is_refused_saying_why(text: str, says: str) -> None:
    with pytest.raises(StatementError, match=says.replace("(", r"\(").replace(")", r"\)")):
        parse_statement(text)


def test_the_seeds_example_amounts_render_and_read_back() -> None:
    assert render_amount(342_040_000_000) == "$342.04"
    assert render_amount(1) == "$0.000000001"
    assert parse_statement(render_amount(1)).nanos == 1


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=300))
def test_no_input_crashes_it_and_every_answer_round_trips_or_says_why(text: str) -> None:
    try:
        parsed = parse_statement(text)
    except StatementError as error:
        assert str(error).strip(), "a refusal must say what was not understood"
        return
    assert parsed.nanos >= 0
    assert parse_statement(render_amount(parsed.nanos)).nanos == parsed.nanos


money_words = st.sampled_from(["$", "USD ", "US$"])


@settings(max_examples=300, deadline=None)
@given(nanos=st.integers(min_value=0, max_value=10**15).map(lambda n: n - n % 10_000_000),
       form=st.integers(0, 3), noise=st.sampled_from(["", "Invoice for November\n", "Thanks!\n"]))
def test_generated_pastes_of_every_accepted_shape_read_back_exactly(nanos: int, form: int, noise: str) -> None:
    dollars = render_amount(nanos).lstrip("$")
    text = [f"${dollars}", f"{dollars} USD", f"USD {dollars}",
            f"{noise}Subtotal: ${dollars}\nTax: $0.00\nTotal: ${dollars}"][form]
    assert parse_statement(text).nanos == nanos


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("$USD€0123456789.,-() \nTotalsubx")), max_size=60))
def test_text_made_of_money_characters_never_crashes_it(text: str) -> None:
    try:
        parse_statement(text)
    except StatementError as error:
        assert str(error).strip()
