"""What each section shows, computed from the report data: buckets, shares, changes, billable hours.

Pure and exact: sums of integer nanos, percentages as Decimal; charts get their SVG here so the
templates only place things."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from core.errors import UserError
from core.money import money, ratio_percent
from pdf import charts, palette
from pdf.model import DeviceSpend, ExecutiveData, ModelSpend, ProjectReportData
from pdf.periods import Granularity, Period, bucket_start, buckets, granularity_for

DEVICE_ROWS = 15  # the rest are summed into one "others" row
DEVICE_BARS = 10
MODEL_BARS = 12


@dataclass(frozen=True)
class Row:
    """A table row: label cells are escaped by the template; figures are preformatted here."""

    cells: tuple[str, ...]
    swatch: str | None = None


def share(part: int, whole: int) -> str:
    if whole == 0:
        return "–"
    return f"{(Decimal(part) * 100 / Decimal(whole)).quantize(Decimal('0.1'), ROUND_HALF_UP)} %"


def change(current: int, previous: int) -> str:
    """'+12.3 %' / '−4.0 %' against the previous period, in words when there is nothing to compare."""
    if previous == 0:
        return "no spend in the previous period" if current else "no change (no spend in either period)"
    ratio = ((Decimal(current) - Decimal(previous)) * 100 / Decimal(previous)).quantize(Decimal("0.1"),
                                                                                         ROUND_HALF_UP)
    return f"{'+' if ratio > 0 else '−' if ratio < 0 else '±'}{abs(ratio)} %"


def billable_hours(cost_nanos: int, hourly_rate_nanos: int) -> str:
    hours = (Decimal(cost_nanos) / Decimal(hourly_rate_nanos)).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return f"{hours:,} h"


def bucket_label(start: date, granularity: Granularity) -> str:
    if granularity is Granularity.MONTH:
        return start.strftime("%b\n%Y")  # two lines: up to 24 months side by side without overlapping
    return start.strftime("%d %b")


def time_series(data: ProjectReportData) -> tuple[Granularity, list[date], dict[date, dict[str, int]],
                                                  dict[date, int]]:
    """Per bucket: spend by provider and request count (integer sums of the rollup's days)."""
    period = data.period
    granularity = granularity_for(period)
    starts = buckets(period, granularity)
    spend: dict[date, dict[str, int]] = {start: defaultdict(int) for start in starts}
    requests: dict[date, int] = dict.fromkeys(starts, 0)
    for day in data.days:
        start = bucket_start(day.day, granularity, period)
        spend[start][day.provider] += day.cost_nanos
        requests[start] += day.requests
    return granularity, starts, spend, requests


def device_rows(devices: list[DeviceSpend], total: int) -> list[Row]:
    rows = [Row((d.device_name, d.owner or "—", f"{d.requests:,}", money(d.cost_nanos), share(d.cost_nanos, total)))
            for d in devices[:DEVICE_ROWS]]
    rest = devices[DEVICE_ROWS:]
    if rest:
        nanos = sum(d.cost_nanos for d in rest)
        rows.append(Row((f"{len(rest)} other devices", "", f"{sum(d.requests for d in rest):,}", money(nanos),
                         share(nanos, total))))
    return rows


def model_rows(models: list[ModelSpend], total: int) -> list[Row]:
    return [Row((m.provider, m.model, f"{m.requests:,}", f"{m.input_tokens:,}", f"{m.output_tokens:,}",
                 money(m.cost_nanos), share(m.cost_nanos, total)), swatch=palette.model_colour(m.provider, m.model))
            for m in models]


def _short(text: str, most: int = 34) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"


def project_view(data: ProjectReportData) -> dict[str, object]:
    total = data.cost_nanos
    view: dict[str, object] = {
        "total": money(total), "requests": f"{data.requests:,}", "errors": f"{data.errors:,}",
        "previous": money(data.previous_cost_nanos), "change": change(total, data.previous_cost_nanos),
        "previous_span": _span(*data.period.previous()),
        "empty": data.requests == 0 and total == 0,
        "devices": device_rows(data.devices, total), "device_count": len(data.devices),
        "models": model_rows(data.models, total),
        "hourly_rate": money(data.hourly_rate_nanos) if data.hourly_rate_nanos else None,
        "hours": billable_hours(total, data.hourly_rate_nanos) if data.hourly_rate_nanos else None,
        "recommendations": [(r.title, r.rationale, money(r.monthly_saving_nanos), r.confidence)
                            for r in data.recommendations],
        "recommendations_total": money(data.quoted_total_nanos),
        "alternatives": data.quoted_total_nanos < sum(r.monthly_saving_nanos for r in data.recommendations),
        "charts": {},
    }
    if not view["empty"]:
        view["charts"] = _project_charts(data)
    return view


def _project_charts(data: ProjectReportData) -> dict[str, str]:
    granularity, starts, spend, requests = time_series(data)
    labels = [bucket_label(s, granularity) for s in starts]
    device_bars = [charts.Bar(_short(f"{d.device_name} ({d.owner})" if d.owner else d.device_name), d.cost_nanos,
                              palette.ACCENT) for d in data.devices[:DEVICE_BARS]]
    model_bars = [charts.Bar(_short(m.model), m.cost_nanos, palette.model_colour(m.provider, m.model))
                  for m in data.models[:MODEL_BARS]]
    return {
        "granularity": granularity.value,
        "over_time": charts.stacked_over_time(
            [charts.StackedBucket(label, dict(spend[s])) for label, s in zip(labels, starts, strict=True)],
            "chart-spend-over-time"),
        "devices": charts.horizontal_bars(device_bars, "chart-devices"),
        "models": charts.horizontal_bars(model_bars, "chart-models"),
        "volume": charts.volume_with_cost(labels, [requests[s] for s in starts],
                                          [sum(spend[s].values()) for s in starts], "chart-volume"),
    }


def _span(start: date, end: date) -> str:
    try:
        return Period(start, end).label()
    except UserError:  # a label only; a span refused as a period still has a plain one
        return f"{start} – {end}"


def executive_view(data: ExecutiveData) -> dict[str, object]:
    spans = [data.this_month, data.last_month, data.year_to_date]
    if (data.period_spend.start, data.period_spend.end) != (data.this_month.start, data.this_month.end):
        spans = [data.period_spend, data.previous_period, *spans]  # a custom period: show it and the one before
    period_total = data.period_spend.cost_nanos
    months = sorted({m.month for m in data.months})
    by_month: dict[date, dict[str, int]] = {month: defaultdict(int) for month in months}
    for line in data.months:
        by_month[line.month][line.provider] += line.cost_nanos
    chart = (charts.stacked_over_time([charts.StackedBucket(m.strftime("%b"), dict(by_month[m])) for m in months],
                                      "chart-year-to-date", height_in=2.4) if months else None)
    return {
        "headline": [(s.label, _span(s.start, s.end), money(s.cost_nanos))
                     for s in (data.this_month, data.last_month, data.year_to_date)],
        "spans": [(s.label, _span(s.start, s.end), f"{s.requests:,}", money(s.cost_nanos)) for s in spans],
        "month_change": change(data.this_month.cost_nanos, data.last_month.cost_nanos),
        "period_change": change(period_total, data.previous_period.cost_nanos),
        "period_total": money(period_total),
        "top_projects": [(p.name, p.slug, money(p.cost_nanos), share(p.cost_nanos, period_total))
                         for p in data.top_projects],
        "reconciliation": [(r.provider, r.period.strftime("%B %Y"), money(r.logged_nanos),
                            money(r.billed_nanos) if r.billed_nanos is not None else "not billed yet",
                            money(r.variance_nanos) if r.variance_nanos is not None else "—",
                            _ratio(r.variance_ratio), r.band or r.status.replace("_", " "))
                           for r in data.reconciliation],
        "savings": [(s.month.strftime("%B %Y"), f"{s.recommendations:,}", money(s.saved_nanos)) for s in data.savings],
        "savings_total": money(sum(s.saved_nanos for s in data.savings)),
        "chart": chart,
        "empty": data.year_to_date.requests == 0 and data.year_to_date.cost_nanos == 0,
    }


def _ratio(text: str | None) -> str:
    """analysis.reconciliation.variance_ratio is |logged − billed| / billed: a size, shown unsigned."""
    if text is None:
        return "—"
    return f"{ratio_percent(Decimal(text))} %"
