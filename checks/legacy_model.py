"""legacy-model: a superseded model that costs more than its successor.

Rule: per project (unattributed traffic as one scope) and model: the price table in force at as_of
names a successor of the same provider, and the window's requests (at least 20) would cost less on it.
Saving: the same requests (input, cache reads and writes, output, tier, date) priced as they ran minus
priced on the successor, over the rows both can price, scaled to a 30-day month.
Confidence: high (a successor is the provider's own replacement); medium when some rows cannot be
priced on the successor (a tier it does not offer).
"""

from __future__ import annotations

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

ID = "legacy-model"
MIN_REQUESTS = 20


def run(inputs: CheckInputs) -> list[Finding]:
    findings: list[Finding] = []
    frame = inputs.successful
    for (project_id, model), rows in groups(frame, ["project_id", "model"]):
        if len(rows) < MIN_REQUESTS:
            continue
        info = inputs.rates.model_info(str(model), at=inputs.as_of)
        successor = inputs.rates.model_info(info.successor, at=inputs.as_of) if info and info.successor else None
        if info is None or successor is None or successor.provider != info.provider:
            continue
        d = delta(price(rows, inputs.rates), price(rows, inputs.rates, as_model=successor.model))
        monthly = inputs.monthly(d.saving_nanos)
        if monthly <= 0:
            continue
        label = inputs.project_label(int(project_id))
        findings.append(Finding(
            check_id=ID, project_id=project_or_none(int(project_id)), subject=f"{info.model}->{successor.model}",
            title=f"Move {label} from {info.model} to its successor {successor.model}",
            rationale=(f"{info.model} is superseded by {successor.model}; the same {len(rows):,} requests cost "
                       f"{dollars(d.actual_nanos)} and would cost {dollars(d.counterfactual_nanos)} on "
                       f"{successor.model} (cache reads and writes included)."),
            monthly_saving_nanos=monthly, confidence="medium" if d.unpriced_rows else "high",
            request_count=len(rows), sample_request_ids=samples(rows), model=info.model,
            evidence={"model": info.model, "to_model": successor.model, "actual_nanos": d.actual_nanos,
                      "counterfactual_nanos": d.counterfactual_nanos, "window_saving_nanos": d.saving_nanos,
                      "days_observed": inputs.days_observed,
                      "counterfactual": {"kind": "model", "from": info.model, "to": successor.model},
                      **unpriced_evidence(d)},
        ))
    return findings


CHECK = Check(ID, "Move off a superseded model", "A model its provider has replaced with a cheaper successor.",
              ("model", "cost", "lifecycle"), run)
