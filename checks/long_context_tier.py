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

from checks import levers
from checks.base import (
    Check,
    CheckInputs,
    Finding,
    dollars,
    groups,
    price,
    project_or_none,
    prompt_tokens,
    samples,
    successful,
)

ID = "long-context-tier"
MIN_REQUESTS = 5
MARGIN = 1.25


def run(inputs: CheckInputs) -> list[Finding]:
    findings: list[Finding] = []
    frame = successful(inputs.usage.odd)  # every prompt above a threshold is one of the window's odd requests
    model = frame["model"].astype("category")
    infos = [inputs.rates.model_info(str(m), at=inputs.as_of) for m in model.cat.categories]
    # one look-up per model, then per row by the categorical's codes (a Python call per row is slow)
    by_code = np.array([(info.long_context_threshold or 0) if info else 0 for info in infos] + [0], dtype=np.int64)
    limit = by_code[np.asarray(model.cat.codes)]
    prompts = prompt_tokens(frame)
    near = (limit > 0) & (prompts > limit) & (prompts <= limit * MARGIN)
    frame = frame.assign(threshold=limit)[near]
    for (project_id,), rows in groups(frame, ["project_id"]):
        if len(rows) < MIN_REQUESTS:
            continue
        paid = price(rows, inputs.rates)
        # the same tokens compared with no threshold: the tier's base rates (the cost function's own path)
        base = price(rows.assign(threshold_prompt=0), inputs.rates)
        both = paid.priced & base.priced
        actual, counterfactual = int(paid.cost_nanos[both].sum()), int(base.cost_nanos[both].sum())
        monthly = inputs.monthly(actual - counterfactual)
        if monthly <= 0:
            continue
        saved = np.where(both, paid.cost_nanos - base.cost_nanos, 0)
        model_of, ids = rows["model"].astype(str).to_numpy(), np.asarray(rows["id"], dtype=np.int64)
        trims = tuple(levers.Lever(levers.BASE_RATES, int(project_id), m, max(0, int(saved[model_of == m].sum())),
                                   request_ids=frozenset(ids[model_of == m].tolist()))
                      for m in sorted(set(model_of.tolist())))
        per_model = rows.groupby(rows["model"].astype(str))["threshold"].agg(["first", "count"])
        models = {str(m): {"threshold_tokens": int(r["first"]), "requests": int(r["count"])}
                  for m, r in per_model.iterrows()}
        lines = ", ".join(f"{m} {v['threshold_tokens']:,}" for m, v in models.items())
        label = inputs.project_label(int(project_id))
        findings.append(Finding(
            check_id=ID, project_id=project_or_none(int(project_id)), subject="prompts-over-threshold",
            title=f"Trim {label}'s prompts under the long-context line",
            rationale=(f"{len(rows):,} requests had prompts within a quarter above the long-context threshold "
                       f"({lines}) and paid long-context rates on every token: {dollars(actual)} instead of "
                       f"{dollars(counterfactual)} at base rates."),
            impact_nanos=monthly, confidence="medium", request_count=len(rows),
            sample_request_ids=samples(rows), levers=trims,
            evidence={"models": models, "actual_nanos": actual, "counterfactual_nanos": counterfactual,
                      "window_saving_nanos": actual - counterfactual, "days_observed": inputs.days_observed,
                      "unpriced_requests": int((~both).sum())},
        ))
    return findings


CHECK = Check(ID, "Stay under the long-context threshold", "Prompts just over a long-context price line "
              "that bill the whole request at the higher rate.", ("context", "cost"), run)
