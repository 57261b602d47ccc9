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

from checks import kit

ID = "model-downgrade"
MIN_REQUESTS = 200
PREMIUM_OUTPUT_PICO = 10_000_000  # $10 per million output tokens
MEDIAN_PROMPT_MAX = 8_000
P90_PROMPT_MAX = 16_000
P90_OUTPUT_MAX = 1_024
HIGH_P90_OUTPUT_MAX = 512
PROMPT_LE = [f"prompt_le_{e}" for e in kit.PROMPT_EDGES]
OUTPUT_LE = [f"output_le_{e}" for e in kit.OUTPUT_EDGES]
COLUMNS = ["requests", *PROMPT_LE, *OUTPUT_LE, "max_prompt"]


def run(inputs: kit.CheckInputs) -> list[kit.Finding]:
    findings: list[kit.Finding] = []
    for project_id, model, row in kit.per_project_model(inputs, COLUMNS):
        if project_id < 0:  # attributed traffic only
            continue
        count = int(row["requests"])
        info = inputs.rates.model_info(model, at=inputs.as_of)
        target = inputs.rates.current_model(info.cheaper_sibling, at=inputs.as_of) if info and info.cheaper_sibling \
            else None
        if count < MIN_REQUESTS or info is None or target is None or target.provider != info.provider \
                or info.rates["standard"].output < PREMIUM_OUTPUT_PICO:
            continue
        ceiling = min(target.context_window or 1 << 40, target.long_context_threshold or 1 << 40)
        # the smallest edge each percentile is at most: exact against rules whose limits are edges
        median_prompt = kit.percentile_bound([int(row[c]) for c in PROMPT_LE], kit.PROMPT_EDGES, count, 50)
        p90_prompt = kit.percentile_bound([int(row[c]) for c in PROMPT_LE], kit.PROMPT_EDGES, count, 90)
        p90_output = kit.percentile_bound([int(row[c]) for c in OUTPUT_LE], kit.OUTPUT_EDGES, count, 90)
        if median_prompt is None or median_prompt > MEDIAN_PROMPT_MAX or p90_prompt is None \
                or p90_prompt > P90_PROMPT_MAX or p90_output is None or p90_output > P90_OUTPUT_MAX \
                or int(row["max_prompt"]) > ceiling:
            continue
        quote = kit.quote(inputs, project_id, model, kit.on_model(target.model))
        if quote is None:
            continue
        d = quote.delta
        superseded = f" ({info.cheaper_sibling}, its cheaper sibling, is superseded by {target.model}.)" \
            if target.model != inputs.rates.canonical(str(info.cheaper_sibling)) else ""
        findings.append(quote.finding(
            ID, subject=f"{info.model}->{target.model}",
            title=f"Swap {info.model} → {target.model} on {inputs.project_label(project_id)}",
            rationale=(f"{count:,} requests in {inputs.days_observed} days with median prompt at most "
                       f"{median_prompt:,} tokens (p90 at most {p90_prompt:,}, largest {int(row['max_prompt']):,}) "
                       f"and p90 output at most {p90_output:,}: "
                       f"{kit.dollars(d.actual_nanos)} on {info.model}, {kit.dollars(d.counterfactual_nanos)} on "
                       f"{target.model}.{superseded}"),
            confidence="high" if count >= 1000 and p90_output <= HIGH_P90_OUTPUT_MAX else "medium",
            request_count=count, model=info.model,
            evidence={"model": info.model, "to_model": target.model, "cheaper_sibling": info.cheaper_sibling,
                      "median_prompt_tokens": median_prompt,
                      "p90_prompt_tokens": p90_prompt, "p90_output_tokens": p90_output,
                      "percentiles": "upper bounds: the smallest size edge each is at most",
                      "max_prompt_tokens": int(row["max_prompt"]),
                      "counterfactual": {"kind": "model", "from": info.model, "to": target.model}, **quote.evidence},
        ))
    return findings


CHECK = kit.Check(ID, "Right-size the model", "Short, small requests on a premium model that its cheaper sibling "
                  "of the same provider would answer.", ("model", "cost"), run)
