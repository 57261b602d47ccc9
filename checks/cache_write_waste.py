"""cache-write-waste: prompt-cache writes that are rarely read back cost more than they save.

Rule: per project and model with cache writes (at least 20 requests writing the cache): billing every
cached token (written or read) as plain input would cost less than the window's requests did, i.e. the
write premium (1.25-2x input) exceeds what the few reads saved.
Saving: the requests priced as they ran minus the same requests with cache reads and writes billed as
input tokens, over the rows both can price, scaled to a 30-day month.
Confidence: high when nothing was read back at all; medium when some reads happened.
"""

from __future__ import annotations

import numpy as np

from checks.base import (
    Check,
    CheckInputs,
    Finding,
    delta,
    dollars,
    price,
    project_or_none,
    prompt_tokens,
    samples,
    unpriced_evidence,
)

ID = "cache-write-waste"
MIN_WRITING_REQUESTS = 20


def run(inputs: CheckInputs) -> list[Finding]:
    findings: list[Finding] = []
    frame = inputs.successful
    frame = frame[frame["cache_write_tokens"] > 0]
    if not len(frame):
        return findings
    writing = frame.groupby(["project_id", "model"], observed=True)["id"].count()
    keys = writing[writing >= MIN_WRITING_REQUESTS].index
    scoped = inputs.successful
    for project_id, model in keys:
        rows = scoped[(scoped["project_id"] == project_id) & (scoped["model"] == model)]
        zeros = np.zeros(len(rows), dtype=np.int64)
        d = delta(price(rows, inputs.rates),
                  price(rows, inputs.rates, input_tokens=prompt_tokens(rows), cache_read_tokens=zeros,
                        cache_write_tokens=zeros))
        monthly = inputs.monthly(d.saving_nanos)
        if monthly <= 0:
            continue
        written, read = int(rows["cache_write_tokens"].sum()), int(rows["cache_read_tokens"].sum())
        writers = rows[rows["cache_write_tokens"] > 0]
        label = inputs.project_label(int(project_id))
        findings.append(Finding(
            check_id=ID, project_id=project_or_none(int(project_id)), subject=str(model),
            title=f"Stop writing the prompt cache on {label} ({model})",
            rationale=(f"{len(writers):,} requests wrote {written:,} tokens to the cache but only {read:,} "
                       f"were read back; without caching the {len(rows):,} requests would cost "
                       f"{dollars(d.counterfactual_nanos)} instead of {dollars(d.actual_nanos)}."),
            monthly_saving_nanos=monthly, confidence="high" if read == 0 else "medium",
            request_count=len(writers), sample_request_ids=samples(writers), model=str(model),
            evidence={"model": str(model), "cache_write_tokens": written, "cache_read_tokens": read,
                      "writing_requests": len(writers), "actual_nanos": d.actual_nanos,
                      "counterfactual_nanos": d.counterfactual_nanos, "window_saving_nanos": d.saving_nanos,
                      "days_observed": inputs.days_observed, **unpriced_evidence(d)},
        ))
    return findings


CHECK = Check(ID, "Cache writes never read", "Prompt-cache writes that are rarely read back before they "
              "expire, so the write premium buys nothing.", ("caching", "cost"), run)
