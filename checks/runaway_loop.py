"""runaway-loop: a burst of the same prompt from one device (the clustering stage's loop incidents).

Rule: every loop incident the clustering stage recorded in the window (analysis.loop_incidents).
Impact: the burst's cost beyond its first 3 requests (a caller may retry that often on purpose), from
the requests of that hash and device between the incident's start and end. Recurrence 'one_off': the
impact is the waste already spent, not scaled and no monthly saving (monthly_saving_nanos 0).
Confidence: high (the burst happened; a guard such as a retry budget stops the next one).
"""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd

from checks import kit

ID = "runaway-loop"
ALLOWED_REQUESTS = 3


def run(inputs: kit.CheckInputs) -> list[kit.Finding]:
    findings: list[kit.Finding] = []
    if not len(inputs.loops):  # most workspaces: no incident, and no frame op to pay for (a fraction of a ms each)
        return findings
    # narrowed once to the looping hashes: each incident then masks only their rows
    frame = inputs.requests[inputs.requests["prompt_key"].isin(inputs.loops["prompt_key"])]
    for record in inputs.loops.to_dict("records"):  # a handful of incidents, not rows
        incident = SimpleNamespace(**{str(k): v for k, v in record.items()})
        rows = frame[(frame["prompt_key"] == incident.prompt_key) & (frame["device_id"] == incident.device_id)
                     & (frame["started_at"] >= incident.started_at)
                     & (frame["started_at"] <= incident.ended_at)].sort_values(["started_at", "id"])
        if len(rows):
            waste = int(rows["cost_nanos"].iloc[ALLOWED_REQUESTS:].sum())
            count, cost = len(rows), int(rows["cost_nanos"].sum())
        else:  # the rows are gone from this window's read: trust the incident's own figures
            count, cost = int(incident.requests), int(incident.cost_nanos)
            waste = cost * max(count - ALLOWED_REQUESTS, 0) // max(count, 1)
        if waste <= 0:
            continue
        project = -1 if pd.isna(incident.project_id) else int(incident.project_id)
        minutes = max((incident.ended_at - incident.started_at).total_seconds() / 60, 1 / 60)
        device = inputs.device_label(int(incident.device_id))
        findings.append(kit.Finding(
            check_id=ID, project_id=kit.project_or_none(project),
            subject=f"{incident.prompt_hash[:16]}@{int(incident.device_id)}:{incident.started_at:%Y-%m-%dT%H:%M}",
            title=f"Stop the loop on {device} ({inputs.project_label(project)})",
            rationale=(f"{count:,} identical requests from {device} in {minutes:.0f} minutes "
                       f"(peak {int(incident.peak_per_minute)}/min) cost {kit.dollars(cost)}; all but the first "
                       f"{ALLOWED_REQUESTS} were waste. A retry budget or a loop guard stops the next one."),
            impact_nanos=waste, recurrence=kit.ONE_OFF, confidence="high", request_count=count,
            sample_request_ids=kit.samples(rows.sort_values("id")) if len(rows) else (),
            device_id=int(incident.device_id),
            evidence={"prompt_hash": incident.prompt_hash, "device_id": int(incident.device_id),
                      "started_at": incident.started_at.isoformat(), "ended_at": incident.ended_at.isoformat(),
                      "requests": count, "cost_nanos": cost, "waste_nanos": waste,
                      "peak_per_minute": int(incident.peak_per_minute), "one_off": True},
        ))
    return findings


CHECK = kit.Check(ID, "Runaway loop", "A burst of the same prompt from one device: an agent or a script stuck "
                  "retrying.", ("anomaly", "duplicates"), run)
