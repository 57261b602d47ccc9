"""cache-write-waste: prompt-cache writes that are rarely read back cost more than they save.

Rule: per project and model with cache writes (at least 20 requests writing the cache): billing every
cached token (written or read) as plain input would cost less than the window's requests did, i.e. the
write premium (1.25-2x input) exceeds what the few reads saved.
Saving: the requests priced as they ran minus the same requests with cache reads and writes billed as
input tokens, over the rows both can price, scaled to a 30-day month (lever: NO_CACHE).
Confidence: high when nothing was read back at all; medium when some reads happened.
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
from checks.usage import by_project_model, priceable, successful_of, successful_sums

ID = "cache-write-waste"
MIN_WRITING_REQUESTS = 20


def run(inputs: CheckInputs) -> list[Finding]:
    findings: list[Finding] = []
    if not len(inputs.usage.groups):
        return findings
    per = successful_sums(inputs.usage, ["writing_requests", "requests", "cache_write_tokens", "cache_read_tokens"])
    for project_id, model, row in by_project_model(per[per["writing_requests"] >= MIN_WRITING_REQUESTS]):
        rows = priceable(inputs.usage, rates=inputs.rates, where=successful_of(project_id, model))
        zeros = np.zeros(len(rows), dtype=np.int64)
        prompts = np.asarray(rows["input_tokens"] + rows["cache_read_tokens"] + rows["cache_write_tokens"], np.int64)
        d = delta(price(rows, inputs.rates),
                  price(rows, inputs.rates, input_tokens=prompts, cache_read_tokens=zeros, cache_write_tokens=zeros),
                  np.asarray(rows["requests"]))
        monthly = inputs.monthly(d.saving_nanos)
        if monthly <= 0:
            continue
        written, read = int(row["cache_write_tokens"]), int(row["cache_read_tokens"])
        writers, count = int(row["writing_requests"]), int(row["requests"])
        label = inputs.project_label(int(project_id))
        findings.append(Finding(
            check_id=ID, project_id=project_or_none(int(project_id)), subject=str(model),
            title=f"Stop writing the prompt cache on {label} ({model})",
            rationale=(f"{writers:,} requests wrote {written:,} tokens to the cache but only {read:,} "
                       f"were read back; without caching the {count:,} requests would cost "
                       f"{dollars(d.counterfactual_nanos)} instead of {dollars(d.actual_nanos)}."),
            impact_nanos=monthly, confidence="high" if read == 0 else "medium",
            request_count=writers,
            sample_request_ids=inputs.sample(SampleScope(project_id=int(project_id), model=str(model),
                                                         cache_writes=True)),
            model=str(model),
            levers=(levers.Lever(levers.NO_CACHE, int(project_id), str(model), d.saving_nanos),),
            evidence={"model": str(model), "cache_write_tokens": written, "cache_read_tokens": read,
                      "writing_requests": writers, "actual_nanos": d.actual_nanos,
                      "counterfactual_nanos": d.counterfactual_nanos, "window_saving_nanos": d.saving_nanos,
                      "days_observed": inputs.days_observed, **unpriced_evidence(d)},
        ))
    return findings


CHECK = Check(ID, "Cache writes never read", "Prompt-cache writes that are rarely read back before they "
              "expire, so the write premium buys nothing.", ("caching", "cost"), run)
