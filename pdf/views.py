"""What each section shows, computed from the report data: buckets, shares, changes, billable hours.

Pure and exact: sums of integer nanos, percentages as Decimal; charts get their SVG here so the
templates only place things. Wherever a reader can add a table's rows to a total, they add up: the rows
of a breakdown (spend by device, model, project, month) are rounded so that they do (core.money.money_column
for money, `shares` for percentages); a recommendation has an identity and shows its own amount everywhere,
so its kind's figure is the total of the rows shown (core.money.total_of_rows). Each table says which.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from core.errors import UserError
from core.money import (
    VARIANCE_RULE,
    cents,
    format_dollars,
    money,
    money_column,
    ratio_percent,
    reconciled,
    total_of_rows,
)
from pdf import charts, palette
from pdf.model import (
    Counting,
    DeviceSpend,
    ExecutiveData,
    ModelSpend,
    OpenRecommendation,
    ProjectReportData,
    SpanSpend,
)
from pdf.outlook import outlook
from pdf.periods import Granularity, Period, bucket_start, buckets, granularity_for

DEVICE_ROWS = 15  # the rest are summed into one "others" row
DEVICE_BARS = 10
MODEL_BARS = 12
TENTHS = 1000  # shares are shown to a tenth of a percent: 1000 tenths make the whole


@dataclass(frozen=True)
class Row:
    """A table row: label cells are escaped by the template; figures are preformatted here."""

    cells: tuple[str, ...]
    swatch: str | None = None


def shares(parts: list[int]) -> list[str]:
    """Each part's share of their sum to a tenth of a percent, adding up to 100.0 % (largest remainder,
    as core.money.cents_adding_up rounds cents). Parts are spend: never negative."""
    whole = sum(parts)
    if whole <= 0:
        return ["–"] * len(parts)
    tenths = [part * TENTHS // whole for part in parts]
    losses = [part * TENTHS - t * whole for part, t in zip(parts, tenths, strict=True)]
    for index in sorted(range(len(parts)), key=lambda i: -losses[i])[:TENTHS - sum(tenths)]:
        tenths[index] += 1
    return [f"{Decimal(t) / 10:.1f} %" for t in tenths]


def day_label(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


def change(current: int, previous: int, previous_start: date, counting: Counting) -> str:
    """'+12.3 %' / '−4.0 %' against the span before, or why there is nothing fair to compare with: the
    workspace had no data yet on some day of it (a ratio against a $0.00 it never recorded would mislead)."""
    if not counting.data_before(previous_start):
        return f"no data before {day_label(counting.first_day)}" if counting.first_day else "no data yet"
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


def device_rows(devices: list[DeviceSpend]) -> tuple[list[Row], Row]:
    """The largest devices, the rest in one row, and the total row they add up to."""
    shown = [(d.device_name, d.owner or "—", d.requests, d.cost_nanos) for d in devices[:DEVICE_ROWS]]
    rest = devices[DEVICE_ROWS:]
    if rest:
        shown.append((f"{len(rest)} other devices", "", sum(d.requests for d in rest), sum(d.cost_nanos for d in rest)))
    spend = money_column([row[3] for row in shown])
    percent = shares([row[3] for row in shown])
    rows = [Row((name, owner, f"{requests:,}", spent, pct))
            for (name, owner, requests, _), spent, pct in zip(shown, spend, percent, strict=True)]
    total = Row(("total", "", f"{sum(d.requests for d in devices):,}", money(sum(d.cost_nanos for d in devices)),
                 "100.0 %" if shown and sum(row[3] for row in shown) else "–"))
    return rows, total


def model_rows(models: list[ModelSpend]) -> tuple[list[Row], Row]:
    spend = money_column([m.cost_nanos for m in models])
    percent = shares([m.cost_nanos for m in models])
    rows = [Row((m.provider, m.model, f"{m.requests:,}", f"{m.input_tokens:,}", f"{m.output_tokens:,}", spent, pct),
                swatch=palette.model_colour(m.provider, m.model))
            for m, spent, pct in zip(models, spend, percent, strict=True)]
    whole = sum(m.cost_nanos for m in models)
    total = Row(("total", "", f"{sum(m.requests for m in models):,}", f"{sum(m.input_tokens for m in models):,}",
                 f"{sum(m.output_tokens for m in models):,}", money(whole), "100.0 %" if whole else "–"))
    return rows, total


UNITS = {"monthly": "/month", "one_off": "one-off, already spent", "anomaly": "above the usual spend"}


def recommendation_rows(recommendations: list[OpenRecommendation]) -> list[tuple[str, str, str, str, str]]:
    """(title, rationale, confidence, amount, what the amount is): each amount the recommendation's own
    (`money`, as the command line shows it); the sentence above gives each kind's total of these rows."""
    return [(r.title, r.rationale, r.confidence, money(r.amount_nanos), UNITS.get(r.recurrence, r.recurrence))
            for r in recommendations]


