"""batch-api: standard-tier traffic that nobody waits for, which the batch tier would bill at about half.

Rule: per project and model on the standard tier whose model offers the batch tier: at least 100
requests, on at least 7 distinct days, with at least 80 % of them in the workspace's local night
(00:00-06:00), the timing of scheduled jobs (nightly, cron-like) rather than of people waiting.
Saving: the requests priced as they ran minus the same requests priced on the batch tier, scaled to a
30-day month (lever: TIER). Rows whose model has no batch price are left out and counted in the evidence.
Confidence: high when at least 95 % of the requests run at night, medium otherwise.
"""

from __future__ import annotations

import numpy as np

from checks import kit

ID = "batch-api"
MIN_REQUESTS = 100
MIN_DAYS = 7
MIN_NIGHT_SHARE = 0.8


def run(inputs: kit.CheckInputs) -> list[kit.Finding]:
    findings: list[kit.Finding] = []
    if not inputs.usage.group_rows:
        return findings
    # in numpy (the groups' columns as arrays): each pandas comparison (and a cast of the tier) costs a tenth of a
    # millisecond however few the rows
    groups = inputs.usage.columns
    tier = np.asarray(groups["service_tier"], dtype=object)
    rows = (groups["status_code"] == 200) & (tier == "standard") & (groups["project_id"] >= 0)
    requests = groups["requests"][rows]
    by = kit.Grouping.of(groups, ["project_id", "model"], rows=rows)
    per = {"requests": by.sum(requests), "night": by.sum(np.where(groups["night"][rows], requests, 0)),
           "days": by.nunique(np.asarray(groups["local_day"])[rows])}
    for project_id, model, row in kit.grouped_rows(by, per):
        info = inputs.rates.model_info(model, at=inputs.as_of)
        count = int(row["requests"])
        if info is None or "batch" not in info.rates or count < MIN_REQUESTS:
            continue
        share = int(row["night"]) / count
        if share < MIN_NIGHT_SHARE or int(row["days"]) < MIN_DAYS:
            continue
        quote = kit.quote(inputs, project_id, model, kit.on_tier("standard", "batch"), service_tier="standard")
        if quote is None:
            continue
        label = inputs.project_label(project_id)
        devices = sorted({inputs.device_label(x) for x in _devices(inputs, project_id, model)})
        findings.append(quote.finding(
            ID, subject=f"{model}:standard->batch",
            title=f"Send {label}'s nightly {model} traffic through the batch API",
            rationale=(f"{share:.0%} of {count:,} standard-tier requests run between 00:00 and 06:00 local "
                       f"time from {', '.join(devices[:3])}: {kit.dollars(quote.delta.actual_nanos)} now, "
                       f"{kit.dollars(quote.delta.counterfactual_nanos)} at batch prices."),
            confidence="high" if share >= 0.95 else "medium", request_count=count, model=model,
            evidence={"model": model, "night_share": round(share, 4), "devices": devices,
                      "counterfactual": {"kind": "tier", "model": model, "from": "standard", "to": "batch"},
                      **quote.evidence},
        ))
    return findings


def _devices(inputs: kit.CheckInputs, project_id: int, model: str) -> list[int]:
    devices = inputs.usage.devices
    if not len(devices):
        return []
    mine = devices[(devices["project_id"] == project_id) & (devices["model"].astype(str) == model)
                   & (devices["service_tier"].astype(str) == "standard")]
    return [int(x) for x in mine["device_id"].unique()]


CHECK = kit.Check(ID, "Use the batch API", "Scheduled traffic nobody waits for, on the standard tier, that the "
                  "batch tier bills at about half.", ("tier", "cost"), run)
