"""Budget thresholds crossed in exact integers, and fingerprints that name each alert once per period."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest

from forecast import (
    Anomaly,
    DailySpend,
    Forecast,
    ScopeForecast,
    budget_status,
    crossed_thresholds,
    forecast_alerts,
    forecast_over_budget_alert,
    forecast_scope,
    spend_anomaly_alert,
    spend_anomaly_alerts,
)

DOLLAR = 1_000_000_000
MARCH = dt.date(2026, 3, 1)


def scope(spent: int, forecast: int, budget: int | None, scope_id: int | None = 5) -> ScopeForecast:
    f = Forecast(spent, forecast, spent, forecast + forecast // 10, "robust_level_weekly", 91)
    name = "workspace" if scope_id is None else "project"
    return ScopeForecast(name, scope_id, MARCH, f, budget, budget_status(f, budget))


@pytest.mark.parametrize(("spent", "crossed"), [
    (0, []),
    (49_999_999_999, []),  # one nano short of 50 % of $100
    (50 * DOLLAR, [50]),  # reaching a threshold crosses it
    (80 * DOLLAR, [50, 80]),
    (99_999_999_999, [50, 80]),
    (100 * DOLLAR, [50, 80, 100]),
    (250 * DOLLAR, [50, 80, 100]),
])
def test_thresholds_crossed_by_month_to_date(spent: int, crossed: list[int]) -> None:
    assert crossed_thresholds(spent, 100 * DOLLAR) == crossed


def test_no_budget_or_nothing_spent_crosses_nothing_and_custom_thresholds_are_kept() -> None:
    assert crossed_thresholds(10 * DOLLAR, None) == []
    assert crossed_thresholds(0, 0) == []
    assert crossed_thresholds(1, 0) == [50, 80, 100]
    assert crossed_thresholds(95 * DOLLAR, 100 * DOLLAR, [90, 25, 120]) == [25, 90]
    with pytest.raises(ValueError, match="positive"):
        crossed_thresholds(1, 100, [0, 50])


def test_threshold_alerts_carry_one_fingerprint_per_scope_month_and_percent() -> None:
    drafts = forecast_alerts([scope(85 * DOLLAR, 90 * DOLLAR, 100 * DOLLAR)])
    assert [d.fingerprint for d in drafts] == ["budget_threshold:project:5:2026-03:50",
                                               "budget_threshold:project:5:2026-03:80"]
    assert [d.threshold_percent for d in drafts] == [50, 80]
    assert all(d.amount_nanos == 85 * DOLLAR and d.period == MARCH for d in drafts)
    assert "$85.00 spent in March 2026, 80 % of its $100.00 budget reached" in drafts[1].details["summary"]


def test_rerunning_through_the_month_names_every_alert_once() -> None:
    """Every daily run returns all alerts still true; the fingerprints, inserted with on-conflict-do-nothing,
    make one alert of each: 50, 80 and 100 % once, forecast over budget once."""
    raised: dict[str, int] = {}
    for day, (spent, forecast) in enumerate([(40, 95), (55, 105), (60, 110), (85, 110), (101, 115), (101, 115)]):
        for draft in forecast_alerts([scope(spent * DOLLAR, forecast * DOLLAR, 100 * DOLLAR)]):
            raised.setdefault(draft.fingerprint, day)
    assert raised == {"forecast_over_budget:project:5:2026-03": 1, "budget_threshold:project:5:2026-03:50": 1,
                      "budget_threshold:project:5:2026-03:80": 3, "budget_threshold:project:5:2026-03:100": 4}


def test_the_same_alert_next_month_is_a_new_one() -> None:
    in_march = scope(90 * DOLLAR, 120 * DOLLAR, 100 * DOLLAR, scope_id=None)
    march = forecast_alerts([in_march])
    april = forecast_alerts([dataclasses.replace(in_march, period=dt.date(2026, 4, 1))])
    assert {d.fingerprint for d in march} == {"budget_threshold:workspace:-:2026-03:50",
                                              "budget_threshold:workspace:-:2026-03:80",
                                              "forecast_over_budget:workspace:-:2026-03"}
    assert not {d.fingerprint for d in march} & {d.fingerprint for d in april}


def test_forecast_over_budget_only_when_the_forecast_is_above_it() -> None:
    assert forecast_over_budget_alert(scope(10 * DOLLAR, 100 * DOLLAR, 100 * DOLLAR)) is None
    assert forecast_over_budget_alert(scope(10 * DOLLAR, 120 * DOLLAR, None)) is None
    draft = forecast_over_budget_alert(scope(10 * DOLLAR, 100 * DOLLAR + 1, 100 * DOLLAR))
    assert draft is not None and draft.amount_nanos == 100 * DOLLAR + 1
    assert draft.details["budget_nanos"] == 100 * DOLLAR and draft.details["method"] == "robust_level_weekly"


def test_a_real_forecast_heading_over_budget_raises_both_kinds() -> None:
    daily = DailySpend(dt.date(2026, 1, 1), np.full(73, 5 * DOLLAR, dtype=np.int64))  # $5 a day through March 14
    row = forecast_scope("workspace", None, daily, 120 * DOLLAR, dt.date(2026, 3, 14))
    assert row.status == "over_forecast"  # $70 spent, about $155 expected
    kinds = sorted((d.kind, d.threshold_percent) for d in forecast_alerts([row]))
    assert kinds == [("budget_threshold", 50), ("forecast_over_budget", None)]


def anomaly_ending(end: dt.datetime) -> Anomaly:
    return Anomaly("device", 7, end - dt.timedelta(hours=1), end, 80 * DOLLAR, DOLLAR, 10 * DOLLAR, "a loop")


def test_an_anomaly_is_named_once_per_scope_and_utc_hour() -> None:
    at = dt.datetime(2026, 3, 14, 15, 10, tzinfo=dt.UTC)
    keys = [spend_anomaly_alert(anomaly_ending(at + dt.timedelta(minutes=10 * k))).fingerprint for k in range(7)]
    # pulses whose hour ends 15:10 ... 16:00 name the hour 15; the one ending 16:10, the hour 16
    assert keys == ["spend_anomaly:device:7:2026-03-14T15"] * 6 + ["spend_anomaly:device:7:2026-03-14T16"]
    draft = spend_anomaly_alert(anomaly_ending(at))
    assert (draft.kind, draft.scope, draft.scope_id, draft.period, draft.amount_nanos) == (
        "spend_anomaly", "device", 7, MARCH, 80 * DOLLAR)
    assert draft.details["excess_nanos"] == 79 * DOLLAR


def loop(scope: str, scope_id: int, amount: int, expected: int = DOLLAR // 10,
         end: dt.datetime = dt.datetime(2026, 3, 14, 15, 40, tzinfo=dt.UTC)) -> Anomaly:
    return Anomaly(scope, scope_id, end - dt.timedelta(hours=1), end, amount, expected, 5 * DOLLAR, "a loop")


def test_a_loop_on_a_device_and_its_project_is_one_alert_of_the_device_naming_the_project() -> None:
    found = [loop("device", 7, 80 * DOLLAR), loop("project", 3, 81 * DOLLAR)]
    [draft] = spend_anomaly_alerts(found, {(7, 3): 80 * DOLLAR, (7, 4): DOLLAR})
    assert (draft.scope, draft.scope_id, draft.fingerprint) == ("device", 7, "spend_anomaly:device:7:2026-03-14T15")
    assert draft.details["project_id"] == 3 and draft.details["project_nanos"] == 80 * DOLLAR
    assert draft.details["project_anomaly"]["excess_nanos"] == 81 * DOLLAR - DOLLAR // 10
    assert draft.details["summary"] == ("a loop; project 3, billed $80.00 of it, is an anomaly too: $81.00 in the "
                                        "hour against $0.10 usually")


def test_two_loops_in_two_projects_are_two_alerts_and_an_unexplained_project_is_its_own() -> None:
    found = [loop("device", 7, 80 * DOLLAR), loop("device", 8, 60 * DOLLAR), loop("project", 3, 81 * DOLLAR),
             loop("project", 4, 61 * DOLLAR), loop("project", 5, 90 * DOLLAR)]
    drafts = spend_anomaly_alerts(found, {(7, 3): 80 * DOLLAR, (8, 4): 60 * DOLLAR, (8, 5): 2 * DOLLAR})
    assert [(d.scope, d.scope_id, d.details.get("project_id")) for d in drafts] == [
        ("device", 7, 3), ("device", 8, 4), ("project", 5, None)]  # project 5: spread, no device stands out
    assert "project_anomaly" not in drafts[2].details


def test_a_device_explaining_less_than_half_of_its_projects_excess_leaves_the_project_its_own_alert() -> None:
    found = [loop("device", 7, 30 * DOLLAR), loop("project", 3, 100 * DOLLAR, expected=20 * DOLLAR)]
    drafts = spend_anomaly_alerts(found, {(7, 3): 30 * DOLLAR})  # $30 of an $80 excess
    assert [(d.scope, d.scope_id) for d in drafts] == [("device", 7), ("project", 3)]
    assert drafts[0].details["project_id"] == 3 and "project_anomaly" not in drafts[0].details


def test_a_loop_alerted_on_one_scope_is_not_raised_on_the_other_later_in_its_hour() -> None:
    # the device tripped first and was alerted; ten minutes later its project trips too: nothing new
    later = [loop("device", 7, 90 * DOLLAR), loop("project", 3, 91 * DOLLAR)]
    assert spend_anomaly_alerts(later, {(7, 3): 90 * DOLLAR}, {("device", 7)}) == []
    assert spend_anomaly_alerts([loop("project", 3, 91 * DOLLAR)], {(7, 3): 90 * DOLLAR}, {("device", 7)}) == []
    # the project tripped first (a busy device: its own bar is higher) and was alerted; then the device
    assert spend_anomaly_alerts(later, {(7, 3): 90 * DOLLAR, (7, 4): 20 * DOLLAR}, {("project", 3)}) == []
    # another device's loop in another project is another alert
    other = spend_anomaly_alerts([loop("device", 8, 50 * DOLLAR)], {(8, 4): 50 * DOLLAR}, {("project", 3)})
    assert [(d.scope, d.scope_id) for d in other] == [("device", 8)]


def test_a_device_loop_without_attributed_requests_names_no_project() -> None:
    [draft] = spend_anomaly_alerts([loop("device", 7, 80 * DOLLAR)], {})
    assert draft.scope == "device" and "project_id" not in draft.details
    assert draft == spend_anomaly_alert(loop("device", 7, 80 * DOLLAR))
