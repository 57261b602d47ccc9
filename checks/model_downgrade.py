"""model-downgrade: small, short requests sent to a premium model whose cheaper sibling would do.

Rule: per project and model, over successful requests: the model is premium (standard output rate at
least $10 per million tokens) and the price table names a cheaper sibling of the same provider; at
least 200 requests; median prompt (input + cache read + cache write) at most 8,000 tokens and its 90th
percentile at most 16,000; 90th percentile of output (reasoning included) at most 1,024 tokens; no
prompt above the target's context window or long-context threshold. The target is the sibling, or the
model its successors lead to when the table says the sibling is superseded (RateTable.current_model):
a swap never targets a superseded model.
Saving: the same requests (tokens, cache reads and writes, tier, date) priced as they ran minus priced
on the target, over the rows both can price, scaled to a 30-day month (lever: MODEL).
Confidence: high with at least 1,000 requests and a 90th-percentile output of at most 512 tokens;
medium otherwise.
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
from checks.usage import OUTPUT_EDGES, PROMPT_EDGES, by_project_model, percentile_bound, priceable, successful_of

ID = "model-downgrade"
MIN_REQUESTS = 200
PREMIUM_OUTPUT_PICO = 10_000_000  # $10 per million output tokens
MEDIAN_PROMPT_MAX = 8_000
P90_PROMPT_MAX = 16_000
P90_OUTPUT_MAX = 1_024
HIGH_P90_OUTPUT_MAX = 512


def run(inputs: CheckInputs) -> list[Finding]:
    findings: list[Finding] = []
    groups = inputs.usage.groups
    if not len(groups):
        return findings
    groups = groups[(groups["status_code"] == 200) & (groups["project_id"] >= 0)]
    prompt_le = [f"prompt_le_{e}" for e in PROMPT_EDGES]
    output_le = [f"output_le_{e}" for e in OUTPUT_EDGES]
    per = groups.groupby(["project_id", "model"], observed=True, sort=True).agg(
        {"requests": "sum", "max_prompt": "max", **{c: "sum" for c in (*prompt_le, *output_le)}})
    for project_id, model, row in by_project_model(per):
        count = int(row["requests"])
        if count < MIN_REQUESTS:
            continue
        info = inputs.rates.model_info(str(model), at=inputs.as_of)
        target = inputs.rates.current_model(info.cheaper_sibling, at=inputs.as_of) if info and info.cheaper_sibling \
            else None
        if info is None or target is None or target.provider != info.provider:
            continue
        if info.rates["standard"].output < PREMIUM_OUTPUT_PICO:
            continue
        ceiling = min(target.context_window or 1 << 40, target.long_context_threshold or 1 << 40)
        # the smallest edge each percentile is at most: exact against rules whose limits are edges
        median_prompt = percentile_bound([int(row[c]) for c in prompt_le], PROMPT_EDGES, count, 50)
        p90_prompt = percentile_bound([int(row[c]) for c in prompt_le], PROMPT_EDGES, count, 90)
        p90_output = percentile_bound([int(row[c]) for c in output_le], OUTPUT_EDGES, count, 90)
        if median_prompt is None or median_prompt > MEDIAN_PROMPT_MAX or p90_prompt is None \
                or p90_prompt > P90_PROMPT_MAX or p90_output is None or p90_output > P90_OUTPUT_MAX \
                or int(row["max_prompt"]) > ceiling:
            continue
        rows = priceable(inputs.usage, rates=inputs.rates, where=successful_of(project_id, model))
        d = delta(price(rows, inputs.rates), price(rows, inputs.rates, as_model=target.model),
                  np.asarray(rows["requests"]))
        monthly = inputs.monthly(d.saving_nanos)
        if monthly <= 0:
            continue
        label = inputs.project_label(int(project_id))
        confidence = "high" if count >= 1000 and p90_output <= HIGH_P90_OUTPUT_MAX else "medium"
        superseded = f" ({info.cheaper_sibling}, its cheaper sibling, is superseded by {target.model}.)" \
            if target.model != inputs.rates.canonical(str(info.cheaper_sibling)) else ""
        findings.append(Finding(
            check_id=ID, project_id=project_or_none(int(project_id)), subject=f"{info.model}->{target.model}",
            title=f"Swap {info.model} → {target.model} on {label}",
            rationale=(f"{count:,} requests in {inputs.days_observed} days with median prompt at most "
                       f"{median_prompt:,} tokens (p90 at most {p90_prompt:,}, largest {int(row['max_prompt']):,}) "
                       f"and p90 output at most {p90_output:,}: "
                       f"{dollars(d.actual_nanos)} on {info.model}, {dollars(d.counterfactual_nanos)} on "
                       f"{target.model}.{superseded}"),
            impact_nanos=monthly, confidence=confidence, request_count=count,
            sample_request_ids=inputs.sample(SampleScope(project_id=int(project_id), model=str(model))),
            model=info.model,
            levers=(levers.Lever(levers.MODEL, int(project_id), str(model), d.saving_nanos, to=target.model),),
            evidence={"model": info.model, "to_model": target.model, "cheaper_sibling": info.cheaper_sibling,
                      "median_prompt_tokens": median_prompt,
                      "p90_prompt_tokens": p90_prompt, "p90_output_tokens": p90_output,
                      "percentiles": "upper bounds: the smallest size edge each is at most",
                      "max_prompt_tokens": int(row["max_prompt"]),
                      "actual_nanos": d.actual_nanos, "counterfactual_nanos": d.counterfactual_nanos,
                      "window_saving_nanos": d.saving_nanos, "days_observed": inputs.days_observed,
                      "counterfactual": {"kind": "model", "from": info.model, "to": target.model},
                      **unpriced_evidence(d)},
        ))
    return findings


CHECK = Check(ID, "Right-size the model", "Short, small requests on a premium model that its cheaper sibling "
              "of the same provider would answer.", ("model", "cost"), run)
