"""model-downgrade: small, short requests sent to a premium model whose cheaper sibling would do.

Rule: per project and model, over successful requests: the model is premium (standard output rate at
least $10 per million tokens) and the price table names a cheaper sibling of the same provider; at
least 200 requests; median prompt (input + cache read + cache write) at most 8,000 tokens and its 90th
percentile at most 16,000; 90th percentile of output (reasoning included) at most 1,024 tokens; no
prompt above the sibling's context window or long-context threshold.
Saving: the same requests (tokens, cache reads and writes, tier, date) priced as they ran minus priced
on the sibling, over the rows both can price, scaled to a 30-day month.
Confidence: high with at least 1,000 requests and a 90th-percentile output of at most 512 tokens;
medium otherwise.
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
    prompt_tokens,
    samples,
    unpriced_evidence,
)

ID = "model-downgrade"
MIN_REQUESTS = 200
PREMIUM_OUTPUT_PICO = 10_000_000  # $10 per million output tokens
MEDIAN_PROMPT_MAX = 8_000
P90_PROMPT_MAX = 16_000
P90_OUTPUT_MAX = 1_024


def run(inputs: CheckInputs) -> list[Finding]:
    findings: list[Finding] = []
    frame = inputs.successful
    frame = frame[frame["project_id"] >= 0]
    for (project_id, model), rows in groups(frame, ["project_id", "model"]):
        if len(rows) < MIN_REQUESTS:
            continue
        info = inputs.rates.model_info(str(model), at=inputs.as_of)
        sibling = inputs.rates.model_info(info.cheaper_sibling, at=inputs.as_of) if info and info.cheaper_sibling \
            else None
        if info is None or sibling is None or sibling.provider != info.provider:
            continue
        if info.rates["standard"].output < PREMIUM_OUTPUT_PICO:
            continue
        prompts = prompt_tokens(rows)
        outputs = np.asarray(rows["output_tokens"], dtype=np.int64)
        ceiling = min(sibling.context_window or 1 << 40, sibling.long_context_threshold or 1 << 40)
        median_prompt, p90_prompt, p90_output = percentile(prompts, 50), percentile(prompts, 90), \
            percentile(outputs, 90)
        if median_prompt > MEDIAN_PROMPT_MAX or p90_prompt > P90_PROMPT_MAX or p90_output > P90_OUTPUT_MAX \
                or int(prompts.max()) > ceiling:
            continue
        d = delta(price(rows, inputs.rates), price(rows, inputs.rates, as_model=sibling.model))
        monthly = inputs.monthly(d.saving_nanos)
        if monthly <= 0:
            continue
        label = inputs.project_label(int(project_id))
        confidence = "high" if len(rows) >= 1000 and p90_output <= 512 else "medium"
        findings.append(Finding(
            check_id=ID, project_id=project_or_none(int(project_id)), subject=f"{info.model}->{sibling.model}",
            title=f"Swap {info.model} → {sibling.model} on {label}",
            rationale=(f"{len(rows):,} requests in {inputs.days_observed} days with median prompt "
                       f"{median_prompt:,} tokens (p90 {p90_prompt:,}) and p90 output {p90_output:,}: "
                       f"{dollars(d.actual_nanos)} on {info.model}, {dollars(d.counterfactual_nanos)} on "
                       f"{sibling.model}."),
            monthly_saving_nanos=monthly, confidence=confidence, request_count=len(rows),
            sample_request_ids=samples(rows), model=info.model,
            evidence={"model": info.model, "to_model": sibling.model, "median_prompt_tokens": median_prompt,
                      "p90_prompt_tokens": p90_prompt, "p90_output_tokens": p90_output,
                      "actual_nanos": d.actual_nanos, "counterfactual_nanos": d.counterfactual_nanos,
                      "window_saving_nanos": d.saving_nanos, "days_observed": inputs.days_observed,
                      "counterfactual": {"kind": "model", "from": info.model, "to": sibling.model},
                      **unpriced_evidence(d)},
        ))
    return findings


CHECK = Check(ID, "Right-size the model", "Short, small requests on a premium model that its cheaper sibling "
              "of the same provider would answer.", ("model", "cost"), run)
