"""The alerts a forecast run may raise, each with a fingerprint that names it once per period (issue 17 item 4).

The caller inserts every draft with `on conflict (workspace_id, fingerprint) do nothing`: a rerun, a pulse
ten minutes later or a retried task finds the fingerprint taken and raises nothing twice.

    budget_threshold:<scope>:<scope_id>:<YYYY-MM>:<percent>    once per threshold and month
    forecast_over_budget:<scope>:<scope_id>:<YYYY-MM>          once per month
    spend_anomaly:<scope>:<scope_id>:<YYYY-MM-DDTHH>           once per UTC hour (see forecast.anomaly)

scope_id is '-' for the workspace. Amounts are integer nanos; details are JSON-ready (ints and strings).

One runaway loop, one alert (`spend_anomaly_alerts`). A loop runs on one device and is billed to a project, so
the rule often finds both anomalous in the same hour. The device's alert is the one raised, naming the project
in its details: the device is where the loop runs (a developer's machine, a CI runner), the one thing the
person reading the webhook has to go and stop, and its name says whom to ask; the project's figures say whose
budget it burns. A project's alert alone would send that person looking for the machine. So:

- a device's loop is billed to the project it spent most on in the window (none: its requests were not
  attributed);
- a project anomaly is folded into its devices' alerts when the devices whose loop is billed to it (found
  anomalous in this hour, or alerted over an overlapping one) spent at least half of the project's excess
  (its spend over what the hour usually costs) there; it is raised on its own only when no such device
  explains it (spend spread over machines none of which stands out);
- a device anomaly is not raised when its loop's project was already alerted as a project anomaly over an
  overlapping hour (the project tripped first, the device later): that alert was this loop's.

Fingerprints are those of the scope raised, so a rerun raises nothing twice; two loops on two devices are
two alerts, each naming its own project.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
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


def spend_anomaly_alert(anomaly: Anomaly, project: int | None = None, project_nanos: int = 0,
                        project_anomaly: Anomaly | None = None) -> AlertDraft:
    """The alert of one anomaly. For a device: `project` is the project its loop is billed to (what it spent
    there in the window: `project_nanos`), and `project_anomaly` that project's anomaly when folded into it."""
    details: dict[str, Any] = {
        "window_start": anomaly.window_start.isoformat(), "window_end": anomaly.window_end.isoformat(),
        "expected_nanos": anomaly.expected_nanos, "ceiling_nanos": anomaly.ceiling_nanos,
        "excess_nanos": _excess(anomaly), "summary": anomaly.why}
    if project is not None:
        details.update(project_id=project, project_nanos=project_nanos)
    if project_anomaly is not None:
        details["project_anomaly"] = {
            "amount_nanos": project_anomaly.amount_nanos, "expected_nanos": project_anomaly.expected_nanos,
            "ceiling_nanos": project_anomaly.ceiling_nanos, "excess_nanos": _excess(project_anomaly)}
        details["summary"] = (f"{anomaly.why}; project {project_anomaly.scope_id}, billed "
                              f"{money(project_nanos)} of it, is an anomaly too: "
                              f"{money(project_anomaly.amount_nanos)} in the hour against "
                              f"{money(project_anomaly.expected_nanos)} usually")
    return AlertDraft("spend_anomaly", anomaly.scope, anomaly.scope_id, month_start(anomaly.window_end.date()), None,
                      spend_anomaly_fingerprint(anomaly.scope, anomaly.scope_id, anomaly.hour),
                      anomaly.amount_nanos, details)


def spend_anomaly_alerts(anomalies: Sequence[Anomaly], device_project_nanos: Mapping[tuple[int, int], int],
                         alerted: Collection[tuple[str, int | None]] = ()) -> list[AlertDraft]:
    """The alerts of one hour's anomalies, one per loop (the module docstring says how).

    `device_project_nanos`: spend of each (device, project) in the anomalies' window, for the devices found
    anomalous and those in `alerted`; `alerted`: the (scope, id) already alerted over an overlapping hour,
    never raised again. Devices first, then the projects raised on their own, each by id."""
    devices = {a.scope_id: a for a in anomalies if a.scope == "device"}
    projects = {a.scope_id: a for a in anomalies if a.scope == "project"}
    looping = set(devices) | {i for scope, i in alerted if scope == "device" and i is not None}
    billed_to = _loop_projects(device_project_nanos, looping)
    folded: dict[int, Anomaly] = {}  # device -> the project anomaly its alert carries
    raised_alone = []
    for project_id, project in sorted(projects.items()):
        behind = [d for d, p in sorted(billed_to.items()) if p == project_id]
        explained = sum(device_project_nanos[(d, project_id)] for d in behind)
        if behind and 2 * explained >= _excess(project):
            folded.update({d: project for d in behind if d in devices})
        elif ("project", project_id) not in alerted:
            raised_alone.append(spend_anomaly_alert(project))
    drafts = []
    for device_id, device in sorted(devices.items()):
        billed = billed_to.get(device_id)
        if ("device", device_id) in alerted or ("project", billed) in alerted:
            continue  # this loop's alert is out already (as the device's, or as its project's)
        drafts.append(spend_anomaly_alert(
            device, billed, 0 if billed is None else device_project_nanos[(device_id, billed)],
            folded.get(device_id)))
    return drafts + raised_alone


def _loop_projects(device_project_nanos: Mapping[tuple[int, int], int], devices: Collection[int]) -> dict[int, int]:
    """The project each device spent most on (ties: the lowest id); devices with no attributed spend left out."""
    best: dict[int, tuple[int, int]] = {}
    for (device_id, project_id), nanos in device_project_nanos.items():
        if device_id in devices and nanos > 0 and (device_id not in best or (nanos, -project_id) > (
                best[device_id][1], -best[device_id][0])):
            best[device_id] = (project_id, nanos)
    return {device_id: project_id for device_id, (project_id, _) in best.items()}


def _excess(anomaly: Anomaly) -> int:
    return anomaly.amount_nanos - anomaly.expected_nanos


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
