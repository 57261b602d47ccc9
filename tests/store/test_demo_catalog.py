"""The demo's catalog section as a person reads it at 80 columns: the "Planted vs found" table names every row
in full (check, project, the ids of the list above) and its figures are what the listed rows add up to."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime
from decimal import Decimal

from rich.console import Console

from checks import Finding
from core.money import format_dollars, money, total_of_rows
from store.recommendations import write_findings
from store.workspaces import workspace_by_slug
from tests.factories import Conn, make_workspace
from workers.demo.checks import print_catalog

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
AMOUNT = re.compile(r"\$[\d,]+\.\d\d")


def finding(check_id: str, project_id: int, impact: int, subject: str, recurrence: str = "monthly") -> Finding:
    return Finding(check_id=check_id, project_id=project_id, subject=subject, title=f"{check_id} {subject}",
                   rationale="why", impact_nanos=impact, recurrence=recurrence, confidence="high", request_count=1,
                   sample_request_ids=(), evidence={})


def row_of(table: list[str], first: str) -> tuple[str, list[str]]:
    """The "found by" cell of the row whose first cell is `first` (its wrapped lines joined) and its amounts."""
    start = next(line for line in table if "found by" in line).index("found by")
    at = next(i for i, line in enumerate(table) if line[:start].strip() == first)
    lines = [table[at]]
    for line in table[at + 1:]:  # the cell's next lines: nothing in the columns before it
        if line[:start].strip() or not line.strip():
            break
        lines.append(line)
    return (" ".join(re.split(r"\s{3,}", line[start:].strip())[0] for line in lines),
            AMOUNT.findall(table[at]))


def test_planted_vs_found_names_rows_in_full_and_agrees_with_the_list(db_conn: Conn) -> None:
    scene = make_workspace(db_conn, "acme", projects=2)
    db_conn.execute("update meter.projects set slug = 'acme-code-review-agent' where id = %s",
                    (scene.project_ids[1],))
    writer, review = scene.project_ids
    # three legacy-model findings on a project nobody planted, with a long name: the list shows $139.97, $34.28 and
    # $31.30 ($205.55), though their exact sum ($205.5647) rounds to $205.56
    legacy = [finding("legacy-model", review, nanos, f"m{i}")
              for i, nanos in enumerate((139_974_924_300, 34_284_900_000, 31_304_900_000))]
    findings = [finding("legacy-model", writer, 390_434_000_000, "opus"),
                finding("runaway-loop", writer, 6_690_000_000, "loop", recurrence="one_off"), *legacy]
    with db_conn.transaction():
        write_findings(db_conn, scene.workspace_id, 1, AS_OF, findings)
    planted = [{"pattern": "legacy_model", "where": {"project": "acme-p0"}, "expected_nanos": 390_560_000_000},
               {"pattern": "runaway_loop", "where": {"project": "acme-p0"}, "expected_nanos": 6_750_000_000},
               {"pattern": "spend_spike", "where": {"project": "acme-p0"}, "expected_nanos": 38_390_000_000}]
    out = io.StringIO()
    print_catalog(db_conn, workspace_by_slug(db_conn, "acme"), planted,
                  Console(file=out, width=80, color_system=None))
    lines = [line.rstrip() for line in out.getvalue().splitlines()]
    assert all(len(line) <= 80 for line in lines) and not any("…" in line for line in lines)
    ids: dict[str, int] = dict(db_conn.execute(
        "select split_part(fingerprint, ':', 3), id from analysis.recommendations").fetchall())
    listed = {int(m.group(1)): m.group(2) for line in lines if (m := re.match(r"^\s+(\d+)\s+(\$[\d,]+\.\d\d)\s", line))}
    start = next(i for i, line in enumerate(lines) if line.startswith("Planted vs found"))
    table = lines[start:]
    # what was not planted, by project: the check, the ids of its rows, and the total of those rows as listed
    assert any(line.strip() == "not planted, on:" for line in table)
    group = [ids[f"m{i}"] for i in range(3)]
    group_total = sum((Decimal(listed[i].replace("$", "").replace(",", "")) for i in group), Decimal(0))
    assert group_total == total_of_rows(f.impact_nanos for f in legacy) == Decimal("205.55")
    assert row_of(table, "acme-code-review-agent") == (f"legacy-model {', '.join(f'#{i}' for i in group)}",
                                                        [format_dollars(group_total)])
    # a planted row: its plant, the check and id that found it, expected, found as listed, and the difference
    assert row_of(table, "legacy_model") == (f"legacy-model #{ids['opus']}",
                                             [money(390_560_000_000), listed[ids["opus"]]])
    assert next(line for line in table if line.startswith(" legacy_model")).endswith("-0.0%")
    assert row_of(table, "runaway_loop") == (f"runaway-loop #{ids['loop']}",
                                             [money(6_750_000_000), listed[ids["loop"]]])
    assert next(line for line in table if line.startswith(" runaway_loop")).endswith("-0.9%")
    spike = next(line for line in table if line.startswith(" spend_spike"))
    assert spike.endswith(f"{money(38_390_000_000)}   not found")
    assert "found: the total of the recommendations named, as the list shows them" in " ".join(table)
