"""The executive summary's month against its budget (issue 17 item 6): the month-end forecast and the budget
beside month to date for a month still running, what a finished month spent of its budget, nothing without
either."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from pdf import render
from pdf.model import MonthForecast, Signature
from pdf.outlook import outlook
from pdf.periods import Period
from tests.unit.pdf_samples import executive_data
from tests.unit.pdf_text import pdf_text

DOLLAR = 1_000_000_000
UNSIGNED = Signature(signer=None, signing_time=None)
RUNNING = Period(date(2026, 12, 1), date(2026, 12, 7))  # the first six days of December: the month runs on
FORECAST = MonthForecast(datetime(2026, 12, 7, 10, 0, tzinfo=UTC), 1_300 * DOLLAR, 5_900 * DOLLAR, 5_200 * DOLLAR,
                         6_700 * DOLLAR, "over_forecast")


def test_a_running_month_shows_the_forecast_and_its_interval_beside_month_to_date_and_the_budget() -> None:
    data = replace(executive_data(RUNNING), budget_nanos=5_000 * DOLLAR, forecast=FORECAST)
    shown = outlook(data)
    assert shown is not None and shown.status == "over_forecast"
    assert shown.figure == ("Month-end forecast", "80 %: $5,200.00 – $6,700.00; budget $5,000.00", "$5,900.00")
    assert shown.sentence.startswith("Budget $5,000.00 a month. Month-end forecast $5,900.00, 80 % likely between "
                                     "$5,200.00 and $6,700.00 (as of 7 Dec 10:00 UTC, from $1,300.00 spent")
    assert shown.sentence.endswith("118 % of the budget, heading over the budget: the forecast is above it.")
    text = " ".join(pdf_text(render.render_executive(data, UNSIGNED).pdf).split())
    assert "Month-end forecast (80 %: $5,200.00 – $6,700.00; budget $5,000.00)" in text and "$5,900.00" in text
    assert "heading over the budget" in text


def test_a_finished_month_shows_what_it_spent_of_its_budget_and_no_forecast() -> None:
    october = Period(date(2026, 10, 1), date(2026, 11, 1))
    data = replace(executive_data(october), budget_nanos=1_000 * DOLLAR, forecast=FORECAST)
    shown = outlook(data)
    assert shown is not None and shown.figure is None and shown.status == "over_budget"
    assert shown.sentence == "Budget $1,000.00 a month: this month spent $1,234.57, 123 % of it."


def test_no_budget_and_no_forecast_shows_nothing_and_a_forecast_alone_says_there_is_no_budget() -> None:
    assert outlook(executive_data(RUNNING)) is None
    text = " ".join(pdf_text(render.render_executive(executive_data(RUNNING), UNSIGNED).pdf).split())
    assert "Month-end forecast" not in text
    alone = outlook(replace(executive_data(RUNNING), forecast=replace(FORECAST, status="no_budget")))
    assert alone is not None and alone.status == "no_budget" and alone.sentence.endswith("No monthly budget is set.")
