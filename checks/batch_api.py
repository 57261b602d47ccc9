"""batch-api: standard-tier traffic that nobody waits for, which the batch tier would bill at about half.

Rule: per project and model on the standard tier whose model offers the batch tier: at least 100
requests, on at least 7 distinct days, with at least 80 % of them in the workspace's local night
(00:00-06:00), the timing of scheduled jobs (nightly, cron-like) rather than of people waiting.
Saving: the requests priced as they ran minus the same requests priced on the batch tier, scaled to a
30-day month. Rows whose model has no batch price are left out and counted in the evidence.
Confidence: high when at least 95 % of the requests run at night, medium otherwise.
"""

from __future__ import annotations

import numpy as np

from checks.base import (
    Check,
    CheckInputs,
    Finding,
    delta,
    dollars,
    groups,
    price,
    project_or_none,
    samples,
    unpriced_evidence,
)

ID = "batch-api"
MIN_REQUESTS = 100
MIN_DAYS = 7
NIGHT_HOURS = range(0, 6)
MIN_NIGHT_SHARE = 0.8


def run(inputs: CheckInputs) -> list[Finding]:
    findings: list[Finding] = []
    frame = inputs.successful
    frame = frame[(frame["service_tier"] == "standard") & (frame["project_id"] >= 0)]
    if not len(frame):
        return findings
    local = frame["started_at"].dt.tz_convert(inputs.timezone)
    night = np.isin(local.dt.hour.to_numpy(), list(NIGHT_HOURS))
    days = local.dt.date
    for (project_id, model), rows in groups(frame, ["project_id", "model"]):
        info = inputs.rates.model_info(str(model), at=inputs.as_of)
        if info is None or "batch" not in info.rates or len(rows) < MIN_REQUESTS:
            continue
        share = float(night[frame.index.get_indexer(rows.index)].mean())
        if share < MIN_NIGHT_SHARE or days.loc[rows.index].nunique() < MIN_DAYS:
            continue
        d = delta(price(rows, inputs.rates), price(rows, inputs.rates, service_tier="batch"))
        monthly = inputs.monthly(d.saving_nanos)
        if monthly <= 0:
            continue
        label = inputs.project_label(int(project_id))
        devices = sorted({inputs.device_label(int(x)) for x in rows["device_id"].unique()})
        findings.append(Finding(
            check_id=ID, project_id=project_or_none(int(project_id)), subject=f"{model}:standard->batch",
            title=f"Send {label}'s nightly {model} traffic through the batch API",
            rationale=(f"{share:.0%} of {len(rows):,} standard-tier requests run between 00:00 and 06:00 local "
                       f"time from {', '.join(devices[:3])}: {dollars(d.actual_nanos)} now, "
                       f"{dollars(d.counterfactual_nanos)} at batch prices."),
            monthly_saving_nanos=monthly, confidence="high" if share >= 0.95 else "medium",
            request_count=len(rows), sample_request_ids=samples(rows), model=str(model),
            evidence={"model": str(model), "night_share": round(share, 4), "devices": devices,
                      "actual_nanos": d.actual_nanos, "counterfactual_nanos": d.counterfactual_nanos,
                      "window_saving_nanos": d.saving_nanos, "days_observed": inputs.days_observed,
                      "counterfactual": {"kind": "tier", "model": str(model), "from": "standard", "to": "batch"},
                      **unpriced_evidence(d)},
        ))
    return findings


CHECK = Check(ID, "Use the batch API", "Scheduled traffic nobody waits for, on the standard tier, that the "
              "batch tier bills at about half.", ("tier", "cost"), run)
