"""legacy-model: a superseded model that costs more than its successor.

Rule: per project (unattributed traffic as one scope) and model: the price table in force at as_of
names a successor of the same provider, and the window's requests (at least 20) would cost less on it.
Saving: the same requests (input, cache reads and writes, output, tier, date) priced as they ran minus
priced on the successor, over the rows both can price, scaled to a 30-day month.
Confidence: high (a successor is the provider's own replacement); medium when some rows cannot be
priced on the successor (a tier it does not offer).
"""

from __future__ import annotations

import numpy as np

from checks.base import (
    Check,
    CheckInputs,
    Finding,
    SampleScope,
    delta,
    dollars,
    price,
    project_or_none,
    unpriced_evidence,
)
from checks.usage import by_project_model, priceable, successful_of, successful_sums

ID = "legacy-model"
MIN_REQUESTS = 20


def run(inputs: CheckInputs) -> list[Finding]:
    findings: list[Finding] = []
    if not len(inputs.usage.groups):
        return findings
    counts = successful_sums(inputs.usage, ["requests"])
    for project_id, model, row in by_project_model(counts):
        count = int(row["requests"])
        if count < MIN_REQUESTS:
            continue
        info = inputs.rates.model_info(str(model), at=inputs.as_of)
        successor = inputs.rates.model_info(info.successor, at=inputs.as_of) if info and info.successor else None
        if info is None or successor is None or successor.provider != info.provider:
            continue
        rows = priceable(inputs.usage, rates=inputs.rates, where=successful_of(project_id, model))
        d = delta(price(rows, inputs.rates), price(rows, inputs.rates, as_model=successor.model),
                  np.asarray(rows["requests"]))
        monthly = inputs.monthly(d.saving_nanos)
        if monthly <= 0:
            continue
        label = inputs.project_label(int(project_id))
        findings.append(Finding(
            check_id=ID, project_id=project_or_none(int(project_id)), subject=f"{info.model}->{successor.model}",
            title=f"Move {label} from {info.model} to its successor {successor.model}",
            rationale=(f"{info.model} is superseded by {successor.model}; the same {count:,} requests cost "
                       f"{dollars(d.actual_nanos)} and would cost {dollars(d.counterfactual_nanos)} on "
                       f"{successor.model} (cache reads and writes included)."),
            monthly_saving_nanos=monthly, confidence="medium" if d.unpriced_rows else "high",
            request_count=count,
            sample_request_ids=inputs.sample(SampleScope(project_id=int(project_id), model=str(model))),
            model=info.model,
            evidence={"model": info.model, "to_model": successor.model, "actual_nanos": d.actual_nanos,
                      "counterfactual_nanos": d.counterfactual_nanos, "window_saving_nanos": d.saving_nanos,
                      "days_observed": inputs.days_observed,
                      "counterfactual": {"kind": "model", "from": info.model, "to": successor.model},
                      **unpriced_evidence(d)},
        ))
    return findings


CHECK = Check(ID, "Move off a superseded model", "A model its provider has replaced with a cheaper successor.",
              ("model", "cost", "lifecycle"), run)
