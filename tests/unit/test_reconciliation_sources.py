"""Which bill counts for a month: the latest readable word, a later paste that cannot be read set aside
with a notice that says so (no database)."""

from __future__ import annotations

import datetime as dt

from reconciliation.model import Bill, BillUnusable, DayBill
from reconciliation.sources import PulledMonth, StatementRow, choose_bill

D = 1_000_000_000


def at(day: int, hour: int = 9, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=dt.UTC)


def paste(statement_id: int, text: str, entered: dt.datetime, by: str | None = "finance@acme") -> StatementRow:
    return StatementRow(statement_id, "manual", text, None, entered, by)


def test_an_unreadable_paste_after_a_readable_one_keeps_the_readable_bill_and_says_so() -> None:
    newest_first = [paste(2, "about three hundred dollars", at(28, 10, 2), "intern@acme"),
                    paste(1, "$342.04", at(20))]
    choice = choose_bill(newest_first, None)
    assert isinstance(choice.bill, Bill)
    assert (choice.bill.total_nanos, choice.bill.reference) == (342_040_000_000, "statement:1")
    assert [r.statement.id for r in choice.refused] == [2]
    assert choice.notice == (
        "a paste entered 2026-11-28 10:02 UTC by intern@acme was refused: no amount in dollars was found in "
        "'about three hundred dollars'; paste something like $342.04 or 342.04 USD; reconciled against the bill "
        "entered 2026-11-20 09:00 UTC by finance@acme ($342.04)")


def test_several_refused_pastes_are_counted_and_the_latest_is_named() -> None:
    newest_first = [paste(3, "42 EUR", at(29), None), paste(2, "soon", at(28)), paste(1, "USD 10.00", at(2))]
    choice = choose_bill(newest_first, None)
    assert isinstance(choice.bill, Bill) and choice.bill.total_nanos == 10 * D
    assert choice.notice is not None
    assert choice.notice.startswith("2 pastes were refused, the latest entered 2026-11-29 09:00 UTC: the paste is "
                                    "in another currency (EUR)")
    assert choice.notice.endswith("reconciled against the bill entered 2026-11-02 09:00 UTC by finance@acme ($10.00)")


def test_an_unreadable_paste_after_a_pull_reconciles_against_the_pull() -> None:
    pulled = PulledMonth("xai_usage_export", at(10, 3), (DayBill(dt.date(2026, 11, 2), 3 * D),))
    choice = choose_bill([paste(7, "Total: $5.00\nTotal: $6.00", at(12))], pulled)
    assert isinstance(choice.bill, Bill) and (choice.bill.total_nanos, choice.bill.source) == (3 * D, "api")
    assert choice.notice is not None and choice.notice.endswith(
        "reconciled against the bill imported 2026-11-10 03:00 UTC from an xAI usage export ($3.00)")
    assert "the paste has 2 totals that differ ($5.00, $6.00)" in choice.notice


def test_a_pull_that_changed_after_an_unreadable_paste_counts_with_nothing_to_say() -> None:
    pulled = PulledMonth("openai_costs_api", at(12), (DayBill(dt.date(2026, 11, 2), 3 * D),))
    choice = choose_bill([paste(7, "lots", at(10))], pulled)
    assert isinstance(choice.bill, Bill) and choice.bill.reference == "pull:openai_costs_api"
    assert (choice.refused, choice.notice) == ((), None)


def test_with_no_readable_bill_at_all_the_month_cannot_be_used_and_says_why() -> None:
    choice = choose_bill([paste(2, "soon", at(28)), paste(1, "42 EUR", at(20))], None)
    assert isinstance(choice.bill, BillUnusable) and choice.notice is None
    assert choice.bill.reason == ("the pasted bill could not be read: no amount in dollars was found in 'soon'; "
                                  "paste something like $342.04 or 342.04 USD")
    assert choice.bill.reference == "statement:2" and len(choice.refused) == 2


def test_a_statement_with_a_negative_amount_is_refused_like_an_unreadable_paste() -> None:
    negative = StatementRow(5, "manual", None, -1, at(28), "dashboard")
    choice = choose_bill([negative, paste(1, "$1.00", at(20))], None)
    assert isinstance(choice.bill, Bill) and choice.bill.total_nanos == D
    assert choice.notice is not None and "was refused: statement 5 has a negative amount;" in choice.notice
    alone = choose_bill([negative], None)
    assert isinstance(alone.bill, BillUnusable) and alone.bill.reason == "statement 5 has a negative amount"


def test_no_statement_and_no_pull_awaits_the_bill() -> None:
    assert choose_bill([], None).bill is None
