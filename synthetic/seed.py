"""seed_workspace: generate, price and write one synthetic workspace in one transaction."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.db import Conn
from core.errors import present
from pricing import RateTable, load_rates
from store import seed_writes
from synthetic import billing
from synthetic.catalog import (
    COST_CENTERS,
    DEVICES,
    PROJECTS,
    owner_email,
    project_slug,
    workspace_name,
)
from synthetic.columns import ATTRIBUTION_TIERS, SERVICE_TIERS, Columns, categorical
from synthetic.generator import Plan
from synthetic.options import SeedOptions
from synthetic.report import SeedReport
from synthetic.rows import generate_rows

BUDGET_HEADROOM_PERCENT = 115
BUDGET_STEP_NANOS = 100 * billing.NANOS_PER_DOLLAR


@dataclass(frozen=True)
class Target:
    """Where the rows go: the days to write and the workspace they extend (if any)."""

    days: tuple[dt.date, ...]
    first_day: dt.date  # the workspace's first day, which anchors one-off patterns
    timezone: str
    existing: seed_writes.ExistingWorkspace | None


def seed_workspace(conn: Conn, options: SeedOptions, table: RateTable | None = None) -> SeedReport:
    """Create (or with append, extend) the workspace `options.slug`; all of it or nothing."""
    table = table or load_rates()
    began = time.perf_counter()
    with conn.transaction():
        seed_writes.lock_slug(conn, options.slug)
        target = resolve_target(options, seed_writes.find_workspace(conn, options.slug), _today())
        generated = generate_rows(options, target.days, target.first_day, target.timezone, table)
        rows, planted = generated.rows, list(generated.planted)
        generated_at = time.perf_counter()
        workspace_id, project_ids, device_ids = _workspace_ids(conn, options, target, rows)
        seed_writes.copy_requests(conn, requests_frame(rows, generated.plan, workspace_id, project_ids, device_ids))
        if options.planted("billing_variance"):
            planted += _write_statements(conn, options, workspace_id, target)
    committed_at = time.perf_counter()
    return SeedReport(
        workspace_id=workspace_id, slug=options.slug, requests=len(rows["model"]), days=len(target.days),
        first_day=target.days[0], last_day=target.days[-1], cost_nanos=_sum(rows["cost_nanos"]),
        appended=options.append, planted=planted,
        seconds={"generate": round(generated_at - began, 3), "write": round(committed_at - generated_at, 3)},
    )


def resolve_target(
    options: SeedOptions, existing: seed_writes.ExistingWorkspace | None, today: dt.date
) -> Target:
    """The days to seed, or a ValueError a person can act on."""
    slug = options.slug
    if options.end_date is not None and options.end_date > today:
        raise ValueError(f"end date {options.end_date} is after today ({today}, UTC): the end date is the first "
                         "day not seeded, and the seed writes no rows in the future")
    if existing is None and options.append:
        raise ValueError(f"workspace '{slug}' does not exist, so there is nothing to append to; "
                         "drop --append to create it")
    if existing is not None and not options.append:
        raise ValueError(f"workspace '{slug}' already exists; pass --append to add days or pick another slug")
    if existing is None or existing.last_day is None:
        end = options.end_date or today
        start = end - dt.timedelta(days=options.days)
        first = existing.first_day if existing and existing.first_day else start
        timezone = existing.timezone if existing else options.timezone
        return Target(_day_range(start, end), first, timezone, existing)
    after = existing.last_day + dt.timedelta(days=1)
    if options.end_date is None:  # continue from the last day, for `days` days but never past yesterday
        end = min(after + dt.timedelta(days=options.days), today)
        if end <= after:
            raise ValueError(f"workspace '{slug}' already has days up to {existing.last_day}: nothing to append "
                             "before tomorrow, and the seed writes no rows in the future")
        return Target(_day_range(after, end), existing.first_day or after, existing.timezone, existing)
    end = options.end_date
    start = end - dt.timedelta(days=options.days)
    if start < after:
        raise ValueError(f"workspace '{slug}' already has days up to {existing.last_day}; an append of "
                         f"{options.days} days must end on or after {after + dt.timedelta(days=options.days)} "
                         "(leave out the end date to continue from the last day)")
    first_day = present(existing.first_day, "the workspace's first day")
    return Target(_day_range(start, end), first_day, existing.timezone, existing)


def _day_range(start: dt.date, end: dt.date) -> tuple[dt.date, ...]:
    return tuple(start + dt.timedelta(days=i) for i in range((end - start).days))


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _workspace_ids(
    conn: Conn, options: SeedOptions, target: Target, rows: Columns
) -> tuple[int, list[int], list[int]]:
    """The workspace, project and device ids (by catalog position), creating them on a first seed."""
    if target.existing is not None:
        workspace_id = target.existing.id
        by_slug = seed_writes.project_ids(conn, workspace_id)
        by_name = seed_writes.device_ids(conn, workspace_id)
    else:
        workspace_id = seed_writes.insert_workspace(
            conn, options.slug, workspace_name(options.slug), target.timezone,
            monthly_budget(_sum(rows["cost_nanos"]), len(target.days)))
        centers = seed_writes.insert_cost_centers(conn, workspace_id, COST_CENTERS)
        by_slug = seed_writes.insert_projects(conn, workspace_id, _new_projects(options.slug), centers)
        by_name = seed_writes.insert_devices(conn, workspace_id, _new_devices(options.slug, target.first_day))
    project_list, device_list = _ids_in_order(options.slug, by_slug, by_name)
    return workspace_id, project_list, device_list


def _ids_in_order(slug: str, by_slug: dict[str, int], by_name: dict[str, int]) -> tuple[list[int], list[int]]:
    missing = [project_slug(slug, p.key) for p in PROJECTS if project_slug(slug, p.key) not in by_slug]
    missing += [d.name for d in DEVICES if d.name not in by_name]
    if missing:
        raise ValueError(f"workspace '{slug}' was not made by the synthetic seeder (it lacks "
                         f"{', '.join(missing[:3])}); append only to a seeded workspace")
    return [by_slug[project_slug(slug, p.key)] for p in PROJECTS], [by_name[d.name] for d in DEVICES]


def _new_projects(slug: str) -> list[seed_writes.NewProject]:
    return [
        seed_writes.NewProject(
            project_slug(slug, p.key), p.name, p.cost_center,
            None if p.hourly_rate_dollars is None else p.hourly_rate_dollars * billing.NANOS_PER_DOLLAR,
        )
        for p in PROJECTS
    ]


def _new_devices(slug: str, first_day: dt.date) -> list[seed_writes.NewDevice]:
    morning = dt.datetime(first_day.year, first_day.month, first_day.day, 9, tzinfo=dt.UTC)
    return [
        seed_writes.NewDevice(d.name, owner_email(slug, d.owner), d.status,
                              morning - dt.timedelta(days=d.paired_days_before))
        for d in DEVICES
    ]


def monthly_budget(cost_nanos: int, days: int) -> int:
    """A budget a little above the seeded pace, in whole hundreds of dollars (integer nanos)."""
    monthly = cost_nanos * 30 * BUDGET_HEADROOM_PERCENT // (100 * max(days, 1))
    return max(1, -(-monthly // BUDGET_STEP_NANOS)) * BUDGET_STEP_NANOS


def requests_frame(
    rows: Columns, plan: Plan, workspace_id: int, project_ids: list[int], device_ids: list[int]
) -> pd.DataFrame:
    """The rows as meter.requests columns; nullable ints as Int64, text codes as categoricals."""
    facts = plan.models.facts
    providers = sorted(set(facts.providers))
    provider_code = np.array([providers.index(p) for p in facts.providers])[rows["model"]]
    project = rows["project"]
    return pd.DataFrame({
        "workspace_id": np.full(len(project), workspace_id, dtype=np.int64),
        "device_id": np.asarray(device_ids, dtype=np.int64)[rows["device"]],
        "project_id": _nullable(np.asarray(project_ids, dtype=np.int64)[np.maximum(project, 0)], project >= 0),
        "attribution_tier": categorical(rows["attribution"], ATTRIBUTION_TIERS),
        "provider": categorical(provider_code, providers),
        "model": categorical(rows["model"], facts.names),
        "provider_request_id": rows["provider_request_id"],
        "started_at": rows["started"],
        "latency_ms": rows["latency_ms"],
        "status_code": rows["status"],
        "service_tier": categorical(rows["tier"], SERVICE_TIERS),
        "input_tokens": rows["input_tokens"],
        "cache_read_tokens": rows["cache_read_tokens"],
        "cache_write_tokens": rows["cache_write_tokens"],
        "output_tokens": rows["output_tokens"],
        "reasoning_tokens": rows["reasoning_tokens"],
        "max_tokens": _nullable(rows["max_tokens"], rows["max_tokens"] > 0),
        "cost_nanos": rows["cost_nanos"],
        "rates_version": rows["rates_version"],
        "prompt_hash": rows["prompt_hash"],
        "synced_at": rows["synced"],
    })


def _nullable(values: np.ndarray, present: np.ndarray) -> pd.arrays.IntegerArray:
    return pd.arrays.IntegerArray(values.astype(np.int64), ~present)


def _write_statements(conn: Conn, options: SeedOptions, workspace_id: int, target: Target) -> list[dict[str, object]]:
    """Statements for every month this seed touched, over the workspace's whole logged spend.

    Entered at the end of the seeded range, so an append's statement supersedes the earlier one.
    """
    first, end = target.days[0], target.days[-1] + dt.timedelta(days=1)
    logged = seed_writes.logged_totals(conn, workspace_id, first.replace(day=1))
    variance = options.variance()
    found = billing.statements(logged, variance)
    entered_at = dt.datetime.combine(end, dt.time(), tzinfo=dt.UTC)
    seed_writes.insert_billing_statements(conn, workspace_id, [
        seed_writes.NewStatement(s.provider, s.period, s.raw_text, f"finance@{options.slug}.example", entered_at)
        for s in found
    ])
    return [billing.report_entry(s, _month_to_date(s.period, end), variance[s.provider]) for s in found]


def _month_to_date(period: dt.date, end: dt.date) -> bool:
    next_month = (period.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return end < next_month


def _sum(values: np.ndarray) -> int:
    return int(values.sum(dtype=np.int64))
