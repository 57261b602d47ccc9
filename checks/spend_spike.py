"""spend-spike: a project's or a device's spend doubling week over week.

Rule: from the daily rollups, the last 7 complete UTC days before as_of against the 7 days before
those: spend at least doubled, the earlier week spent something, and the excess is at least $1. A
device whose excess lies mostly (half or more) in projects that spiked themselves is left to those.
Impact: the excess of the last week over the week before, as observed. Recurrence 'anomaly': not scaled
to a month and no monthly saving (a spike may end tomorrow, or be the new normal; either way it is not a
saving a lever brings).
Confidence: low (a spike may be wanted: a launch, a backfill); medium when spend tripled or more.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from checks import kit

ID = "spend-spike"
WEEK = 7
MIN_RATIO = 2
MIN_EXCESS_NANOS = 1_000_000_000


def weeks(inputs: kit.CheckInputs) -> tuple[Any, Any, Any]:
    end = inputs.as_of.date()
    return end - timedelta(days=2 * WEEK), end - timedelta(days=WEEK), end


def run(inputs: kit.CheckInputs) -> list[kit.Finding]:
    daily = inputs.daily
    if not len(daily):
        return []
    start, middle, end = weeks(inputs)
    day = np.asarray(daily["day"], dtype="datetime64[D]")
    inside = (day >= np.datetime64(start)) & (day < np.datetime64(end))
    # the two weeks' rows as arrays (a frame selected and assigned a column costs most of a millisecond)
    two = {name: np.asarray(daily[name], dtype=np.int64)[inside]
           for name in ("project_id", "device_id", "cost_nanos", "requests")}
    last = day[inside] >= np.datetime64(middle)  # the last week's rows; the others are the week before
    findings: list[kit.Finding] = []
    spiking_projects: set[int] = set()
    for key, kind in (("project_id", "project"), ("device_id", "device")):
        for scope_id, before, after in _week_sums(two[key], last, two["cost_nanos"]):
            excess = after - before
            if before <= 0 or after < MIN_RATIO * before or excess < MIN_EXCESS_NANOS:
                continue
            if kind == "project" and int(scope_id) >= 0:
                spiking_projects.add(int(scope_id))
            if kind == "device" and _explained(two, last, int(scope_id), spiking_projects, excess):
                continue
            findings.append(_finding(inputs, kind, int(scope_id), before, after, start, end,
                                     int(two["requests"][(two[key] == scope_id) & last].sum())))
    return findings


def _week_sums(scope: npt.NDArray[np.int64], last: npt.NDArray[np.bool_],
               cost: npt.NDArray[np.int64]) -> Iterator[tuple[int, int, int]]:
    """(scope, spend of the week before, spend of the last week) per value of `scope`, in scope order (what a
    pivot table of the two weeks says, without its cost: milliseconds on a few hundred rows)."""
    scopes, at = np.unique(scope, return_inverse=True)
    sums = np.zeros((2, len(scopes)), dtype=np.int64)  # integer sums: exact, as nanos must be
    np.add.at(sums, (last.astype(np.intp), at), cost)
    yield from zip(scopes.tolist(), sums[0].tolist(), sums[1].tolist(), strict=True)


def _explained(two: dict[str, npt.NDArray[np.int64]], last: npt.NDArray[np.bool_], device_id: int,
               projects: set[int], excess: int) -> bool:
    rows = (two["device_id"] == device_id) & np.isin(two["project_id"], list(projects))
    inside = int(two["cost_nanos"][rows & last].sum()) - int(two["cost_nanos"][rows & ~last].sum())
    return inside * 2 >= excess


def _finding(inputs: kit.CheckInputs, kind: str, scope_id: int, before: int, after: int, start: Any,
             end: Any, requests: int) -> kit.Finding:
    excess = after - before
    middle = pd.Timestamp(end - timedelta(days=WEEK), tz="UTC").to_pydatetime()
    scope = kit.SampleScope(project_id=scope_id, successful=False, since=middle) if kind == "project" else \
        kit.SampleScope(device_id=scope_id, successful=False, since=middle)
    label = inputs.project_label(scope_id) if kind == "project" else inputs.device_label(scope_id)
    ratio = (Decimal(after) / Decimal(before)).quantize(Decimal("0.1"))  # for the title only
    return kit.Finding(
        check_id=ID, project_id=kit.project_or_none(scope_id) if kind == "project" else None,
        subject=f"{kind}:{scope_id}", title=f"Spend of {label} up {ratio}× week over week",
        rationale=(f"{label} spent {kit.dollars(after)} in the 7 days to {end - timedelta(days=1)} against "
                   f"{kit.dollars(before)} the week before: {kit.dollars(excess)} above its baseline."),
        impact_nanos=excess, recurrence=kit.ANOMALY, confidence="medium" if after >= 3 * before else "low",
        request_count=requests, sample_request_ids=inputs.sample(scope),
        device_id=scope_id if kind == "device" else None,
        evidence={"scope": kind, f"{kind}_id": scope_id, "baseline_week_nanos": before, "last_week_nanos": after,
                  "excess_nanos": excess, "weeks": [str(start), str(end)]},
    )


CHECK = kit.Check(ID, "Spend spike", "A project's or a device's spend doubling week over week.",
                  ("anomaly", "cost"), run)
