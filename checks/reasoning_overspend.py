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

from collections.abc import Iterator
from typing import Any

import numpy as np

from checks import kit

ID = "reasoning-overspend"
MIN_REQUESTS = 100
MIN_REASONING_REQUEST_SHARE = 0.9
MIN_REASONING_TOKEN_SHARE = 0.75
MAX_MEDIAN_VISIBLE = 400
KEYS = ["project_id", "model"]
VISIBLE_LE = [f"visible_le_{e}" for e in kit.VISIBLE_EDGES]
SUMS = ["requests", "reasoning_requests", "reasoning_tokens", "output_tokens", *VISIBLE_LE]


def run(inputs: kit.CheckInputs) -> list[kit.Finding]:
    findings: list[kit.Finding] = []
    for project_id, model, row in _with_output(inputs):
        count = int(row["requests"])
        if count < MIN_REQUESTS:
            continue
        request_share = int(row["reasoning_requests"]) / count
        token_share = int(row["reasoning_tokens"]) / max(int(row["output_tokens"]), 1)
        median_visible = kit.percentile_bound([int(row[c]) for c in VISIBLE_LE], kit.VISIBLE_EDGES, count, 50)
        if request_share < MIN_REASONING_REQUEST_SHARE or token_share < MIN_REASONING_TOKEN_SHARE \
                or median_visible is None or median_visible > MAX_MEDIAN_VISIBLE:
            continue
        quote = kit.quote(inputs, project_id, model, kit.CAPPED_REASONING, with_output_only=True)
        if quote is None:
            continue
        findings.append(quote.finding(
            ID, subject=model, title=f"Lower the reasoning effort of {inputs.project_label(project_id)} on {model}",
            rationale=(f"{token_share:.0%} of the output of {count:,} requests is reasoning while the median "
                       f"answer is at most {median_visible:,} tokens; capping reasoning at the answer's length "
                       f"would cost {quote.instead}."),
            confidence="medium", request_count=count, model=model,
            evidence={"model": model, "reasoning_token_share": round(token_share, 4),
                      "reasoning_request_share": round(request_share, 4), "median_visible_tokens": median_visible,
                      "percentiles": "upper bound: the smallest size edge the median is at most", **quote.evidence},
        ))
    return findings


def _with_output(inputs: kit.CheckInputs) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """The successful requests' sums per project and model, less those without output (successful requests
    without output count in the sums but not in this rule)."""
    usage = inputs.usage
    odd = usage.odd_columns
    silent_rows = (odd["status_code"] == 200) & (odd["output_tokens"] == 0)
    if not silent_rows.any():  # most workspaces: the sums as they are, no frame built (nor selected)
        yield from kit.per_project_model(inputs, SUMS)
        return
    silent = usage.odd[silent_rows]
    less = silent.assign(model=silent["model"].astype(str), requests=1,
                         reasoning_requests=(silent["reasoning_tokens"] > 0).astype(np.int64),
                         **{c: 1 for c in VISIBLE_LE}).groupby(KEYS)[SUMS].sum()
    minus = {(project_id, model): row for project_id, model, row in kit.by_project_model(less)}
    for project_id, model, row in kit.per_project_model(inputs, SUMS):
        taken = minus.get((project_id, model))
        yield project_id, model, row if taken is None else {c: row[c] - taken[c] for c in SUMS}


CHECK = kit.Check(ID, "Lower the reasoning effort", "Short routine answers behind long hidden reasoning.",
                  ("reasoning", "cost"), run)
