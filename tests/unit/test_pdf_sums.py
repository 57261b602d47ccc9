"""Sums a reader checks add up: in every table of both reports, the rows shown add up to the total shown.

The data is made of amounts that round badly: three rows of $3.335 each print $3.34 when rounded one by one,
$10.02 under a $10.01 total. Each report's tables are listed by section, so a table added later without a
check here fails the test."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, date, datetime, timedelta

from core.money import cents, format_dollars, money, total_of_rows
from pdf import render
from pdf.model import (
    Branding,
    DaySpend,
    DeviceSpend,
    ExecutiveData,
    ModelSpend,
    OpenRecommendation,
    ProjectReportData,
    ProjectShare,
    ReconciliationLine,
    SavingsMonth,
    Signature,
    SpanSpend,
)
from pdf.periods import Period
from tests.unit.pdf_tables import Table, count, dollars, percent, tables

OCTOBER = Period(date(2026, 10, 1), date(2026, 11, 1))
TRAP = 3_335_000_000  # $3.335: half a cent that rounding each row on its own adds to every row


def trap_amounts(n: int) -> list[int]:
    """n amounts ending in half a cent or just under, the largest first."""
    return sorted((TRAP + (i % 3) * 1_000_000_000 + (4_999_999 if i % 2 else 0) for i in range(n)), reverse=True)


def trap_project() -> ProjectReportData:
    devices = [DeviceSpend(f"dev-{i:02d}", f"dev{i}@example.com", 10 + i, cost)
               for i, cost in enumerate(trap_amounts(18))]  # 15 shown, 3 summed in one row
    total = sum(d.cost_nanos for d in devices)
    model_costs = trap_amounts(5)
    model_costs[0] += total - sum(model_costs)  # the same total as the devices and the days
    models = [ModelSpend("anthropic", f"model-{i}", 100 + i, 1_234 * i, 567 * i, cost)
              for i, cost in enumerate(model_costs)]
    days = [DaySpend(OCTOBER.start + timedelta(days=i), "anthropic", d.requests, 0, d.cost_nanos)
            for i, d in enumerate(devices)]
    recommendations = [OpenRecommendation(f"monthly {i}", "why", TRAP, "high", "monthly", TRAP) for i in range(3)] + [
        OpenRecommendation(f"loop {i}", "why", 0, "high", "one_off", TRAP) for i in range(3)] + [
        OpenRecommendation(f"spike {i}", "why", 0, "medium", "anomaly", TRAP) for i in range(3)]
    return ProjectReportData(branding=Branding("acme", "Acme"), project_slug="acme-p", project_name="P",
                             hourly_rate_nanos=None, period=OCTOBER, previous_cost_nanos=TRAP, days=days,
                             devices=devices, models=models, rates_versions=["2026-10-01"],
                             recommendations=recommendations)


def trap_executive() -> ExecutiveData:
    def span(label: str, start: date, end: date, nanos: int) -> SpanSpend:
        return SpanSpend(label, start, end, 100, nanos)

    projects = [ProjectShare(f"p{i}", f"Project {i}", cost) for i, cost in enumerate(trap_amounts(3))]
    period_total = sum(p.cost_nanos for p in projects) + 2 * TRAP + TRAP  # two other projects, unattributed
    month = span("This month", OCTOBER.start, OCTOBER.end, period_total)
    reconciliation = [
        # $34.444 logged, $30.765 billed, $3.679 variance: one by one $34.44, $30.77 and $3.68 (30.77 + 3.68 = 34.45)
        ReconciliationLine("gemini", OCTOBER.start, 34_444_000_000, 30_765_000_000, 3_679_000_000, "0.1196",
                           "red", "ok", datetime(2026, 11, 2, tzinfo=UTC)),
        ReconciliationLine("openai", OCTOBER.start, 10_005_000_000, 10_000_000_000, 5_000_000, "0.0005",
                           "green", "ok", datetime(2026, 11, 2, tzinfo=UTC)),
        ReconciliationLine("xai", OCTOBER.start, 1_000_000_000, None, None, None, None, "awaiting_bill")]
    return ExecutiveData(
        branding=Branding("acme", "Acme"), period=OCTOBER, this_month=month,
        last_month=span("Last month", date(2026, 9, 1), OCTOBER.start, TRAP),
        year_to_date=span("Year to date", date(2026, 1, 1), OCTOBER.end, 10 * period_total),
        period_spend=month, previous_period=span("Previous period", date(2026, 9, 1), OCTOBER.start, TRAP),
        top_projects=projects, other_projects=2, unattributed_nanos=TRAP, months=[],
        reconciliation=reconciliation, savings=[SavingsMonth(date(2026, m, 1), 1, TRAP) for m in range(1, 11)])


def add_up(table: Table, column: str, parse: type | object) -> None:
    shown = [parse(cell) for cell in table.column(column)]  # type: ignore[operator]
    assert sum(shown) == parse(table.total_of(column)), (table.section, column)  # type: ignore[operator]


def test_every_table_of_the_project_report_adds_up() -> None:
    data = trap_project()
    html = render.project_html(data)
    found = tables(html)
    assert set(found) == {"developers", "models", "recommendations"}
    for section, columns in (("developers", ("requests", "spend", "share")),
                             ("models", ("requests", "input tok.", "output tok.", "spend", "share"))):
        table = found[section]
        for column in columns:
            add_up(table, column, dollars if column == "spend" else percent if column == "share" else count)
        assert table.total_of("spend") == money(data.cost_nanos)  # the headline's figure
        assert table.total_of("share") == "100.0 %"
    assert len(found["developers"].rows) == 16 and found["developers"].rows[-1][0] == "3 other devices"
    shown = [d.cost_nanos for d in data.devices[:15]] + [sum(d.cost_nanos for d in data.devices[15:])]
    assert sum(cents(n) for n in shown) != cents(data.cost_nanos)  # the trap: row by row, they would not add up
    # each recommendation shows its own amount (as the command line does); each kind adds up to its figure in
    # the sentence above the table (the total of the rows shown), and is never added to another
    amounts = found["recommendations"].column("saving or cost")
    sentence = re.sub(r"\s+", " ", html.split('id="recommendations"')[1].split("<table")[0])
    assert [dollars(a.split("/")[0].split()[0]) for a in amounts] == [cents(r.amount_nanos)
                                                                       for r in data.recommendations]
    rows_total = format_dollars(3 * cents(TRAP))
    assert rows_total == "$10.02" != money(3 * TRAP)  # the trap: the rows' total is not the sum rounded once
    assert f"monthly savings of {rows_total} a month taken together" in sentence  # no catalog figure: the quotes'
    assert f"{rows_total} of one-off waste already spent" in sentence
    assert f"{rows_total} above the usual spend in 3 anomalies" in sentence
    assert all(a.endswith("/month") for a in amounts[:3]) and "one-off, already spent" in amounts[3] \
        and "above the usual spend" in amounts[6]


def test_every_table_of_the_executive_summary_adds_up() -> None:
    data = trap_executive()
    found = tables(render.executive_html(data, Signature(signer=None, signing_time=None)))
    # the spans overlap (the month is part of the year): a reader adds no rows there
    assert set(found) == {"spend", "top-projects", "reconciliation", "savings"}
    projects = found["top-projects"]
    add_up(projects, "spend", dollars)
    add_up(projects, "share", percent)
    assert projects.total_of("spend") == money(data.period_spend.cost_nanos)
    assert [row[0] for row in projects.rows][-2:] == ["2 other projects", "not attributed to a project"]
    for row, line in zip(found["reconciliation"].rows, data.reconciliation, strict=True):
        logged, billed, variance = row[2:5]
        assert logged == money(line.logged_nanos)  # logged and billed at their own rounding
        if line.billed_nanos is not None:
            assert billed == money(line.billed_nanos)
            assert dollars(variance) == dollars(logged) - dollars(billed), row  # the variance as printed
    # the trap: the variance rounded on its own is a cent off what a reader subtracts
    assert found["reconciliation"].rows[0][2:5] == ["$34.44", "$30.77", "$3.67"] != [
        money(34_444_000_000), money(30_765_000_000), money(3_679_000_000)]
    add_up(found["savings"], "saved", dollars)
    assert found["savings"].total_of("saved") == money(10 * TRAP) == "$33.35"


def test_the_monthly_figure_taken_together_says_what_its_rows_add_up_to_when_the_two_differ() -> None:
    together = 3 * TRAP  # the catalog's figure: no overlap, the quotes' exact sum, rounded once
    data = dataclasses.replace(trap_project(), recommendations_total_nanos=together)
    sentence = " ".join(render.project_html(data).split('id="recommendations"')[1].split("<table")[0].split())
    rows_total = format_dollars(total_of_rows(r.monthly_saving_nanos for r in data.recommendations))
    assert (f"monthly savings of {money(together)} a month taken together (the quotes below, each rounded to "
            f"the cent, add up to {rows_total})") in sentence
    assert money(together) != rows_total
    overlapping = dataclasses.replace(data, recommendations_total_nanos=TRAP + 1)  # levers on the same requests
    sentence = " ".join(render.project_html(overlapping).split('id="recommendations"')[1].split("<table")[0].split())
    assert (f"monthly savings of {money(TRAP + 1)} a month taken together (not the {rows_total} their quotes add "
            "up to: levers on the same requests are not added)") in sentence
