"""What a seed did and planted, for people (lines) and for machines (to_dict)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from core.money import money


@dataclass(frozen=True)
class SeedReport:
    workspace_id: int
    slug: str
    requests: int
    days: int
    first_day: dt.date  # the first day this seed wrote (UTC)
    last_day: dt.date  # the last day this seed wrote (UTC), inclusive
    cost_nanos: int  # logged cost of the rows this seed wrote
    appended: bool = False
    planted: list[dict[str, Any]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # 'generate' (and price), 'write' (and commit)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["first_day"] = self.first_day.isoformat()
        data["last_day"] = self.last_day.isoformat()
        return data

    def lines(self) -> list[str]:
        verb = "appended to" if self.appended else "seeded"
        lines = [
            f"{verb} workspace '{self.slug}' (id {self.workspace_id}): {self.requests:,} requests over "
            f"{self.days} days {self.first_day}..{self.last_day}, logged {money(self.cost_nanos)}"
        ]
        for item in self.planted:
            lines.append(f"  {item['pattern']:<18} {item['what']}")
            lines.append(f"  {'':<18} where {_where(item['where'])}; rows {item['rows']:,}"
                         + _size(item.get("expected_nanos")))
        return lines


def _where(where: dict[str, Any]) -> str:
    parts = []
    for key, value in where.items():
        if isinstance(value, list):
            shown = ", ".join(str(v)[:12] if key == "prompt_hashes" else str(v) for v in value[:4])
            value = shown + (f" (+{len(value) - 4})" if len(value) > 4 else "")
        parts.append(f"{key}={value}")
    return " ".join(parts)


def _size(nanos: int | None) -> str:
    return "" if nanos is None else f"; expected {money(nanos)}"

