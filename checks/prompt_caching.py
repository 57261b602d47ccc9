"""prompt-caching: the same prompt re-sent within the cache lifetime without reading the cache.

Reads the clustering stage's results: clusters of kind 'cacheable' (repeats within a provider's cache
lifetime), then the per-request rows of those hashes for the model, the gaps and the cache columns.
Rule: Anthropic models only (there caching is a switch the caller turns on; OpenAI, Gemini and xAI
cache on their own, so there is nothing to turn on); per project, model and hash: no request read the
cache, the prompt is at least the model's minimum cacheable length (1,024 tokens when the table has
none), and the hash is not a recurring question (response-cache owns those) nor a loop; at least 10
requests of the project and model would have been cache hits.
Saving, per cache lifetime T (5 minutes or 1 hour): walk each hash's requests in time order; a request
less than T after the previous one reads its prompt from the cache (cache-read rate instead of input),
any other writes it (5-minute or 1-hour write rate instead of input). Saving = the requests priced as
they ran minus priced that way; the lifetime with the larger saving is quoted (the 1-hour cache pays
only when gaps beyond 5 minutes are common enough to cover its 2x write), scaled to a 30-day month
(lever: PROMPT_CACHE, naming the requests and which of them read the cache).
Confidence: high with at least 100 hits, medium otherwise.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import numpy.typing as npt
import pandas as pd

from checks import levers, response_cache
from checks.base import Check, CheckInputs, Delta, Finding, delta, dollars, groups, price, project_or_none, samples

ID = "prompt-caching"
LIFETIMES = {"5m": timedelta(minutes=5), "1h": timedelta(hours=1)}
DEFAULT_MIN_CACHEABLE = 1024
MIN_HITS = 10


def _rows(inputs: CheckInputs) -> pd.DataFrame:
    clusters = inputs.clusters
    if not len(clusters):
        return inputs.requests.iloc[:0]
    cacheable = set(clusters[clusters["kinds"].map(lambda kinds: "cacheable" in kinds)]["prompt_key"].tolist())
    cacheable -= set(inputs.loops["prompt_key"].tolist()) if len(inputs.loops) else set()
    frame = inputs.requests
    mask = np.asarray((frame["status_code"] == 200) & (frame["provider"] == "anthropic")
                      & frame["prompt_key"].isin(list(cacheable))) & ~response_cache.recurring(inputs)
    rows = frame[mask]
    codes, names = pd.factorize(rows["model"].astype(str))  # one lookup per distinct model
    minimum = np.array([_min_cacheable(inputs, n) for n in names], dtype=np.int64)[codes] if len(rows) \
        else np.zeros(0, np.int64)
    rows = rows[np.asarray(rows["input_tokens"], np.int64) >= minimum]
    group = [rows["project_id"], rows["model"], rows["prompt_key"]]
    never_read = rows["cache_read_tokens"].groupby(group, observed=True).transform("max") == 0
    return rows[never_read].sort_values(["project_id", "prompt_key", "started_at", "id"])


def _min_cacheable(inputs: CheckInputs, model: str) -> int:
    info = inputs.rates.model_info(model, at=inputs.as_of)
    return (info.min_cacheable_tokens if info else None) or DEFAULT_MIN_CACHEABLE


def run(inputs: CheckInputs) -> list[Finding]:
    findings: list[Finding] = []
    rows = _rows(inputs)
    for (project_id, model), part in groups(rows, ["project_id", "model"]):
        gaps = part.groupby("prompt_key")["started_at"].diff()
        best: tuple[str, Delta, npt.NDArray[np.bool_]] | None = None
        for name, lifetime in LIFETIMES.items():
            hit = np.asarray(gaps.notna() & (gaps < lifetime))
            prompt = np.asarray(part["input_tokens"], dtype=np.int64)
            zeros = np.zeros(len(part), dtype=np.int64)
            write = np.where(hit, 0, prompt)
            d = delta(price(part, inputs.rates),
                      price(part, inputs.rates, input_tokens=zeros, cache_read_tokens=np.where(hit, prompt, 0),
                            cache_write_tokens=write if name == "5m" else zeros,
                            cache_write_1h_tokens=write if name == "1h" else zeros))
            if best is None or d.saving_nanos > best[1].saving_nanos:
                best = (name, d, hit)
        assert best is not None
        name, d, hit = best
        saving = d.saving_nanos
        hits = int(hit.sum())
        monthly = inputs.monthly(saving)
        if hits < MIN_HITS or monthly <= 0:
            continue
        label = inputs.project_label(int(project_id))
        ids = np.asarray(part["id"], dtype=np.int64)
        lever = levers.Lever(levers.PROMPT_CACHE, int(project_id), str(model), saving,
                             request_ids=frozenset(ids.tolist()), reads=frozenset(ids[hit].tolist()), lifetime=name)
        findings.append(Finding(
            check_id=ID, project_id=project_or_none(int(project_id)), subject=str(model),
            title=f"Turn on prompt caching ({name}) for {label} on {model}",
            rationale=(f"{hits:,} of {len(part):,} requests re-sent a prompt seen less than {name} before "
                       f"({int(part['prompt_key'].nunique())} prompts) without reading the cache; with the "
                       f"{name} cache they would cost {dollars(d.counterfactual_nanos)} instead of "
                       f"{dollars(d.actual_nanos)}."),
            impact_nanos=monthly, confidence="high" if hits >= 100 else "medium",
            request_count=len(part), sample_request_ids=samples(part[hit]), model=str(model), levers=(lever,),
            evidence={"model": str(model), "cache_lifetime": name, "hits": hits, "requests": len(part),
                      "prompt_hashes": int(part["prompt_key"].nunique()),
                      "actual_nanos": d.actual_nanos, "counterfactual_nanos": d.counterfactual_nanos,
                      "window_saving_nanos": saving, "days_observed": inputs.days_observed},
        ))
    return findings


CHECK = Check(ID, "Turn on prompt caching", "The same long prompt re-sent within the cache lifetime without "
              "reading the cache.", ("caching", "cost"), run)
