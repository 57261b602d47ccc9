"""legacy-model: a superseded model that costs more than its successor.

Rule: per project (unattributed traffic as one scope) and model: the price table in force at as_of
names a successor of the same provider, and the window's requests (at least 20) would cost less on the
current model its successors lead to (RateTable.current_model: a successor that is itself superseded
is not where anyone should move to).
Saving: the same requests (input, cache reads and writes, output, tier, date) priced as they ran minus
priced on that model, over the rows both can price, scaled to a 30-day month (lever: MODEL).
Confidence: high (a successor is the provider's own replacement); medium when some rows cannot be
priced on the successor (a tier it does not offer).
"""

from __future__ import annotations

import numpy as np

from checks import levers
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
        chain = inputs.rates.successors(str(model), at=inputs.as_of)
        if info is None or not chain:
            continue
        successor = chain[-1]
        rows = priceable(inputs.usage, rates=inputs.rates, where=successful_of(project_id, model))
        d = delta(price(rows, inputs.rates), price(rows, inputs.rates, as_model=successor.model),
                  np.asarray(rows["requests"]))
        monthly = inputs.monthly(d.saving_nanos)
        if monthly <= 0:
            continue
        label = inputs.project_label(int(project_id))
        findings.append(Finding(
            check_id=ID, project_id=project_or_none(int(project_id)), subject=f"{info.model}->{successor.model}",
            title=f"Move {label} from {info.model} to its {'current ' if len(chain) > 1 else ''}successor "
                  f"{successor.model}",
            rationale=(f"{info.model} is superseded by {' and then '.join(m.model for m in chain)}; the same "
                       f"{count:,} requests cost "
                       f"{dollars(d.actual_nanos)} and would cost {dollars(d.counterfactual_nanos)} on "
                       f"{successor.model} (cache reads and writes included)."),
            impact_nanos=monthly, confidence="medium" if d.unpriced_rows else "high",
            request_count=count,
            sample_request_ids=inputs.sample(SampleScope(project_id=int(project_id), model=str(model))),
            model=info.model,
            levers=(levers.Lever(levers.MODEL, int(project_id), str(model), d.saving_nanos, to=successor.model),),
            evidence={"model": info.model, "to_model": successor.model, "successors": [m.model for m in chain],
                      "actual_nanos": d.actual_nanos,
                      "counterfactual_nanos": d.counterfactual_nanos, "window_saving_nanos": d.saving_nanos,
                      "days_observed": inputs.days_observed,
                      "counterfactual": {"kind": "model", "from": info.model, "to": successor.model},
                      **unpriced_evidence(d)},
        ))
    return findings


CHECK = Check(ID, "Move off a superseded model", "A model its provider has replaced with a cheaper successor.",
              ("model", "cost", "lifecycle"), run)
