"""Calendar months and UTC days, shared by reports, reconciliation and the store.

Days are UTC days; a month is named by its first day."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from core.errors import UserError


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def previous_month(day: date) -> date:
    return (month_start(day) - timedelta(days=1)).replace(day=1)


def parse_month(text: str) -> date:
    """'2026-11' or '2026-11-01' → the month's first day; ValueError otherwise."""
    value = text.strip()
    try:
        if len(value) == 7:
            return date.fromisoformat(f"{value}-01")
        day = date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"period '{text}' is not a month like 2026-11 or 2026-11-01") from None
    if day.day != 1:
        raise ValueError(f"period '{text}' is not the first day of a month; give 2026-11 or 2026-11-01")
    return day


def refuse_future_month(month: date, today: date) -> None:
    """A month after the current UTC month has nothing to reconcile yet; the current one is month to date."""
    if month_start(month) > month_start(today):
        raise UserError(f"{month:%Y-%m} has not started yet (today is {today}, UTC); "
                        "give the current month or an earlier one")


def history_start(today: date, years: int) -> date:
    """The first day the daily rollup keeps on `today`: 1 January of the year `years` before today's, so
    whole calendar years are kept and a report's "year to date" or "same month last year" is never cut."""
    return date(today.year - years, 1, 1)


def utc_midnight(day: date) -> datetime:
    """The day's start in UTC: a bare date compared with timestamptz would take the session's time zone."""
    return datetime.combine(day, time(0), UTC)