def recommendations_summary(data: ProjectReportData) -> str:
    """One sentence: how many, and each kind of money on its own (a one-off is never added to a month). The
    monthly figure is what the quotes save taken together (the catalog's); when it is not what the rows
    shown add up to, the sentence says both and why."""
    recs = data.recommendations
    monthly = [r for r in recs if r.recurrence == "monthly"]
    parts: list[str] = []
    listed = total_of_rows(r.monthly_saving_nanos for r in monthly)
    together = listed if data.recommendations_total_nanos is None else cents(data.recommendations_total_nanos)
    if len(monthly) == 1:
        parts.append(f"a monthly saving of {format_dollars(together)}")
    elif monthly:
        text = f"monthly savings of {format_dollars(together)} a month taken together"
        if together != listed and data.quoted_total_nanos < sum(r.monthly_saving_nanos for r in monthly):
            text += f" (not the {format_dollars(listed)} their quotes add up to: levers on the same requests are " \
                    "not added)"
        elif together != listed:
            text += f" (the quotes below, each rounded to the cent, add up to {format_dollars(listed)})"
        parts.append(text)
    one_off = [r for r in recs if r.recurrence == "one_off"]
    if one_off:
        parts.append(f"{format_dollars(total_of_rows(r.impact_nanos for r in one_off))} of one-off waste already "
                     "spent")
    anomalies = [r for r in recs if r.recurrence == "anomaly"]
    if anomalies:
        parts.append(f"{format_dollars(total_of_rows(r.impact_nanos for r in anomalies))} above the usual spend in "
                     f"{'an anomaly' if len(anomalies) == 1 else f'{len(anomalies)} anomalies'}")
    return f"{len(recs)} open recommendation{'s' if len(recs) > 1 else ''}: {'; '.join(parts)}."


def counted_line(counting: Counting) -> str:
    """The footer's statement of which requests the figures count."""
    if counting.through is None:
        return "No request of these days had been received when this report was made."
    return f"Counts the requests received by {moment(counting.through)}."


def moment(at: datetime) -> str:
    return f"{at.day} {at:%b %Y %H:%M:%S} UTC"


def today_note(counting: Counting, period: Period) -> str | None:
    """The header's note when the period asked for runs into today, which is not over."""
    if counting.asked_end is None:
        return None
    return (f"The period asked for runs to {day_label(counting.asked_end - timedelta(days=1))}; the figures stop at "
            f"the end of {day_label(period.last_day)} (UTC), the last whole day so far. Later days are counted "
            "in a report made after they end.")


def _short(text: str, most: int = 34) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"


