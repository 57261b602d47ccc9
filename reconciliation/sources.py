"""Which bill counts for a month: the latest word on it that can be read, a paste or the provider's data.

A paste counts from the moment it is entered; a pull or an export import counts from the moment its
figures for the month last changed. So a person who pastes after a pull corrects it, and a pull that
brings new figures after an old paste replaces it; a nightly pull that finds the same figures changes
nothing. A statement row that already carries amount_nanos (the dashboard parsed it) is used as is.

A later paste that cannot be read does not displace a bill that could: the month keeps the last
readable one, and the choice lists the refused pastes and says so in a notice. Only when nothing
readable was ever entered or pulled is the month unusable (the latest refusal's reason).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from core.money import money
from reconciliation.model import Bill, BillUnusable, DayBill
from reconciliation.statement import StatementError, parse_statement, too_long

ORIGIN_WORDS = {
    "openai_costs_api": "pulled {when} from OpenAI's Costs API",
    "anthropic_cost_report": "pulled {when} from Anthropic's cost report",
    "gemini_billing_export": "imported {when} from a Gemini billing export",
    "xai_usage_export": "imported {when} from an xAI usage export",
}


@dataclass(frozen=True)
class StatementRow:
    id: int
    source: str
    raw_text: str | None
    amount_nanos: int | None
    entered_at: dt.datetime
    entered_by: str | None = None
    # a paste longer than MAX_PASTE_CHARS is not read from the database: raw_text is then None and this
    # is its length in characters
    too_long: int | None = None


@dataclass(frozen=True)
class PulledMonth:
    origin: str
    changed_at: dt.datetime
    days: tuple[DayBill, ...]


@dataclass(frozen=True)
class Refusal:
    """A paste, later than the bill that counts, that could not be read."""

    statement: StatementRow
    reason: str  # what was not understood, as the parser says it

    @property
    def reference(self) -> str:
        return f"statement:{self.statement.id}"


@dataclass(frozen=True)
class BillChoice:
    bill: Bill | BillUnusable | None
    refused: tuple[Refusal, ...] = ()  # newest first
    notice: str | None = None  # a bill was used although a later paste was refused: why, for people


def choose_bill(statements: Sequence[StatementRow], pulled: PulledMonth | None) -> BillChoice:
    """`statements`: the month's statement rows, newest first (entered_at, then id)."""
    refused: list[Refusal] = []
    for statement in statements:
        if pulled is not None and pulled.changed_at > statement.entered_at:
            break  # the pull is a later word than this and every older statement
        read = read_statement(statement)
        if isinstance(read, Bill):
            return BillChoice(read, tuple(refused), refusal_notice(refused, _entered(statement, read)))
        refused.append(Refusal(statement, read))
    if pulled is not None:
        bill = Bill("api", pulled.origin, sum(d.net_nanos for d in pulled.days), pulled.days, f"pull:{pulled.origin}")
        return BillChoice(bill, tuple(refused), refusal_notice(refused, _pulled(pulled, bill)))
    if refused:
        latest = refused[0]
        source = _source(latest.statement)
        return BillChoice(BillUnusable(source, _unusable_reason(latest), latest.reference), tuple(refused))
    return BillChoice(None)


def read_statement(statement: StatementRow) -> Bill | str:
    """The bill a statement row gives, or why it gives none."""
    source = _source(statement)
    reference = f"statement:{statement.id}"
    if statement.amount_nanos is not None:
        if statement.amount_nanos < 0:
            return f"statement {statement.id} has a negative amount"
        return Bill(source, "statement", statement.amount_nanos, (), reference)
    if statement.too_long is not None:
        return str(too_long(statement.too_long))
    try:
        parsed = parse_statement(statement.raw_text)
    except StatementError as error:
        return str(error)
    return Bill(source, "paste", parsed.nanos, (), reference)


def refusal_notice(refused: Sequence[Refusal], counted: str) -> str | None:
    """'a paste entered <when> by <who> was refused: <reason>; reconciled against <the bill that counts>'."""
    if not refused:
        return None
    latest = refused[0]
    entered = f"entered {when(latest.statement.entered_at)}{_by(latest.statement)}"
    head = (f"a paste {entered} was refused" if len(refused) == 1 else
            f"{len(refused)} pastes were refused, the latest {entered}")
    return f"{head}: {latest.reason}; reconciled against {counted}"


def when(moment: dt.datetime) -> str:
    return f"{moment.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC"


def _entered(statement: StatementRow, bill: Bill) -> str:
    return f"the bill entered {when(statement.entered_at)}{_by(statement)} ({money(bill.total_nanos)})"


def _pulled(pulled: PulledMonth, bill: Bill) -> str:
    words = ORIGIN_WORDS.get(pulled.origin, "pulled {when} (" + pulled.origin + ")")
    return f"the bill {words.format(when=when(pulled.changed_at))} ({money(bill.total_nanos)})"


def _by(statement: StatementRow) -> str:
    return f" by {statement.entered_by}" if statement.entered_by else ""


def _source(statement: StatementRow) -> str:
    return statement.source if statement.source in ("manual", "api") else "manual"


def _unusable_reason(refusal: Refusal) -> str:
    if refusal.statement.amount_nanos is not None:
        return refusal.reason
    return f"the pasted bill could not be read: {refusal.reason}"
