"""cache-write-waste: prompt-cache writes that are rarely read back cost more than they save.

Rule: per project and model with cache writes (at least 20 requests writing the cache): billing every
cached token (written or read) as plain input would cost less than the window's requests did, i.e. the
write premium (1.25-2x input) exceeds what the few reads saved.
Saving: the requests priced as they ran minus the same requests with cache reads and writes billed as
input tokens, over the rows both can price, scaled to a 30-day month (lever: NO_CACHE).
Confidence: high when nothing was read back at all; medium when some reads happened.
"""

from __future__ import annotations

from checks import kit

ID = "cache-write-waste"
MIN_WRITING_REQUESTS = 20
SUMS = ["writing_requests", "requests", "cache_write_tokens", "cache_read_tokens"]


def run(inputs: kit.CheckInputs) -> list[kit.Finding]:
    findings: list[kit.Finding] = []
    for project_id, model, row in kit.per_project_model(inputs, SUMS):
        writers, count = int(row["writing_requests"]), int(row["requests"])
        if writers < MIN_WRITING_REQUESTS:
            continue
        quote = kit.quote(inputs, project_id, model, kit.NO_CACHE,
                          sample_scope=kit.SampleScope(project_id=project_id, model=model, cache_writes=True))
        if quote is None:
            continue
        written, read = int(row["cache_write_tokens"]), int(row["cache_read_tokens"])
        findings.append(quote.finding(
            ID, subject=model, title=f"Stop writing the prompt cache on {inputs.project_label(project_id)} ({model})",
            rationale=(f"{writers:,} requests wrote {written:,} tokens to the cache but only {read:,} "
                       f"were read back; without caching the {count:,} requests would cost {quote.instead}."),
            confidence="high" if read == 0 else "medium", request_count=writers, model=model,
            evidence={"model": model, "cache_write_tokens": written, "cache_read_tokens": read,
                      "writing_requests": writers, **quote.evidence},
        ))
    return findings


CHECK = kit.Check(ID, "Cache writes never read", "Prompt-cache writes that are rarely read back before they "
                  "expire, so the write premium buys nothing.", ("caching", "cost"), run)
