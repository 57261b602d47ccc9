"""prompt-caching: the same prompt re-sent within the cache lifetime without reading the cache.

Reads the clustering stage's results: clusters of kind 'cacheable' (repeats within a provider's cache
lifetime), then the per-request rows of those hashes for the model, the gaps and the cache columns.
Rule: models of a provider whose prompt cache the price table says is explicit (Anthropic: caching is a
switch the caller turns on; OpenAI, Gemini and xAI cache on their own, so there is nothing to turn on);
per project, model and hash: no request read the cache, the prompt is at least the model's minimum
cacheable length (the provider's, 1,024 tokens for Anthropic, when the model has none), and the hash is
not a recurring question (response-cache owns those) nor a loop; at least 10 requests of the project
and model would have been cache hits.
Saving, per cache lifetime T the provider offers (the table's: Anthropic's 5 minutes and 1 hour): walk
each hash's requests in time order; a request less than T after the previous one reads its prompt from
the cache (cache-read rate instead of input), any other writes it (the lifetime's write rate instead of
input). Saving = the requests priced as they ran minus priced that way; the lifetime with the larger
saving is quoted (the 1-hour cache pays only when gaps beyond 5 minutes are common enough to cover its
2x write), scaled to a 30-day month (lever: PROMPT_CACHE, naming the requests and which of them read
the cache).
Confidence: high with at least 100 hits, medium otherwise.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from checks import kit, response_cache

ID = "prompt-caching"
MIN_HITS = 10


def _rows(inputs: kit.CheckInputs) -> pd.DataFrame:
    clusters = inputs.clusters
    if not len(clusters):
        return inputs.requests.iloc[:0]
    cacheable = set(clusters[clusters["kinds"].map(lambda kinds: "cacheable" in kinds)]["prompt_key"].tolist())
    cacheable -= set(inputs.loops["prompt_key"].tolist()) if len(inputs.loops) else set()
    frame = inputs.requests
    explicit = [p for p in frame["provider"].unique() if inputs.rates.provider(str(p)).explicit_cache]
    mask = np.asarray((frame["status_code"] == 200) & frame["provider"].isin(explicit)
                      & frame["prompt_key"].isin(list(cacheable))) & ~response_cache.recurring(inputs)
    rows = frame[mask]
    codes, names = pd.factorize(rows["model"].astype(str))  # one lookup per distinct model
    minimum = np.array([_min_cacheable(inputs, n) for n in names], dtype=np.int64)[codes] if len(rows) \
        else np.zeros(0, np.int64)
    rows = rows[np.asarray(rows["input_tokens"], np.int64) >= minimum]
    group = [rows["project_id"], rows["model"], rows["prompt_key"]]
    never_read = rows["cache_read_tokens"].groupby(group, observed=True).transform("max") == 0
    return rows[never_read].sort_values(["project_id", "prompt_key", "started_at", "id"])


def _min_cacheable(inputs: kit.CheckInputs, model: str) -> int:
    """The model's minimum cacheable prompt, else its provider's (a model the table does not know cannot be
    priced, so its requests quote nothing whatever the minimum)."""
    info = inputs.rates.model_info(model, at=inputs.as_of)
    if info is None:
        return 0
    return info.min_cacheable_tokens or inputs.rates.provider(info.provider).min_cacheable_tokens or 0


def run(inputs: kit.CheckInputs) -> list[kit.Finding]:
    findings: list[kit.Finding] = []
    rows = _rows(inputs)
    if not len(rows):  # no cacheable hash (most workspaces): a groupby of nothing still costs a millisecond
        return findings
    for (project_id, model), part in kit.groups(rows, ["project_id", "model"]):
        gaps = part.groupby("prompt_key")["started_at"].diff()
        ids = np.asarray(part["id"], dtype=np.int64)
        # the lifetime that saves most (the first of equals): its quote, label and cache hits
        best: tuple[kit.Quote, str, npt.NDArray[np.bool_]] | None = None
        for lifetime in inputs.rates.provider(str(part["provider"].iloc[0])).cache_lifetimes:
            hit = np.asarray(gaps.notna() & (gaps < pd.Timedelta(seconds=lifetime.seconds)))
            change = kit.cached_prompts(frozenset(ids[hit].tolist()), lifetime)
            quote = kit.price_change(inputs, part, change, project_id=int(project_id))
            if best is None or quote.delta.saving_nanos > best[0].delta.saving_nanos:
                best = (quote, lifetime.label, hit)
        if best is None or int(best[2].sum()) < MIN_HITS or best[0].monthly <= 0:
            continue
        quote, name, hit = best
        hits = int(hit.sum())
        findings.append(quote.finding(
            ID, subject=str(model), title=f"Turn on prompt caching ({name}) for {inputs.project_label(project_id)} "
                                          f"on {model}",
            rationale=(f"{hits:,} of {len(part):,} requests re-sent a prompt seen less than {name} before "
                       f"({int(part['prompt_key'].nunique())} prompts) without reading the cache; with the "
                       f"{name} cache they would cost {quote.instead}."),
            confidence="high" if hits >= 100 else "medium", request_count=len(part),
            sample_request_ids=kit.samples(part[hit]), model=str(model),
            evidence={"model": str(model), "cache_lifetime": name, "hits": hits, "requests": len(part),
                      "prompt_hashes": int(part["prompt_key"].nunique()), **quote.evidence},
        ))
    return findings


CHECK = kit.Check(ID, "Turn on prompt caching", "The same long prompt re-sent within the cache lifetime without "
                  "reading the cache.", ("caching", "cost"), run)
