"""Which bill counts for a month: the latest word on it, a paste or the provider's own data.

A paste counts from the moment it is entered; a pull or an export import counts from the moment its
figures for the month last changed. So a person who pastes after a pull corrects it, and a pull that
brings new figures after an old paste replaces it; a nightly pull that finds the same figures changes
nothing. A statement row that already carries amount_nanos (the dashboard parsed it) is used as is.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from reconciliation.model import Bill, BillUnusable, DayBill
from reconciliation.statement import StatementError, parse_statement


@dataclass(frozen=True)
class StatementRow:
    id: int
    source: str
    raw_text: str | None
    amount_nanos: int | None
    entered_at: dt.datetime


@dataclass(frozen=True)
class PulledMonth:
    origin: str
    changed_at: dt.datetime
    days: tuple[DayBill, ...]


def choose_bill(statement: StatementRow | None, pulled: PulledMonth | None) -> Bill | BillUnusable | None:
    if statement is not None and (pulled is None or statement.entered_at >= pulled.changed_at):
        return bill_from_statement(statement)
    if pulled is not None:
        return Bill("api", pulled.origin, sum(d.net_nanos for d in pulled.days), pulled.days,
                    f"pull:{pulled.origin}")
    return None


def bill_from_statement(statement: StatementRow) -> Bill | BillUnusable:
    source = statement.source if statement.source in ("manual", "api") else "manual"
    reference = f"statement:{statement.id}"
    if statement.amount_nanos is not None:
        if statement.amount_nanos < 0:
            return BillUnusable(source, f"statement {statement.id} has a negative amount", reference)
        return Bill(source, "statement", statement.amount_nanos, (), reference)
    try:
        parsed = parse_statement(statement.raw_text)
    except StatementError as error:
        return BillUnusable(source, f"the pasted bill could not be read: {error}", reference)
    return Bill(source, "paste", parsed.nanos, (), reference)
