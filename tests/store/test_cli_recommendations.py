"""`halton-workers recommendations`: the open ones by kind of money within 80 columns, the catalog's headline
as analysis.catalog_summary has it, amounts that add up to the totals printed, and `--id N` in full."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

from checks import Finding
from checks.overlap import Combination, ScopeCombination
from core.money import cents, format_dollars, money
from store.recommendations import write_findings
from store.report_writes import report_row
from tests.factories import Conn, make_workspace
from tests.store.report_scene import insert_request
from tests.store.test_cli import run_cli
from tests.unit.pdf_text import pdf_text
from workers.jobs.decisions import apply_decisions
from workers.jobs.reports import render_report
from workers.settings import SigningSettings

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)


def finding(check_id: str, project_id: int, impact: int, *, subject: str = "s", recurrence: str = "monthly",
            rationale: str = "why", title: str | None = None) -> Finding:
    return Finding(check_id=check_id, project_id=project_id, subject=subject, title=title or f"{check_id} title",
                   rationale=rationale, impact_nanos=impact, recurrence=recurrence, confidence="high",
                   request_count=4287, sample_request_ids=(11, 12), evidence={"waste_nanos": impact, "model": "m"})


def amounts(lines: list[str], start: str, end: str) -> tuple[list[Decimal], Decimal]:
    """The dollar amounts of a table's rows (from its heading to the line after `end`) and of its total row."""
    first = next(i for i, line in enumerate(lines) if line.startswith(start))
    last = next(i for i in range(first, len(lines)) if end in lines[i])
    rows = [re.search(r"^\s*\d+\s+\$([\d,.]+)", line) for line in lines[first:last]]
    total = re.search(r"\$([\d,.]+)", lines[last])
    assert total is not None
    return ([Decimal(m.group(1).replace(",", "")) for m in rows if m],
            Decimal(total.group(1).replace(",", "")))


def test_open_recommendations_by_kind_within_80_columns_adding_up_to_their_totals(
        db_conn: Conn, fleet_env: dict[str, str]) -> None:
    scene = make_workspace(db_conn, "acme")
    p0, p1 = scene.project_ids
    long_title = "Move acme-p0 from claude-opus-4-1 to its current successor claude-opus-4-6 " * 2
    # three quotes of half a cent each: $0.01 each wherever shown, $0.015 together
    findings = [finding("legacy-model", p0, 5_000_000, subject=str(i), title=long_title) for i in range(3)]
    findings += [finding("runaway-loop", p1, 6_690_000_000, recurrence="one_off"),
                 finding("spend-spike", p1, 35_100_000_000, recurrence="anomaly"),
                 finding("batch-api", p1, 42_000_000_000)]
    with db_conn.transaction():
        write_findings(db_conn, scene.workspace_id, 1, AS_OF, findings)
    done = run_cli(fleet_env, "recommendations", "--workspace", "acme")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines)
    assert lines[0] == "6 open recommendation(s) for acme"
    # no combination was stored: each quote counts on its own, 42.015 -> $42.02 taken together; the rows shown,
    # each at its own rounding, add up to $42.03, and the headline says both
    rows, total = amounts(lines, "Monthly savings", "total of the rows shown")
    assert rows == [cents(f.impact_nanos) for f in (findings[5], *findings[:3])] and sum(rows) == total
    together = money(sum(f.monthly_saving_nanos for f in findings))
    assert (together, format_dollars(total)) == ("$42.02", "$42.03")
    assert " ".join(" ".join(lines[1:3]).split()) == (
        f"Monthly: saves {together}/month taken together; the 4 quotes below, each rounded to the cent, add up to "
        f"{format_dollars(total)}.")
    assert amounts(lines, "One-off waste", "total of the rows shown") == ([Decimal("6.69")], Decimal("6.69"))
    assert amounts(lines, "Anomalies", "total of the rows shown") == ([Decimal("35.10")], Decimal("35.10"))
    assert done.stdout.count("claude-opus-4-6") == 3 * 2  # the long titles wrap, never cut
    assert "…" not in done.stdout


