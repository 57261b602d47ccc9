"""The history the rollup keeps (HALTON_ROLLUP_HISTORY_YEARS) and the reports refused beyond it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from core.errors import UserError
from core.periods import history_start
from pdf.periods import Period, add_years, refuse_before_history
from store.incremental import DayWindow
from store.rollup import DEFAULT_HISTORY_YEARS, history_window
from workers.settings import RollupSettings

TODAY = date(2026, 11, 20)
FIRST_KEPT = history_start(TODAY, DEFAULT_HISTORY_YEARS)
SETTING = "HALTON_ROLLUP_HISTORY_YEARS=4 calendar years before this one"


def test_the_history_kept_is_whole_calendar_years_before_the_current_one() -> None:
    assert history_start(TODAY, 4) == date(2022, 1, 1)
    assert history_start(date(2027, 1, 1), 4) == date(2023, 1, 1)
    # up to today inclusive: the rollup keeps today so far (issue 17)
    assert history_window(datetime(2026, 11, 20, 2, tzinfo=UTC)) == DayWindow(date(2022, 1, 1),
                                                                          TODAY + timedelta(days=1))


def test_the_default_keeps_at_least_two_calendar_years_and_is_the_rollups_default() -> None:
    assert RollupSettings().history_years == DEFAULT_HISTORY_YEARS >= 2


@pytest.mark.parametrize("kind", ["project", "executive"])
def test_the_longest_report_of_the_last_two_years_and_its_comparisons_are_kept_by_default(kind: str) -> None:
    for today in (TODAY, date(2027, 1, 1), date(2026, 12, 31), date(2028, 3, 1)):
        period = Period(add_years(today, -2), today)  # two years to yesterday, the longest a report covers
        refuse_before_history(period, kind, history_start(today, DEFAULT_HISTORY_YEARS), SETTING)


def test_a_period_starting_before_the_first_day_kept_is_refused_saying_which_setting() -> None:
    with pytest.raises(UserError, match=r"starts before 2022-01-01, the first day the rollup keeps "
                                        r"\(HALTON_ROLLUP_HISTORY_YEARS=4"):
        refuse_before_history(Period(date(2021, 12, 1), date(2022, 1, 1)), "project", FIRST_KEPT, SETTING)


def test_a_report_comparing_with_days_before_the_first_kept_is_refused() -> None:
    january = Period(date(2022, 1, 1), date(2022, 2, 1))
    with pytest.raises(UserError, match="compares with days from 2021-12-01, before 2022-01-01"):
        refuse_before_history(january, "project", FIRST_KEPT, SETTING)
    # a day's executive summary reads last month too; a project report of that day only the day before
    one_day = Period(date(2022, 1, 20), date(2022, 1, 21))
    refuse_before_history(one_day, "project", FIRST_KEPT, SETTING)
    with pytest.raises(UserError, match="compares with days from 2021-12-01"):
        refuse_before_history(one_day, "executive", FIRST_KEPT, SETTING)
    refuse_before_history(Period(date(2022, 2, 1), date(2022, 3, 1)), "executive", FIRST_KEPT, SETTING)