def project_view(data: ProjectReportData) -> dict[str, object]:
    total = data.cost_nanos
    previous_start, previous_end = data.period.previous()
    devices, devices_total = device_rows(data.devices)
    models, models_total = model_rows(data.models)
    fair = data.counting.data_before(previous_start)
    view: dict[str, object] = {
        "total": money(total), "requests": f"{data.requests:,}", "errors": f"{data.errors:,}",
        "previous": money(data.previous_cost_nanos) if fair else None,
        "change": change(total, data.previous_cost_nanos, previous_start, data.counting),
        "previous_span": _span(previous_start, previous_end),
        "empty": data.requests == 0 and total == 0,
        "devices": devices, "devices_total": devices_total, "device_count": len(data.devices),
        "models": models, "models_total": models_total,
        "hourly_rate": money(data.hourly_rate_nanos) if data.hourly_rate_nanos else None,
        "hours": billable_hours(total, data.hourly_rate_nanos) if data.hourly_rate_nanos else None,
        "recommendations": recommendation_rows(data.recommendations),
        "recommendations_summary": recommendations_summary(data) if data.recommendations else None,
        "counted": counted_line(data.counting), "today_note": today_note(data.counting, data.period),
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
    counting = data.counting
    this_month, last_month = data.this_month, data.last_month
    partial = data.last_month_whole is not None
    spans = [this_month, last_month, *([data.last_month_whole] if data.last_month_whole else []), data.year_to_date]
    custom = (data.period_spend.start, data.period_spend.end) != (this_month.start, this_month.end)
    if custom:  # a custom period: show it and the one before
        spans = [data.period_spend, data.previous_period, *spans]
    period_total = data.period_spend.cost_nanos
    months = sorted({m.month for m in data.months})
    by_month: dict[date, dict[str, int]] = {month: defaultdict(int) for month in months}
    for line in data.months:
        by_month[line.month][line.provider] += line.cost_nanos
    chart = (charts.stacked_over_time([charts.StackedBucket(m.strftime("%b"), dict(by_month[m])) for m in months],
                                      "chart-year-to-date", height_in=2.4) if months else None)
    last_label = f"{last_month.label} (same days)" if partial else last_month.label
    budget = outlook(data)
    return {
        "headline": [
            (this_month.label, _span(this_month.start, this_month.end), money(this_month.cost_nanos)),
            *([budget.figure] if budget is not None and budget.figure is not None else []),
            _compared(last_label, last_month, counting),
            (data.year_to_date.label, _span_since(data.year_to_date, counting), money(data.year_to_date.cost_nanos)),
        ],
        "outlook": budget,
        "spans": [_span_row(s, counting, last_label if s is last_month else s.label) for s in spans],
        "data_from": (day_label(counting.first_day) if counting.first_day is not None
                      and any(s.start < counting.first_day for s in spans) else None),
        "month_change": change(this_month.cost_nanos, last_month.cost_nanos, last_month.start, counting),
        "month_change_words": ("this month to date against the same days of last month" if partial
                               else "this month against last month"),
        "period_change": change(period_total, data.previous_period.cost_nanos, data.previous_period.start, counting),
        "custom": custom,
        "period_total": money(period_total),
        "projects": _project_rows(data),
        "has_projects": data.period_spend.cost_nanos != 0 or bool(data.top_projects),
        "reconciliation": _reconciliation_rows(data),
        "variance_rule": VARIANCE_RULE[0].upper() + VARIANCE_RULE[1:],
        "reconciled_at": _reconciled_at(data),
        "notices": [(r.provider, r.period.strftime("%B %Y"), r.notice) for r in data.reconciliation if r.notice],
        "savings": _savings_rows(data),
        "savings_total": money(sum(s.saved_nanos for s in data.savings)),
        "realised": (money(data.realised.saved_nanos), f"{data.realised.recommendations:,}",
                     data.realised.first_month.strftime("%B %Y")) if data.realised else None,
        "catalog": _catalog(data),
        "chart": chart,
        "counted": counted_line(counting), "today_note": today_note(counting, data.period),
        "empty": data.year_to_date.requests == 0 and data.year_to_date.cost_nanos == 0,
    }


def _compared(label: str, span: SpanSpend, counting: Counting) -> tuple[str, str, str]:
    """A headline figure of a span compared with: its spend, or that there is no data for it."""
    if not counting.data_before(span.start):
        return label, _span(span.start, span.end), change(0, 0, span.start, counting)
    return label, _span(span.start, span.end), money(span.cost_nanos)


def _span_since(span: SpanSpend, counting: Counting) -> str:
    text = _span(span.start, span.end)
    if counting.first_day is not None and span.start < counting.first_day < span.end:
        return f"{text}; data from {day_label(counting.first_day)}"
    return text


def _span_row(span: SpanSpend, counting: Counting, label: str) -> tuple[str, str, str, str]:
    if counting.data_before(span.start) or span.requests or span.cost_nanos:
        return label, _span_since(span, counting), f"{span.requests:,}", money(span.cost_nanos)
    return label, _span(span.start, span.end), "—", "no data"


def _project_rows(data: ExecutiveData) -> list[tuple[str, str, str, str]]:
    """The top projects, then the rest of the period's spend (other projects, unattributed), adding up
    to the period's total in the last row."""
    rows = [(p.name, p.slug, p.cost_nanos) for p in data.top_projects]
    if data.other_projects or data.other_projects_nanos:
        rows.append((f"{data.other_projects} other project{'s' if data.other_projects != 1 else ''}", "",
                     data.other_projects_nanos))
    if data.unattributed_nanos:
        rows.append(("not attributed to a project", "", data.unattributed_nanos))
    spend = money_column([row[2] for row in rows], data.period_spend.cost_nanos) if rows else []
    percent = shares([row[2] for row in rows]) if rows else []
    shown = [(name, slug, spent, pct) for (name, slug, _), spent, pct in zip(rows, spend, percent, strict=True)]
    return [*shown, ("total", "", money(data.period_spend.cost_nanos), "100.0 %" if rows else "–")]


def _reconciliation_rows(data: ExecutiveData) -> list[tuple[str, ...]]:
    """Logged, billed and the variance by core.money's one rule (`reconciled`), as the command line prints them."""
    rows: list[tuple[str, ...]] = []
    for r in data.reconciliation:
        billed, variance, ratio = "not billed yet", "—", "—"
        if r.billed_nanos is not None:
            shown = reconciled(r.logged_nanos, r.billed_nanos)
            billed, variance, ratio = format_dollars(shown.billed), format_dollars(shown.variance), _ratio(shown.ratio)
        rows.append((r.provider, r.period.strftime("%B %Y"), money(r.logged_nanos), billed, variance, ratio,
                     r.band or r.status.replace("_", " ")))
    return rows


def _reconciled_at(data: ExecutiveData) -> str | None:
    moments = [r.computed_at for r in data.reconciliation if r.computed_at is not None]
    return moment(max(moments)) if moments else None


def _savings_rows(data: ExecutiveData) -> list[tuple[str, str, str]]:
    saved = money_column([s.saved_nanos for s in data.savings])
    return [(s.month.strftime("%B %Y"), f"{s.recommendations:,}", shown)
            for s, shown in zip(data.savings, saved, strict=True)]


def _catalog(data: ExecutiveData) -> dict[str, str] | None:
    if data.catalog is None:
        return None
    c = data.catalog
    return {"computed": moment(c.computed_at), "open": f"{c.open_recommendations:,}",
            "monthly": money(c.monthly_saving_nanos), "one_off": money(c.one_off_nanos) if c.one_off_nanos else "",
            "anomaly": money(c.anomaly_nanos) if c.anomaly_nanos else ""}


def _ratio(ratio: Decimal | None) -> str:
    """The printed variance over the printed bill, signed (core.money.Reconciled.ratio, as the command line)."""
    if ratio is None:
        return "—"
    return f"{ratio_percent(ratio)} %"
