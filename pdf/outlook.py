"""The executive summary's month against its budget (issue 17 item 6): the month-end forecast with its 80 %
interval and the budget beside month to date, never a bare month to date against a whole month's budget.

A month still running shows the forecast of the latest refresh or pulse, which counts today so far while the
summary's figures stop at the end of the last whole day: the sentence gives the forecast's month to date as
the summary's and what was spent after it, so the page has one month to date. A month that is over shows what it
spent in all against the budget, never a forecast made while it ran. The status printed is the one
store/report_reads.py worked out from these very figures (pdf.model.MonthBudget), so the words always agree
with the amounts beside them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from core.money import money
from pdf.model import ExecutiveData, MonthBudget, MonthForecast, SpanSpend

STATUS_WORDS = {
    "on_track": "on track: even the top of the interval stays within the budget",
    "at_risk": "at risk: the top of the interval is above the budget",
    "over_forecast": "heading over the budget: the forecast is above it",
    "over_budget": "over budget already: month to date is above it",
}
# a month without a forecast (over, or none made yet) is judged on what it spent alone
SPENT_WORDS = {"on_track": "within the budget", "over_budget": "over the budget"}


@dataclass(frozen=True)
class Outlook:
    figure: tuple[str, str, str] | None  # a headline figure: (label, what it is, amount)
    sentence: str  # under the spend table
    status: str  # a STATUS_WORDS key, or 'no_budget'


def outlook(data: ExecutiveData) -> Outlook | None:
    """The month against its budget, or None when there is neither a forecast nor a budget to show."""
    held = data.month_budget
    if held is None:
        return None
    forecast = None if held.over else held.forecast  # a month that is over is held to what it spent
    if forecast is None:
        return None if held.budget_nanos is None else _spent_only(held, held.budget_nanos, data.this_month)
    interval = f"80 %: {money(forecast.low_nanos)} – {money(forecast.high_nanos)}"
    counted = (f"Month-end forecast {money(forecast.forecast_nanos)}, 80 % likely between "
               f"{money(forecast.low_nanos)} and {money(forecast.high_nanos)} ({_made(forecast, data.this_month)})")
    if held.budget_nanos is None:
        return Outlook(("Month-end forecast", interval, money(forecast.forecast_nanos)),
                       f"{counted}. No monthly budget is set.", held.status)
    budget = held.budget_nanos
    return Outlook(
        ("Month-end forecast", f"{interval}; budget {money(budget)}", money(forecast.forecast_nanos)),
        f"Budget {money(budget)} a month. {counted}: {_percent(forecast.forecast_nanos, budget)} of the budget, "
        f"{STATUS_WORDS[held.status]}.", held.status)


def _made(forecast: MonthForecast, month: SpanSpend) -> str:
    """When the forecast was made and the month to date it starts from, told as the summary's month to date
    (the figure above, to the end of the last whole day) and what was spent after it (today so far), so the
    summary has one month to date; plainly when the forecast was made before the summary's last day ended."""
    at = f"{forecast.as_of.day} {forecast.as_of:%b %H:%M} UTC"
    after = forecast.spent_nanos - month.cost_nanos
    if forecast.as_of.date() < month.end or after < 0:
        return f"made {at}, from {money(forecast.spent_nanos)} spent by then"
    last = month.end - timedelta(days=1)
    when = f"of {forecast.as_of.day} {forecast.as_of:%b} so far" if forecast.as_of.date() == month.end else "after it"
    if after == 0:
        return f"made {at}, from the {money(month.cost_nanos)} above, nothing spent {when.replace('of ', 'on ', 1)}"
    return (f"made {at}, from {money(forecast.spent_nanos)} spent by then: the {money(month.cost_nanos)} above to "
            f"the end of {last.day} {last:%b} and {money(after)} {when}")


def _percent(part: int, whole: int) -> str:
    return f"{(Decimal(part) * 100 / Decimal(whole)).quantize(Decimal(1), ROUND_HALF_UP)} %"


def _spent_only(held: MonthBudget, budget: int, month: SpanSpend) -> Outlook:
    """No forecast to show: a month that is over (its whole spend), or one with no forecast made yet (month to
    date), against the budget."""
    words = SPENT_WORDS.get(held.status, held.status.replace("_", " "))
    spent = money(held.spent_nanos)
    share = _percent(held.spent_nanos, budget)
    if held.over:
        return Outlook(None, f"Budget {money(budget)} a month: {held.month:%B %Y} spent {spent} in all (the whole "
                             f"month), {share} of it: {words}.", held.status)
    return Outlook(None, f"Budget {money(budget)} a month: {month.label.lower()} to date has spent {spent}, {share} "
                         "of it; no month-end forecast has been made yet.", held.status)
