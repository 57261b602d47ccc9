"""Hand-made report data for the renderer's tests and the benchmark (no database)."""

from __future__ import annotations

import random
from datetime import date, timedelta

from pdf.model import (
    Branding,
    DaySpend,
    DeviceSpend,
    ExecutiveData,
    ModelSpend,
    MonthProviderSpend,
    OpenRecommendation,
    ProjectReportData,
    ProjectShare,
    ReconciliationLine,
    SavingsMonth,
    SpanSpend,
)
from pdf.periods import Period

PROVIDERS = ["anthropic", "openai", "gemini", "xai"]
MODELS = {"anthropic": ["claude-sonnet-4-6", "claude-haiku-4-5", "claude-opus-4-1"],
          "openai": ["gpt-5", "gpt-5-mini", "gpt-4.1"], "gemini": ["gemini-2.5-pro", "gemini-2.5-flash",
                                                                   "gemini-2.5-flash-lite"],
          "xai": ["grok-4", "grok-3-mini", "grok-code-fast-1"]}


def project_data(period: Period, *, devices: int = 6, models: int = 5, seed: int = 1,
                 name: str = "Batch summariser", slug: str = "acme-batch", owner: str | None = "alice@example.com",
                 hourly_rate_nanos: int | None = None,
                 logo: bytes | None = None, workspace_name: str = "Acme AI", empty: bool = False,
                 recommendations: int = 2) -> ProjectReportData:
    rng = random.Random(seed)
    days: list[DaySpend] = []
    if not empty:
        day = period.start
        while day < period.end:
            for provider in PROVIDERS[:2]:
                days.append(DaySpend(day, provider, rng.randint(50, 900), rng.randint(0, 5),
                                     rng.randint(1, 40_000) * 1_000_003))
            day += timedelta(days=1)
    total = sum(d.cost_nanos for d in days)
    all_models = [(p, m) for p in PROVIDERS for m in MODELS[p]][:models]
    model_spend = _split(total, len(all_models), rng)
    device_spend = _split(total, devices, rng)
    requests = sum(d.requests for d in days)
    return ProjectReportData(
        branding=Branding("acme", workspace_name, logo), project_slug=slug, project_name=name,
        hourly_rate_nanos=hourly_rate_nanos, period=period, previous_cost_nanos=0 if empty else total * 9 // 10,
        days=days,
        devices=[] if empty else sorted((DeviceSpend(f"dev-{i:02d}-mbp", owner if i == 0 else f"dev{i}@example.com",
                                                     requests // devices, nanos)
                                         for i, nanos in enumerate(device_spend)), key=lambda d: -d.cost_nanos),
        models=[] if empty else sorted((ModelSpend(p, m, requests // len(all_models), 123_456, 7_890, nanos)
                                        for (p, m), nanos in zip(all_models, model_spend, strict=True)),
                                       key=lambda m: -m.cost_nanos),
        rates_versions=["2026-10-01"],
        recommendations=[OpenRecommendation(f"Swap claude-sonnet-4-6 → claude-haiku-4-5 on {slug} ({i})",
                                            "Short prompts with short answers; the cheaper sibling scores the same.",
                                            12_340_000_000 + i, "high") for i in range(recommendations)],
    )


def _split(total: int, parts: int, rng: random.Random) -> list[int]:
    if parts == 0:
        return []
    weights = [rng.randint(1, 100) for _ in range(parts)]
    shares = [total * w // sum(weights) for w in weights]
    shares[0] += total - sum(shares)
    return shares


def executive_data(period: Period, *, workspace_name: str = "Acme AI", empty: bool = False) -> ExecutiveData:
    def span(label: str, start: date, end: date, nanos: int) -> SpanSpend:
        return SpanSpend(label, start, end, 0 if empty else nanos // 10_000_000, 0 if empty else nanos)

    year = date(period.last_day.year, 1, 1)
    months = [] if empty else [MonthProviderSpend(date(year.year, m, 1), p, (m * 7 + i) * 10_000_000_000)
                               for m in range(1, period.last_day.month + 1) for i, p in enumerate(PROVIDERS[:3])]
    return ExecutiveData(
        branding=Branding("acme", workspace_name), period=period,
        this_month=span("This month", period.start, period.end, 1_234_567_890_123),
        last_month=span("Last month", period.start - timedelta(days=30), period.start, 1_111_111_111_111),
        year_to_date=span("Year to date", year, period.end, 9_876_543_210_987),
        period_spend=span("Period", period.start, period.end, 1_234_567_890_123),
        previous_period=span("Previous period", period.start - timedelta(days=30), period.start, 1_111_111_111_111),
        top_projects=[] if empty else [ProjectShare("acme-batch", "Batch summariser", 600_000_000_000),
                                       ProjectShare("acme-chat", "Support chat", 400_000_000_000),
                                       ProjectShare("acme-eval", "Evals", 100_000_000_000)],
        months=months,
        reconciliation=[] if empty else [
            ReconciliationLine("anthropic", period.start, 800_000_000_000, 812_000_000_000, 12_000_000_000, "0.015",
                               "amber", "ok"),
            ReconciliationLine("openai", period.start, 400_000_000_000, None, None, None, None, "awaiting_bill")],
        savings=[] if empty else [SavingsMonth(period.start, 2, 45_670_000_000)],
        rates_versions=["2026-10-01"],
    )
