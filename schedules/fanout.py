"""The fan-out over workspaces: one message per workspace, all sharing one batch id and one as_of.

Fairness (docs/DESIGN.md, "Fairness"): given each workspace's size (its requests in the refresh's window),
the plan sends the small workspaces first, smallest first, and marks as heavy those at or above the
threshold; the caller sends those to the heavy queue at the lowest priority. Sent first and polled first,
no small workspace waits behind a large one that the fan-out happened to meet before it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class FanoutPlan:
    batch_id: str
    as_of: datetime
    workspace_ids: list[int]  # in the order they are sent
    heavy: frozenset[int] = field(default_factory=frozenset)  # the large ones, sent last

    def is_heavy(self, workspace_id: int) -> bool:
        return workspace_id in self.heavy


def plan_fanout(workspace_ids: list[int], as_of: datetime, sizes: Mapping[int, int] | None = None,
                heavy_from: int | None = None) -> FanoutPlan:
    """Without sizes, the workspaces in the order given. With them, smallest first (ties by the order given),
    and heavy the ones with at least `heavy_from` requests (none when it is None)."""
    ids = list(workspace_ids)
    if sizes is None:
        return FanoutPlan(batch_id=uuid.uuid4().hex, as_of=as_of, workspace_ids=ids)
    ordered = sorted(ids, key=lambda workspace_id: sizes.get(workspace_id, 0))  # stable: ties keep their order
    heavy = frozenset(ws for ws in ordered if heavy_from is not None and sizes.get(ws, 0) >= heavy_from)
    return FanoutPlan(batch_id=uuid.uuid4().hex, as_of=as_of, workspace_ids=ordered, heavy=heavy)


def dispatch(plan: FanoutPlan, enqueue: Callable[[int, str, str], None]) -> int:
    """Call `enqueue(workspace_id, as_of_iso, batch_id)` for each workspace, in the plan's order; return how
    many."""
    for workspace_id in plan.workspace_ids:
        enqueue(workspace_id, plan.as_of.isoformat(), plan.batch_id)
    return len(plan.workspace_ids)
