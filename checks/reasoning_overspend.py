"""reasoning-overspend: reasoning tokens dominating the output of short answers.

Rule: per project and model, over successful requests: at least 100 requests; at least 90 % of them
spend reasoning tokens; reasoning is at least 75 % of all output tokens; the median visible answer
(output minus reasoning) is at most 400 tokens. Routine short answers rarely need long thinking, so a
lower reasoning effort (or a thinking budget) would do.
Saving: the requests priced as they ran minus the same requests with each request's reasoning capped
at the size of its visible answer (output = visible + min(reasoning, visible)), scaled to a 30-day month
(lever: CAP_REASONING).
Confidence: medium (answer quality at a lower effort has to be checked).
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
from checks.usage import (
    VISIBLE_EDGES,
    by_project_model,
    percentile_bound,
    priceable,
    successful_of,
    successful_sums,
)

ID = "reasoning-overspend"
MIN_REQUESTS = 100
MIN_REASONING_REQUEST_SHARE = 0.9
MIN_REASONING_TOKEN_SHARE = 0.75
MAX_MEDIAN_VISIBLE = 400
KEYS = ["project_id", "model"]


def run(inputs: CheckInputs) -> list[Finding]:
    findings: list[Finding] = []
    usage = inputs.usage
    if not len(usage.groups):
        return findings
    visible_le = [f"visible_le_{e}" for e in VISIBLE_EDGES]
    columns = ["requests", "reasoning_requests", "reasoning_tokens", "output_tokens", *visible_le]
    per = successful_sums(usage, columns)
    # successful requests without output count in the sums but not in this rule: take them out
    silent = usage.odd[(usage.odd["status_code"] == 200) & (usage.odd["output_tokens"] == 0)]
    if len(silent):
        less = silent.assign(model=silent["model"].astype(str), requests=1,
                             reasoning_requests=(silent["reasoning_tokens"] > 0).astype(np.int64),
                             **{c: 1 for c in visible_le}).groupby(KEYS)[columns].sum()
        per = per.sub(less.reindex(per.index, fill_value=0), fill_value=0)
    for project_id, model, row in by_project_model(per):
        count = int(row["requests"])
        if count < MIN_REQUESTS:
            continue
        request_share = int(row["reasoning_requests"]) / count
        token_share = int(row["reasoning_tokens"]) / max(int(row["output_tokens"]), 1)
        median_visible = percentile_bound([int(row[c]) for c in visible_le], VISIBLE_EDGES, count, 50)
        if request_share < MIN_REASONING_REQUEST_SHARE or token_share < MIN_REASONING_TOKEN_SHARE \
                or median_visible is None or median_visible > MAX_MEDIAN_VISIBLE:
            continue
        rows = priceable(usage, rates=inputs.rates, where=successful_of(project_id, model), with_output_only=True)
        d = delta(price(rows, inputs.rates),
                  price(rows, inputs.rates, output_tokens=np.asarray(rows["capped_output_tokens"], np.int64)),
                  np.asarray(rows["requests"]))
        monthly = inputs.monthly(d.saving_nanos)
        if monthly <= 0:
            continue
        label = inputs.project_label(int(project_id))
        findings.append(Finding(
            check_id=ID, project_id=project_or_none(int(project_id)), subject=str(model),
            title=f"Lower the reasoning effort of {label} on {model}",
            rationale=(f"{token_share:.0%} of the output of {count:,} requests is reasoning while the median "
                       f"answer is at most {median_visible:,} tokens; capping reasoning at the answer's length "
                       f"would cost {dollars(d.counterfactual_nanos)} instead of {dollars(d.actual_nanos)}."),
            impact_nanos=monthly, confidence="medium", request_count=count,
            sample_request_ids=inputs.sample(SampleScope(project_id=int(project_id), model=str(model),
                                                         with_output=True)),
            model=str(model),
            levers=(levers.Lever(levers.CAP_REASONING, int(project_id), str(model), d.saving_nanos),),
            evidence={"model": str(model), "reasoning_token_share": round(token_share, 4),
                      "reasoning_request_share": round(request_share, 4), "median_visible_tokens": median_visible,
                      "percentiles": "upper bound: the smallest size edge the median is at most",
                      "actual_nanos": d.actual_nanos, "counterfactual_nanos": d.counterfactual_nanos,
                      "window_saving_nanos": d.saving_nanos, "days_observed": inputs.days_observed,
                      **unpriced_evidence(d)},
        ))
    return findings


CHECK = Check(ID, "Lower the reasoning effort", "Short routine answers behind long hidden reasoning.",
              ("reasoning", "cost"), run)
