"""reasoning-overspend: reasoning tokens dominating the output of short answers.

Rule: per project and model, over successful requests: at least 100 requests; at least 90 % of them
spend reasoning tokens; reasoning is at least 75 % of all output tokens; the median visible answer
(output minus reasoning) is at most 400 tokens. Routine short answers rarely need long thinking, so a
lower reasoning effort (or a thinking budget) would do.
Saving: the requests priced as they ran minus the same requests with each request's reasoning capped
at the size of its visible answer (output = visible + min(reasoning, visible)), scaled to a 30-day month.
Confidence: medium (answer quality at a lower effort has to be checked).
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
    percentile,
    price,
    project_or_none,
    samples,
    unpriced_evidence,
)

ID = "reasoning-overspend"
MIN_REQUESTS = 100
MIN_REASONING_REQUEST_SHARE = 0.9
MIN_REASONING_TOKEN_SHARE = 0.75
MAX_MEDIAN_VISIBLE = 400


def run(inputs: CheckInputs) -> list[Finding]:
    findings: list[Finding] = []
    frame = inputs.successful
    frame = frame[frame["output_tokens"] > 0]
    for (project_id, model), rows in groups(frame, ["project_id", "model"]):
        if len(rows) < MIN_REQUESTS:
            continue
        reasoning = np.asarray(rows["reasoning_tokens"], dtype=np.int64)
        output = np.asarray(rows["output_tokens"], dtype=np.int64)
        visible = output - reasoning
        request_share = float((reasoning > 0).mean())
        token_share = float(reasoning.sum() / max(int(output.sum()), 1))
        median_visible = percentile(visible, 50)
        if request_share < MIN_REASONING_REQUEST_SHARE or token_share < MIN_REASONING_TOKEN_SHARE \
                or median_visible > MAX_MEDIAN_VISIBLE:
            continue
        capped = visible + np.minimum(reasoning, visible)
        d = delta(price(rows, inputs.rates), price(rows, inputs.rates, output_tokens=capped))
        monthly = inputs.monthly(d.saving_nanos)
        if monthly <= 0:
            continue
        label = inputs.project_label(int(project_id))
        findings.append(Finding(
            check_id=ID, project_id=project_or_none(int(project_id)), subject=str(model),
            title=f"Lower the reasoning effort of {label} on {model}",
            rationale=(f"{token_share:.0%} of the output of {len(rows):,} requests is reasoning while the median "
                       f"answer is {median_visible:,} tokens; capping reasoning at the answer's length would cost "
                       f"{dollars(d.counterfactual_nanos)} instead of {dollars(d.actual_nanos)}."),
            monthly_saving_nanos=monthly, confidence="medium", request_count=len(rows),
            sample_request_ids=samples(rows, weights=reasoning - visible), model=str(model),
            evidence={"model": str(model), "reasoning_token_share": round(token_share, 4),
                      "reasoning_request_share": round(request_share, 4), "median_visible_tokens": median_visible,
                      "actual_nanos": d.actual_nanos, "counterfactual_nanos": d.counterfactual_nanos,
                      "window_saving_nanos": d.saving_nanos, "days_observed": inputs.days_observed,
                      **unpriced_evidence(d)},
        ))
    return findings


CHECK = Check(ID, "Lower the reasoning effort", "Short routine answers behind long hidden reasoning.",
              ("reasoning", "cost"), run)
