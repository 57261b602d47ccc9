"""The fan-out over workspaces: one message per workspace, all sharing one batch id and one as_of."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class FanoutPlan:
    batch_id: str
    as_of: datetime
    workspace_ids: list[int]


def plan_fanout(workspace_ids: list[int], as_of: datetime) -> FanoutPlan:
    return FanoutPlan(batch_id=uuid.uuid4().hex, as_of=as_of, workspace_ids=list(workspace_ids))


def dispatch(plan: FanoutPlan, enqueue: Callable[[int, str, str], None]) -> int:
    """Call `enqueue(workspace_id, as_of_iso, batch_id)` for each workspace; return how many."""
    for workspace_id in plan.workspace_ids:
        enqueue(workspace_id, plan.as_of.isoformat(), plan.batch_id)
    return len(plan.workspace_ids)
