"""The fleet benchmark's population: many small workspaces and a few large ones, sizes from long tails.

Small workspaces: lognormal sizes around a few hundred requests over 30 days (the bulk of a hosted product's
customers); large ones share what is left of the total, Pareto-like (the largest about half). Every workspace
is written by the seeder (synthetic.seed_workspace: generate, price, COPY), a large one a chunk of days at a
time so memory stays bounded. The large ones are seeded first, so they have the lowest ids and the nightly
fan-out meets them first (issue 18's fairness case: small ones must not wait behind them).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import psycopg

from bench.bench_seed import requests_per_day_for
from pricing import load_rates
from synthetic import PLANTS, SeedOptions, seed_workspace

Conn = psycopg.Connection[tuple[object, ...]]

SMALL_DAYS = 30
SMALL_MEDIAN = 300  # requests over the 30 days: "a workspace of a few hundred requests"
SMALL_SIGMA = 0.7  # lognormal spread: most between 100 and 1,000, a tail to a few thousand
SMALL_CAP = 5_000
LARGE_DAYS = 60
LARGE_SHARES = (0.5, 0.3, 0.2)  # of what the small ones leave, largest first
CHUNK_ROWS = 1_000_000  # at most this many rows generated in memory at once


@dataclass(frozen=True)
class Member:
    slug: str
    kind: str  # 'small' or 'large'
    target: int  # requests asked for (the seeder's rhythm makes the count approximate)
    days: int


@dataclass
class Seeded:
    workspace_id: int
    member: Member
    requests: int


def plan_population(total: int, small: int, seed: int = 7) -> list[Member]:
    """`small` small workspaces and len(LARGE_SHARES) large ones, about `total` requests in all."""
    rng = np.random.default_rng(seed)
    sizes = np.clip(np.rint(rng.lognormal(math.log(SMALL_MEDIAN), SMALL_SIGMA, small)), 60, SMALL_CAP).astype(int)
    left = total - int(sizes.sum())
    if left < 30_000:
        raise ValueError(f"{total:,} requests leave {left:,} for the large workspaces after {small} small ones "
                         f"(about {int(sizes.sum()):,}): ask for more requests or fewer small workspaces")
    large = [Member(f"fleet-large-{i + 1}", "large", int(left * share), LARGE_DAYS)
             for i, share in enumerate(LARGE_SHARES)]
    return large + [Member(f"fleet-small-{i + 1:04d}", "small", int(n), SMALL_DAYS) for i, n in enumerate(sizes)]


def seed_population(conn: Conn, members: list[Member], end: date) -> list[Seeded]:
    """Seed every member (its last day is the day before `end`), printing progress; no plants on the small
    ones (a plant's rows would outweigh a few hundred requests), every plant on the large ones."""
    table = load_rates()
    seeded: list[Seeded] = []
    began = time.perf_counter()
    for index, member in enumerate(members):
        per_day = max(1, requests_per_day_for(member.target, end, member.days))
        chunk_days = max(1, min(member.days, CHUNK_ROWS // per_day))
        workspace_id, count = 0, 0
        for start in range(0, member.days, chunk_days):
            span = min(chunk_days, member.days - start)
            options = SeedOptions(slug=member.slug, days=span, requests_per_day=per_day, seed=11 + index,
                                  end_date=end - timedelta(days=member.days - start - span), append=start > 0,
                                  plants=frozenset() if member.kind == "small" else frozenset(PLANTS))
            report = seed_workspace(conn, options, table)
            workspace_id, count = report.workspace_id, count + report.requests
        seeded.append(Seeded(workspace_id, member, count))
        if member.kind == "large" or (index + 1) % 100 == 0 or index + 1 == len(members):
            print(f"  seeded {index + 1:4d}/{len(members)} workspaces, {sum(s.requests for s in seeded):,} requests"
                  f"  ({time.perf_counter() - began:5.0f} s)", flush=True)
    conn.execute("vacuum analyze meter.requests")
    return seeded


def seed_next_day(conn: Conn, seeded: list[Seeded], end: date) -> None:
    """One more day of requests on every workspace (the day `end`, at each one's own daily rate; no plants). The
    workspaces keep their first night's sizes in `seeded` (a small one gains about a thirtieth)."""
    table = load_rates()
    for index, item in enumerate(seeded):
        member = item.member
        per_day = max(1, requests_per_day_for(member.target, end, member.days))
        options = SeedOptions(slug=member.slug, days=1, requests_per_day=per_day, seed=5_000 + index,
                              end_date=end + timedelta(days=1), append=True, plants=frozenset())
        seed_workspace(conn, options, table)
    conn.execute("vacuum analyze meter.requests")
