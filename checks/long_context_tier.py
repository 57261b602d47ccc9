"""long-context-tier: prompts just over a long-context price threshold.

Rule: successful requests whose prompt (input + cache read + cache write) is above the model's
long-context threshold but within a quarter of it (threshold < prompt <= 1.25 x threshold), at least
5 per project. Trimming such a prompt below the line bills the whole request at base rates.
Saving: what those requests paid minus the same tokens at the base (below-threshold) rates of their
tier and date, scaled to a 30-day month (levers: BASE_RATES, one per model, naming the requests).
Confidence: medium (trimming a prompt is work, and not every prompt can lose a fifth).
"""

from __future__ import annotations

import numpy as np

from checks import kit

ID = "long-context-tier"
MIN_REQUESTS = 5
MARGIN = 1.25


def run(inputs: kit.CheckInputs) -> list[kit.Finding]:
    findings: list[kit.Finding] = []
    odd = inputs.usage.odd_columns  # every prompt above a threshold is one of the window's odd requests
    if not len(odd["id"]):  # most small workspaces: no odd request
        return findings
    # the rule tested on the odd requests' arrays, their frame built and its rows selected only when some are near
    # a line (each frame op costs ~0.2 ms however few the rows)
    names, codes = np.unique(odd["model"], return_inverse=True)
    infos = [inputs.rates.model_info(str(m), at=inputs.as_of) for m in names]
    # one look-up per model, then per row by its code (a Python call per row is slow)
    by_code = np.array([(info.long_context_threshold or 0) if info else 0 for info in infos], dtype=np.int64)
    limit = by_code[codes.reshape(-1)]
    prompts = kit.prompt_tokens(odd)
    near = (odd["status_code"] == 200) & (limit > 0) & (prompts > limit) & (prompts <= limit * MARGIN)
    if not near.any():
        return findings
    frame = inputs.usage.odd.assign(threshold=limit)[near]
    for (project_id,), rows in kit.groups(frame, ["project_id"]):
        quote = kit.quote_requests(inputs, rows, kit.BASE_RATES, project_id=int(project_id)) \
            if len(rows) >= MIN_REQUESTS else None
        if quote is None:
            continue
        per_model = rows.groupby(rows["model"].astype(str))["threshold"].agg(["first", "count"])
        models = {str(m): {"threshold_tokens": int(r["first"]), "requests": int(r["count"])}
                  for m, r in per_model.iterrows()}
        lines = ", ".join(f"{m} {v['threshold_tokens']:,}" for m, v in models.items())
        findings.append(quote.finding(
            ID, subject="prompts-over-threshold",
            title=f"Trim {inputs.project_label(project_id)}'s prompts under the long-context line",
            rationale=(f"{len(rows):,} requests had prompts within a quarter above the long-context threshold "
                       f"({lines}) and paid long-context rates on every token: "
                       f"{kit.dollars(quote.delta.actual_nanos)} instead of "
                       f"{kit.dollars(quote.delta.counterfactual_nanos)} at base rates."),
            confidence="medium", request_count=len(rows),
            evidence={"models": models, **quote.evidence, "unpriced_requests": quote.delta.unpriced_rows},
        ))
    return findings


CHECK = kit.Check(ID, "Stay under the long-context threshold", "Prompts just over a long-context price line "
                  "that bill the whole request at the higher rate.", ("context", "cost"), run)