def test_the_headline_is_the_summary_of_the_open_ones_taken_together(db_conn: Conn, fleet_env: dict[str, str]) -> None:
    scene = make_workspace(db_conn, "acme")
    p0 = scene.project_ids[0]
    swap = finding("model-downgrade", p0, 30_000_000_000, subject="gpt-5->gpt-5-mini")
    successor = finding("legacy-model", p0, 20_000_000_000, subject="gpt-5->gpt-5.1")
    batch = finding("batch-api", p0, 5_000_000_000, subject="gpt-5")
    # what checks.overlap.combine keeps for the scope (window savings over 30 days, so quotes are the same):
    # the swaps are alternatives, batching then saves 2 on the swapped bill
    scope = ScopeCombination(p0, "gpt-5", (swap.fingerprint, successor.fingerprint, batch.fingerprint),
                             tuple(x * 1_000_000_000 for x in (0, 30, 20, 30, 5, 32, 23, 32)))
    with db_conn.transaction():
        write_findings(db_conn, scene.workspace_id, 1, AS_OF, [swap, successor, batch], Combination((scope,), 30))
    done = run_cli(fleet_env, "recommendations", "--workspace", "acme")
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    assert "Monthly: saves $32.00/month taken together; the 3 quotes below add up to $55.00, but quotes on" in text
    assert all(len(line) <= 80 for line in done.stdout.splitlines())
    db_conn.execute("insert into meter.recommendation_decisions (workspace_id, fingerprint, decision) "
                    "values (%s, %s, 'dismissed')", (scene.workspace_id, swap.fingerprint))
    assert apply_decisions(db_conn, scene.workspace_id).stats["monthly_saving_nanos"] == 23_000_000_000
    done = run_cli(fleet_env, "recommendations", "--workspace", "acme")
    assert "saves $23.00/month taken together; the 2 quotes below add up to $25.00" in " ".join(done.stdout.split())


def test_one_recommendation_in_full_with_its_rationale_evidence_and_samples(
        db_conn: Conn, fleet_env: dict[str, str]) -> None:
    scene = make_workspace(db_conn, "acme")
    rationale = "357 identical requests from dev-1 in 8 minutes cost $6.75; all but the first 3 were waste. " * 3
    loop = finding("runaway-loop", scene.project_ids[1], 6_690_000_000, recurrence="one_off", rationale=rationale)
    with db_conn.transaction():
        write_findings(db_conn, scene.workspace_id, 1, AS_OF, [loop])
    [(rid,)] = db_conn.execute("select id from analysis.recommendations").fetchall()
    done = run_cli(fleet_env, "recommendations", "--workspace", "acme", "--id", str(rid))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"#{rid} runaway-loop title" and all(len(line) <= 80 for line in lines)
    text = " ".join(done.stdout.split())
    assert " ".join(rationale.split()) in text  # the whole rationale, wrapped
    assert "waste $6.69 (already spent; a fix stops the next one), high confidence, 4,287 requests" in text
    assert "waste $6.69" in text and "_nanos" not in text and "model m" in text  # dollars under a dollar label
    assert "sample requests (2): 11, 12" in text
    assert "fingerprint runaway-loop:" in text and "status open; first seen 2026-11-01 00:00 UTC" in text


def test_an_unknown_workspace_or_id_is_one_line(fleet_env: dict[str, str], db_conn: Conn) -> None:
    done = run_cli(fleet_env, "recommendations", "--workspace", "nope")
    assert done.returncode == 1 and done.stderr.strip().startswith("error: no workspace with slug 'nope'")
    make_workspace(db_conn, "acme")
    done = run_cli(fleet_env, "recommendations", "--workspace", "acme", "--id", "999")
    assert done.returncode == 1 and done.stderr.strip() == "error: no recommendation 999 in workspace 'acme'"


def test_one_recommendation_shows_one_amount_in_the_list_alone_and_in_the_project_report(
        db_conn: Conn, fleet_env: dict[str, str]) -> None:
    scene = make_workspace(db_conn, "acme")
    p0, p1 = scene.project_ids
    # the review's #10: $139.9749 a month. Next to a $1.004 quote on another project, largest remainder over the
    # workspace's list would give it the cent the column needs ($139.98), over its project's report not ($139.97)
    quote, other = 139_974_924_300, 1_004_000_000
    with db_conn.transaction():
        write_findings(db_conn, scene.workspace_id, 1, AS_OF,
                       [finding("legacy-model", p0, quote), finding("batch-api", p1, other)])
    rid = one_id(db_conn, "legacy-model")
    listed = run_cli(fleet_env, "recommendations", "--workspace", "acme")
    assert listed.returncode == 0, listed.stderr
    row = next(line for line in listed.stdout.splitlines() if re.match(rf"^\s*{rid}\s+\$", line))
    alone = run_cli(fleet_env, "recommendations", "--workspace", "acme", "--id", str(rid))
    assert alone.returncode == 0, alone.stderr
    request = insert_request(db_conn, scene.workspace_id, "project", p0, date(2026, 10, 1), date(2026, 11, 1))
    render_report(db_conn, request, signing=SigningSettings())
    stored = report_row(db_conn, request, scene.workspace_id)
    assert stored is not None and stored[0] == "succeeded", stored
    shown = money(quote)
    assert shown == "$139.97"
    assert row.split()[1] == shown
    assert f"saving {shown}/month" in " ".join(alone.stdout.split())
    assert f"{shown}/month" in pdf_text(bytes(stored[2]))
    # the total under the list is the total of the rows shown, and says so
    total = next(line for line in listed.stdout.splitlines() if "total of the rows shown" in line)
    assert total.split()[0] == format_dollars(cents(quote) + cents(other)) == "$140.97"


def one_id(conn: Conn, check_id: str) -> int:
    row = conn.execute("select id from analysis.recommendations where check_id = %s", (check_id,)).fetchone()
    assert row is not None
    return int(row[0])
