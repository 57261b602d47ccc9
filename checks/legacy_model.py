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

from checks import kit

ID = "legacy-model"
MIN_REQUESTS = 20


def run(inputs: kit.CheckInputs) -> list[kit.Finding]:
    findings: list[kit.Finding] = []
    for project_id, model, row in kit.per_project_model(inputs, ["requests"]):
        count = int(row["requests"])
        info = inputs.rates.model_info(model, at=inputs.as_of)
        chain = inputs.rates.successors(model, at=inputs.as_of)
        if count < MIN_REQUESTS or info is None or not chain:
            continue
        successor = chain[-1]
        quote = kit.quote(inputs, project_id, model, kit.on_model(successor.model))
        if quote is None:
            continue
        findings.append(quote.finding(
            ID, subject=f"{info.model}->{successor.model}",
            title=f"Move {inputs.project_label(project_id)} from {info.model} to its "
                  f"{'current ' if len(chain) > 1 else ''}successor {successor.model}",
            rationale=(f"{info.model} is superseded by {' and then '.join(m.model for m in chain)}; the same "
                       f"{count:,} requests cost {kit.dollars(quote.delta.actual_nanos)} and would cost "
                       f"{kit.dollars(quote.delta.counterfactual_nanos)} on {successor.model} (cache reads and "
                       "writes included)."),
            confidence="medium" if quote.delta.unpriced_rows else "high", request_count=count, model=info.model,
            evidence={"model": info.model, "to_model": successor.model, "successors": [m.model for m in chain],
                      "counterfactual": {"kind": "model", "from": info.model, "to": successor.model},
                      **quote.evidence},
        ))
    return findings


CHECK = kit.Check(ID, "Move off a superseded model", "A model its provider has replaced with a cheaper successor.",
                  ("model", "cost", "lifecycle"), run)
