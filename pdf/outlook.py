"""The executive summary's month against its budget (issue 17 item 6): the month-end forecast with its 80 %
interval and the budget beside month to date, never a bare month to date against a whole month's budget.

A month still running shows the forecast of the latest refresh or pulse (which counts today so far, while the
summary's figures stop at yesterday, so both say which moment they are of); a month that is over shows what it
spent against the budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from core.money import money
from core.periods import next_month
from pdf.model import ExecutiveData, SpanSpend

STATUS_WORDS = {
    "on_track": "on track: even the top of the interval stays within the budget",
    "at_risk": "at risk: the top of the interval is above the budget",
    "over_forecast": "heading over the budget: the forecast is above it",
    "over_budget": "over budget already: month to date is above it",
}


@dataclass(frozen=True)
class Outlook:
    figure: tuple[str, str, str] | None  # a headline figure: (label, what it is, amount)
    sentence: str  # under the spend table
    status: str  # a STATUS_WORDS key, or 'no_budget'


def outlook(data: ExecutiveData) -> Outlook | None:
    """The month against its budget, or None when there is neither a forecast nor a budget to show."""
    month = data.this_month
    running = month.end < next_month(month.start)
    forecast = data.forecast if running else None
    budget = data.budget_nanos
    if forecast is None:
        return None if budget is None else _budget_only(month, budget, running)
    interval = f"80 %: {money(forecast.low_nanos)} – {money(forecast.high_nanos)}"
    at = f"{forecast.as_of.day} {forecast.as_of:%b %H:%M} UTC"
    counted = (f"Month-end forecast {money(forecast.forecast_nanos)}, 80 % likely between "
               f"{money(forecast.low_nanos)} and {money(forecast.high_nanos)} (as of {at}, from "
               f"{money(forecast.spent_nanos)} spent by then, today so far included)")
    if budget is None:
        return Outlook(("Month-end forecast", interval, money(forecast.forecast_nanos)),
                       f"{counted}. No monthly budget is set.", "no_budget")
    status = forecast.status if forecast.status in STATUS_WORDS else "on_track"
    return Outlook(
        ("Month-end forecast", f"{interval}; budget {money(budget)}", money(forecast.forecast_nanos)),
        f"Budget {money(budget)} a month. {counted}: {_percent(forecast.forecast_nanos, budget)} of the budget, "
        f"{STATUS_WORDS[status]}.", status)


def _percent(part: int, whole: int) -> str:
    return f"{(Decimal(part) * 100 / Decimal(whole)).quantize(Decimal(1), ROUND_HALF_UP)} %"


def _budget_only(month: SpanSpend, budget: int, running: bool) -> Outlook:
    """No forecast (a closed month, or none made yet this month): the budget and what is spent of it."""
    status = "over_budget" if month.cost_nanos > budget else "on_track"
    if running:  # no forecast yet (no refresh since the month began): the budget and what is spent of it
        return Outlook(None, f"Budget {money(budget)} a month: {month.label.lower()} to date has spent "
                             f"{money(month.cost_nanos)}, {_percent(month.cost_nanos, budget)} of it; no "
                             "month-end forecast has been made yet.", status)
    return Outlook(None, f"Budget {money(budget)} a month: {month.label.lower()} spent {money(month.cost_nanos)}, "
                         f"{_percent(month.cost_nanos, budget)} of it.", status)
