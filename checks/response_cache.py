"""response-cache: the same prompt asked again and again, whose answer a cache could serve.

Reads the clustering stage's results: clusters of kind 'duplicate' (a prompt_hash seen more than once),
leaving out hashes with a loop incident (runaway-loop owns those). Rule: per project, model and hash,
at least 5 successful requests on at least 2 distinct UTC days (a recurring question, not one session
re-sending its context: that is prompt-caching), and at least 20 such repeats in the project.
Saving: what every repeat after the first request of each (project, model, hash) costs at the price
table's rates, as the other checks price (as logged where the table cannot price it), scaled to a 30-day
month (levers: DROP, one per model).
Confidence: medium (the answers must be reusable: no personal data, no time-dependent facts); high
when the repeats come from 3 or more devices.
"""

from __future__ import annotations

from datetime import UTC

import numpy as np
import numpy.typing as npt
import pandas as pd

from checks import kit

ID = "response-cache"
MIN_PER_HASH = 5
MIN_DAYS = 2
MIN_REPEATS = 20


def candidates(inputs: kit.CheckInputs) -> set[int]:
    """prompt_keys of duplicate clusters that are not loops."""
    clusters = inputs.clusters
    if not len(clusters):
        return set()
    duplicate = clusters[clusters["kinds"].map(lambda kinds: "duplicate" in kinds)]
    loops = set(inputs.loops["prompt_key"].tolist()) if len(inputs.loops) else set()
    return set(duplicate["prompt_key"].tolist()) - loops


def hashes_to_read(clusters: pd.DataFrame, loops: pd.DataFrame) -> list[str]:
    """The prompt hashes whose requests prompt-caching, response-cache and runaway-loop read one by one:
    clusters of kind 'cacheable', duplicate clusters that can be recurring (at least MIN_PER_HASH requests
    over at least MIN_DAYS UTC days, by the cluster's own count and span), and the loops' hashes. Any other
    hash could change no finding, so the stage reads only these (through the prompt_hash index)."""
    wanted: set[str] = set(loops["prompt_hash"].astype(str)) if len(loops) else set()
    if len(clusters):
        kinds = clusters["kinds"]
        first = pd.to_datetime(clusters["first_at"], utc=True).dt.tz_convert(UTC).dt.date
        last = pd.to_datetime(clusters["last_at"], utc=True).dt.tz_convert(UTC).dt.date
        span_days = np.asarray([(b - a).days + 1 for a, b in zip(first, last, strict=True)], dtype=np.int64)
        recurring_kind = np.asarray(kinds.map(lambda k: "duplicate" in k)) \
            & np.asarray(clusters["requests"] >= MIN_PER_HASH) & (span_days >= MIN_DAYS)
        cacheable = np.asarray(kinds.map(lambda k: "cacheable" in k))
        wanted |= set(clusters["prompt_hash"][cacheable | recurring_kind].astype(str))
    return sorted(wanted)


def recurring(inputs: kit.CheckInputs) -> npt.NDArray[np.bool_]:
    """A mask over inputs.requests: successful rows of recurring (project, model, hash) groups."""
    frame = inputs.requests
    keys = candidates(inputs)
    mask = np.zeros(len(frame), dtype=bool)
    if not keys:
        return mask
    ok = np.asarray((frame["status_code"] == 200) & frame["prompt_key"].isin(list(keys)))
    rows = frame[ok]
    day = rows["started_at"].dt.floor("D")
    group = [rows["project_id"], rows["model"], rows["prompt_key"]]
    count = rows.groupby(group, observed=True)["id"].transform("count")
    days = day.groupby(group, observed=True).transform("nunique")
    mask[np.flatnonzero(ok)[np.asarray((count >= MIN_PER_HASH) & (days >= MIN_DAYS))]] = True
    return mask


def run(inputs: kit.CheckInputs) -> list[kit.Finding]:
    findings: list[kit.Finding] = []
    mask = recurring(inputs)
    if not mask.any():  # no recurring hash (most workspaces): no frame to select and sort
        return findings
    rows = kit.successful(inputs.requests[mask]).sort_values(["started_at", "id"])
    if not len(rows):
        return findings
    first = rows.groupby(["project_id", "model", "prompt_key"], observed=True).cumcount() == 0
    for (project_id,), part in kit.groups(rows[~first], ["project_id"]):
        quote = kit.quote_requests(inputs, part, kit.DROPPED, project_id=int(project_id)) \
            if len(part) >= MIN_REPEATS else None
        if quote is None:
            continue
        avoidable = quote.delta.saving_nanos
        hashes = int(part["prompt_key"].nunique())
        devices = int(rows[rows["project_id"] == project_id]["device_id"].nunique())
        models = sorted({str(m) for m in part["model"].unique()})
        findings.append(quote.finding(
            ID, subject="exact-repeats", title=f"Cache the answers to {inputs.project_label(project_id)}'s repeated "
                                               "prompts",
            rationale=(f"{hashes} prompts were sent word for word {len(part):,} more times after their first "
                       f"answer, on {len(models)} model(s) from {devices} device(s), costing "
                       f"{kit.dollars(avoidable)} that a response cache would have saved."),
            confidence="high" if devices >= 3 else "medium", request_count=len(part),
            evidence={"prompt_hashes": hashes, "repeats": len(part), "models": models, "devices": devices,
                      "avoidable_nanos": avoidable, "logged_nanos": int(part["cost_nanos"].sum()),
                      "window_saving_nanos": avoidable, "days_observed": inputs.days_observed},
        ))
    return findings


CHECK = kit.Check(ID, "Cache repeated answers", "The same prompt sent word for word on many days, whose answer a "
                  "response cache could serve.", ("caching", "duplicates"), run)
