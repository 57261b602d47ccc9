"""Budgets, forecasts and alerts, the pure part (issue 17): no SQL, no Celery, no HTTP.

    daily = DailySpend.from_days({date(2026, 3, 1): 41_000_000_000, ...}, first_day=paired_on)
    fc = forecast_month_end(daily, as_of_day=date(2026, 3, 14))            # Forecast, integer nanos
    fc = forecast_month_end(daily, now.date(), today_share=day_share(now, hourly))  # a pulse, mid-day
    rows = forecast_scopes(workspace, projects, cost_center_projects, Budgets(...), as_of_day)
    drafts = forecast_alerts(rows, thresholds)                              # budget alerts, fingerprinted
    anomaly = detect_anomaly(SpendBuckets("device", 7, end, 10, nanos))    # the last hour against history
"""

from forecast.alerts import (
    DEFAULT_THRESHOLDS,
    KINDS,
    AlertDraft,
    budget_threshold_alerts,
    budget_threshold_fingerprint,
    crossed_thresholds,
    forecast_alerts,
    forecast_over_budget_alert,
    forecast_over_budget_fingerprint,
    spend_anomaly_alert,
    spend_anomaly_alerts,
    spend_anomaly_fingerprint,
)
from forecast.anomaly import Anomaly, AnomalyRule, SpendBuckets, detect_anomalies, detect_anomaly
from forecast.model import METHODS, Forecast, forecast_month_end
from forecast.scopes import (
    FALLBACK_METHOD,
    SCOPES,
    STATUSES,
    Budgets,
    ScopeForecast,
    budget_status,
    cost_center_spend,
    forecast_scope,
    forecast_scopes,
    run_rate_forecast,
)
from forecast.series import DailySpend, day_share, month_days, sum_daily

__all__ = [
    "DEFAULT_THRESHOLDS",
    "FALLBACK_METHOD",
    "KINDS",
    "METHODS",
    "SCOPES",
    "STATUSES",
    "AlertDraft",
    "Anomaly",
    "AnomalyRule",
    "Budgets",
    "DailySpend",
    "Forecast",
    "ScopeForecast",
    "SpendBuckets",
    "budget_status",
    "budget_threshold_alerts",
    "budget_threshold_fingerprint",
    "cost_center_spend",
    "crossed_thresholds",
    "day_share",
    "detect_anomalies",
    "detect_anomaly",
    "forecast_alerts",
    "forecast_month_end",
    "forecast_over_budget_alert",
    "forecast_over_budget_fingerprint",
    "forecast_scope",
    "forecast_scopes",
    "month_days",
    "run_rate_forecast",
    "spend_anomaly_alert",
    "spend_anomaly_alerts",
    "spend_anomaly_fingerprint",
    "sum_daily",
]
