"""The executive summary's month against its budget (issue 17 item 6): the month-end forecast and the budget
beside month to date for a month still running, what a finished month spent in all against its budget, nothing
without either; the words are the status worked out from the figures printed (store/report_reads.month_budget),
never a stored one."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from pdf import render
from pdf.model import MonthForecast, Signature
from pdf.outlook import outlook
from pdf.periods import Period
from store.report_reads import month_budget
from tests.unit.pdf_samples import executive_data
from tests.unit.pdf_text import pdf_text

DOLLAR = 1_000_000_000
UNSIGNED = Signature(signer=None, signing_time=None)
RUNNING = Period(date(2026, 12, 1), date(2026, 12, 7))  # the first six days of December: the month runs on
DECEMBER = date(2026, 12, 1)
FORECAST = MonthForecast(datetime(2026, 12, 7, 10, 0, tzinfo=UTC), 1_300 * DOLLAR, 5_900 * DOLLAR, 5_200 * DOLLAR,
                         6_700 * DOLLAR)
MONTH_TO_DATE = 1_234_567_890_123  # pdf_samples' this month: 1 to 6 December


def test_a_running_month_shows_the_forecast_and_its_interval_beside_month_to_date_and_the_budget() -> None:
    held = month_budget(DECEMBER, 5_000 * DOLLAR, MONTH_TO_DATE, FORECAST, over=False)
    data = replace(executive_data(RUNNING), month_budget=held)
    shown = outlook(data)
    assert shown is not None and shown.status == "over_forecast"
    assert shown.figure == ("Month-end forecast", "80 %: $5,200.00 – $6,700.00; budget $5,000.00", "$5,900.00")
    # one month to date: the forecast's is the summary's (to the end of 6 December) and what came after it
    assert shown.sentence.startswith("Budget $5,000.00 a month. Month-end forecast $5,900.00, 80 % likely between "
                                     "$5,200.00 and $6,700.00 (made 7 Dec 10:00 UTC, from $1,300.00 spent by then: "
                                     "the $1,234.57 above to the end of 6 Dec and $65.43 of 7 Dec so far)")
    assert shown.sentence.endswith("118 % of the budget, heading over the budget: the forecast is above it.")
    text = " ".join(pdf_text(render.render_executive(data, UNSIGNED).pdf).split())
    assert "Month-end forecast (80 %: $5,200.00 – $6,700.00; budget $5,000.00)" in text and "$5,900.00" in text
    assert "heading over the budget" in text


def test_a_forecast_made_days_after_the_period_or_before_its_end_says_so() -> None:
    early = Period(date(2026, 12, 1), date(2026, 12, 4))  # 1 to 3 December asked for on the 7th
    held = month_budget(DECEMBER, None, MONTH_TO_DATE, FORECAST, over=False)
    assert held is not None
    shown = outlook(replace(executive_data(early), month_budget=held))
    assert shown is not None and "the $1,234.57 above to the end of 3 Dec and $65.43 after it)" in shown.sentence
    quiet = replace(FORECAST, spent_nanos=MONTH_TO_DATE)  # nothing spent today yet
    shown = outlook(replace(executive_data(RUNNING), month_budget=replace(held, forecast=quiet)))
    assert shown is not None and "(made 7 Dec 10:00 UTC, from the $1,234.57 above, nothing spent on 7 Dec so far)" \
        in shown.sentence
    stale = replace(FORECAST, as_of=datetime(2026, 12, 5, 2, 0, tzinfo=UTC))  # before 6 December was over
    shown = outlook(replace(executive_data(RUNNING), month_budget=replace(held, forecast=stale)))
    assert shown is not None and "(made 5 Dec 02:00 UTC, from $1,300.00 spent by then)" in shown.sentence


def test_the_status_of_a_running_month_is_judged_from_the_printed_figures_against_the_printed_budget() -> None:
    # a forecast written before the budget was set was stored as 'no_budget': the summary never prints that,
    # but the status of the forecast's figures against the budget it prints
    for budget, status in [(7_000 * DOLLAR, "on_track"), (6_000 * DOLLAR, "at_risk"),
                           (5_000 * DOLLAR, "over_forecast"), (1_000 * DOLLAR, "over_budget"), (None, "no_budget")]:
        held = month_budget(DECEMBER, budget, MONTH_TO_DATE, FORECAST, over=False)
        assert held is not None and held.status == status
        shown = outlook(replace(executive_data(RUNNING), month_budget=held))
        assert shown is not None and shown.status == status


def test_a_finished_month_shows_what_it_spent_in_all_against_its_budget_and_no_forecast() -> None:
    november = date(2026, 11, 1)
    part = Period(november, date(2026, 11, 16))  # half the month asked for: the budget is held to all of it
    whole = 1_500 * DOLLAR
    spent = "November 2026 spent $1,500.00 in all (the whole month)"
    for budget, status, words in [
            (1_000 * DOLLAR, "over_budget", f"$1,000.00 a month: {spent}, 150 % of it: over the budget."),
            (2_000 * DOLLAR, "on_track", f"$2,000.00 a month: {spent}, 75 % of it: within the budget.")]:
        held = month_budget(november, budget, whole, None, over=True)
        assert held is not None and held.status == status
        # a forecast handed to a month that is over is never shown
        shown = outlook(replace(executive_data(part), month_budget=replace(held, forecast=FORECAST)))
        assert shown is not None and shown.figure is None and shown.status == status
        assert shown.sentence == f"Budget {words}"
    assert month_budget(november, None, whole, None, over=True) is None  # nothing to hold it to


def test_no_budget_and_no_forecast_shows_nothing_and_a_forecast_alone_says_there_is_no_budget() -> None:
    assert month_budget(DECEMBER, None, MONTH_TO_DATE, None, over=False) is None
    assert outlook(executive_data(RUNNING)) is None
    text = " ".join(pdf_text(render.render_executive(executive_data(RUNNING), UNSIGNED).pdf).split())
    assert "Month-end forecast" not in text
    alone = outlook(replace(executive_data(RUNNING),
                            month_budget=month_budget(DECEMBER, None, MONTH_TO_DATE, FORECAST, over=False)))
    assert alone is not None and alone.status == "no_budget" and alone.sentence.endswith("No monthly budget is set.")


def test_a_running_month_without_a_forecast_yet_shows_month_to_date_against_the_budget() -> None:
    held = month_budget(DECEMBER, 1_000 * DOLLAR, MONTH_TO_DATE, None, over=False)
    assert held is not None and held.status == "over_budget" and not held.over
    shown = outlook(replace(executive_data(RUNNING), month_budget=held))
    assert shown is not None and shown.figure is None
    assert shown.sentence == ("Budget $1,000.00 a month: this month to date has spent $1,234.57, 123 % of it; no "
                              "month-end forecast has been made yet.")
