"""An alert as it leaves the fleet: the fields a receiver gets, and the sentence a person reads.

The deliver task fills an `AlertNotice` from `analysis.alerts` and the names of its workspace and scope;
`webhook_payload` is the JSON a webhook receives, `adapters/slack.py` the message a Slack channel shows.
Amounts travel as integer nanos (exact) beside dollars to the cent (core.money), never as floats.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.money import cents, money

PAYLOAD_VERSION = 1

TITLES = {
    "budget_threshold": "Budget threshold crossed",
    "forecast_over_budget": "Forecast over budget",
    "spend_anomaly": "Spend anomaly",
}
SCOPE_WORDS = {"workspace": "workspace", "project": "project", "cost_center": "cost center", "device": "device"}


@dataclass(frozen=True)
class AlertNotice:
    """One alert of `analysis.alerts`, with the names a person recognises."""

    alert_id: int
    workspace_id: int
    workspace_slug: str
    workspace_name: str
    kind: str  # 'budget_threshold' | 'forecast_over_budget' | 'spend_anomaly'
    scope: str  # 'workspace' | 'project' | 'cost_center' | 'device'
    scope_id: int | None
    scope_name: str | None  # the project's, cost center's or device's name; None for the workspace
    period: dt.date  # the month's first day
    opened_at: dt.datetime  # timezone-aware
    # budget_threshold: month to date; forecast_over_budget: the month-end forecast;
    # spend_anomaly: the spend in the window
    amount_nanos: int
    budget_nanos: int | None = None
    threshold_percent: int | None = None
    expected_nanos: int | None = None  # spend_anomaly: what the history predicts for the window
    window_minutes: int | None = None  # spend_anomaly
    details: Mapping[str, Any] = field(default_factory=dict)  # analysis.alerts.details, passed on as JSON
    dashboard_url: str | None = None  # where a person sees the alert, when the task knows it

    def __post_init__(self) -> None:
        if self.kind not in TITLES:
            raise ValueError(f"unknown alert kind {self.kind!r}")
        if self.scope not in SCOPE_WORDS:
            raise ValueError(f"unknown alert scope {self.scope!r}")
        if self.opened_at.tzinfo is None:
            raise ValueError("opened_at must be timezone-aware")


def title(notice: AlertNotice) -> str:
    if notice.kind == "budget_threshold" and notice.threshold_percent is not None:
        return f"Budget {notice.threshold_percent}% reached"
    return TITLES[notice.kind]


def scope_text(notice: AlertNotice) -> str:
    """'Project checkout-api', 'Workspace Acme' (names as given; the caller escapes for its medium)."""
    name = notice.workspace_name if notice.scope == "workspace" else (notice.scope_name or f"#{notice.scope_id}")
    return f"{SCOPE_WORDS[notice.scope].capitalize()} {name}"


def month_text(period: dt.date) -> str:
    return period.strftime("%B %Y")


def headline(notice: AlertNotice, scope: str | None = None) -> str:
    """The alert in one sentence. `scope` replaces scope_text(notice) (Slack passes it escaped)."""
    who = scope if scope is not None else scope_text(notice)
    month = month_text(notice.period)
    budget = f"{money(notice.budget_nanos)} " if notice.budget_nanos is not None else ""
    if notice.kind == "budget_threshold":
        return f"{who} has spent {money(notice.amount_nanos)} of its {budget}budget for {month}."
    if notice.kind == "forecast_over_budget":
        return f"{who} is forecast to spend {money(notice.amount_nanos)} in {month}, over its {budget}budget."
    window = f"the last {notice.window_minutes} minutes" if notice.window_minutes else "the last hour"
    expected = (f"; its history predicts about {money(notice.expected_nanos)}"
                if notice.expected_nanos is not None else "")
    return f"{who} spent {money(notice.amount_nanos)} in {window}{expected}."


def webhook_payload(notice: AlertNotice, event_id: str) -> dict[str, Any]:
    """The JSON body of an alert webhook (docs/WEBHOOKS.md describes each field)."""
    return {
        "id": event_id,
        "type": f"alert.{notice.kind}",
        "version": PAYLOAD_VERSION,
        "created_at": _rfc3339(notice.opened_at),
        "summary": f"{title(notice)}. {headline(notice)}",
        "workspace": {"id": notice.workspace_id, "slug": notice.workspace_slug, "name": notice.workspace_name},
        "alert": {
            "id": notice.alert_id,
            "kind": notice.kind,
            "scope": notice.scope,
            "scope_id": notice.scope_id,
            "scope_name": notice.scope_name,
            "period": notice.period.isoformat(),
            "opened_at": _rfc3339(notice.opened_at),
            "threshold_percent": notice.threshold_percent,
            **_amount("amount", notice.amount_nanos),
            **_amount("budget", notice.budget_nanos),
            **_amount("expected", notice.expected_nanos),
            "window_minutes": notice.window_minutes,
            "details": dict(notice.details),
            "url": notice.dashboard_url,
        },
    }


def _amount(name: str, nanos: int | None) -> dict[str, Any]:
    """'<name>_nanos' exact and '<name>_usd' to the cent as a decimal string, or both null."""
    return {f"{name}_nanos": nanos, f"{name}_usd": None if nanos is None else str(cents(nanos))}


def _rfc3339(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
