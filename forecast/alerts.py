"""The alerts a forecast run may raise, each with a fingerprint that names it once per period (issue 17 item 4).

The caller inserts every draft with `on conflict (workspace_id, fingerprint) do nothing`: a rerun, a pulse
ten minutes later or a retried task finds the fingerprint taken and raises nothing twice.

    budget_threshold:<scope>:<scope_id>:<YYYY-MM>:<percent>    once per threshold and month
    forecast_over_budget:<scope>:<scope_id>:<YYYY-MM>          once per month
    spend_anomaly:<scope>:<scope_id>:<YYYY-MM-DDTHH>           once per UTC hour (see forecast.anomaly)

scope_id is '-' for the workspace. Amounts are integer nanos; details are JSON-ready (ints and strings).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from core.money import money
from core.periods import month_start
from forecast.anomaly import Anomaly
from forecast.scopes import ScopeForecast

KINDS = ("budget_threshold", "forecast_over_budget", "spend_anomaly")
DEFAULT_THRESHOLDS = (50, 80, 100)


@dataclass(frozen=True)
class AlertDraft:
    """An alert to insert into analysis.alerts (id, workspace_id and opened_at are the caller's)."""

    kind: str
    scope: str
    scope_id: int | None
    period: dt.date  # the month the alert belongs to (its first day)
    threshold_percent: int | None
    fingerprint: str
    amount_nanos: int
    details: dict[str, Any] = field(default_factory=dict)


def budget_threshold_fingerprint(scope: str, scope_id: int | None, period: dt.date, percent: int) -> str:
    return f"budget_threshold:{scope}:{_id(scope_id)}:{_month(period)}:{percent}"


def forecast_over_budget_fingerprint(scope: str, scope_id: int | None, period: dt.date) -> str:
    return f"forecast_over_budget:{scope}:{_id(scope_id)}:{_month(period)}"


def spend_anomaly_fingerprint(scope: str, scope_id: int | None, hour: dt.datetime) -> str:
    """`hour`: the UTC clock hour the anomalous window ends in (see Anomaly.hour)."""
    return f"spend_anomaly:{scope}:{_id(scope_id)}:{hour.astimezone(dt.UTC):%Y-%m-%dT%H}"


def crossed_thresholds(spent_nanos: int, budget_nanos: int | None,
                       thresholds_percent: Sequence[int] = DEFAULT_THRESHOLDS) -> list[int]:
    """The thresholds month to date has reached (spent ≥ percent × budget, in exact integers), lowest first.
    None without a budget or before anything is spent (a $0 budget is not crossed by $0)."""
    if budget_nanos is None or spent_nanos <= 0:
        return []
    if any(p <= 0 for p in thresholds_percent):
        raise ValueError(f"thresholds are positive percentages, got {list(thresholds_percent)}")
    return sorted({p for p in thresholds_percent if spent_nanos * 100 >= budget_nanos * p})


def budget_threshold_alerts(scope: ScopeForecast, thresholds_percent: Sequence[int] = DEFAULT_THRESHOLDS
                            ) -> list[AlertDraft]:
    """One draft per threshold crossed this month. All crossed ones are returned, not only the highest:
    the fingerprints of those already raised absorb them, and a first run that finds 85 % spent raises 50 %
    and 80 % once each, so neither is raised later."""
    spent, budget = scope.forecast.spent_nanos, scope.budget_nanos
    return [AlertDraft("budget_threshold", scope.scope, scope.scope_id, scope.period, percent,
                       budget_threshold_fingerprint(scope.scope, scope.scope_id, scope.period, percent), spent,
                       {"budget_nanos": budget, "spent_nanos": spent, "threshold_percent": percent,
                        "summary": f"{_name(scope)}: {money(spent)} spent in {scope.period:%B %Y}, "
                                   f"{percent} % of its {money(budget or 0)} budget reached"})
            for percent in crossed_thresholds(spent, budget, thresholds_percent)]


def forecast_over_budget_alert(scope: ScopeForecast) -> AlertDraft | None:
    """A draft when the month-end forecast is above the budget (status over_forecast or over_budget)."""
    f, budget = scope.forecast, scope.budget_nanos
    if budget is None or f.forecast_nanos <= budget or f.method in ("no_history", "complete"):
        return None
    return AlertDraft("forecast_over_budget", scope.scope, scope.scope_id, scope.period, None,
                      forecast_over_budget_fingerprint(scope.scope, scope.scope_id, scope.period), f.forecast_nanos,
                      {"budget_nanos": budget, "spent_nanos": f.spent_nanos, "forecast_nanos": f.forecast_nanos,
                       "low_nanos": f.low_nanos, "high_nanos": f.high_nanos, "method": f.method,
                       "summary": f"{_name(scope)}: {scope.period:%B %Y} is heading for {money(f.forecast_nanos)} "
                                  f"(80 %: {money(f.low_nanos)}–{money(f.high_nanos)}) against a "
                                  f"{money(budget)} budget; {money(f.spent_nanos)} spent so far"})


def spend_anomaly_alert(anomaly: Anomaly) -> AlertDraft:
    return AlertDraft("spend_anomaly", anomaly.scope, anomaly.scope_id, month_start(anomaly.window_end.date()), None,
                      spend_anomaly_fingerprint(anomaly.scope, anomaly.scope_id, anomaly.hour),
                      anomaly.amount_nanos,
                      {"window_start": anomaly.window_start.isoformat(), "window_end": anomaly.window_end.isoformat(),
                       "expected_nanos": anomaly.expected_nanos, "ceiling_nanos": anomaly.ceiling_nanos,
                       "excess_nanos": anomaly.amount_nanos - anomaly.expected_nanos, "summary": anomaly.why})


def forecast_alerts(scopes: Sequence[ScopeForecast], thresholds: dict[tuple[str, int | None], Sequence[int]]
                    | None = None) -> list[AlertDraft]:
    """Every budget alert of a forecast run: thresholds per (scope, scope_id) from meter.budgets, else 50/80/100."""
    drafts: list[AlertDraft] = []
    for scope in scopes:
        percent = (thresholds or {}).get((scope.scope, scope.scope_id), DEFAULT_THRESHOLDS)
        drafts += budget_threshold_alerts(scope, percent)
        over = forecast_over_budget_alert(scope)
        if over is not None:
            drafts.append(over)
    return drafts


def _id(scope_id: int | None) -> str:
    return "-" if scope_id is None else str(scope_id)


def _month(period: dt.date) -> str:
    if period.day != 1:
        raise ValueError(f"an alert's period is a month, named by its first day; got {period}")
    return f"{period:%Y-%m}"


def _name(scope: ScopeForecast) -> str:
    return "the workspace" if scope.scope_id is None else f"{scope.scope.replace('_', ' ')} {scope.scope_id}"
