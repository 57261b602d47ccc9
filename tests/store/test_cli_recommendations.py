"""`halton-workers recommendations`: the open ones as a table of at most 80 columns, one line each."""

from __future__ import annotations

from datetime import UTC, datetime

from checks import Finding
from store.recommendations import apply_statuses, write_findings
from tests.factories import Conn, make_workspace
from tests.store.test_cli import run_cli


def test_open_recommendations_print_one_line_each_within_80_columns(db_conn: Conn, fleet_env: dict[str, str]) -> None:
    scene = make_workspace(db_conn, "acme")
    findings = [Finding(check_id="model-downgrade", project_id=scene.project_ids[i], subject="a->b", title="Swap",
                        rationale="A long rationale with figures that goes on and on " * 4,
                        monthly_saving_nanos=(i + 1) * 42_000_000_000, confidence="high", request_count=4287,
                        sample_request_ids=(1,), evidence={}) for i in range(2)]
    with db_conn.transaction():
        write_findings(db_conn, scene.workspace_id, 1, datetime(2026, 11, 1, tzinfo=UTC), findings)
    db_conn.execute("insert into meter.recommendation_decisions (workspace_id, fingerprint, decision) "
                    "values (%s, %s, 'dismissed')", (scene.workspace_id, findings[0].fingerprint))
    apply_statuses(db_conn, scene.workspace_id)  # what halton.apply_decisions does
    done = run_cli(fleet_env, "recommendations", "--workspace", "acme")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines)
    assert lines[0].startswith("1 open recommendation(s) for acme: $84.00/month")
    rows = [line for line in lines if "model-downgrade:" in line]
    assert len(rows) == 1 and "p1" in rows[0] and "$84.00" in rows[0] and "4,287" in rows[0]


def test_two_swaps_of_one_model_are_counted_once_in_the_total(db_conn: Conn, fleet_env: dict[str, str]) -> None:
    scene = make_workspace(db_conn, "acme")
    quotes = {"model-downgrade": ("gpt-5->gpt-5-mini", 30_000_000_000),
              "legacy-model": ("gpt-5->gpt-5.1", 20_000_000_000), "batch-api": ("gpt-5", 5_000_000_000)}
    findings = [Finding(check_id=check_id, project_id=scene.project_ids[0], subject=subject, title=check_id,
                        rationale="why", monthly_saving_nanos=saving, confidence="high", request_count=10,
                        sample_request_ids=(1,), evidence={}) for check_id, (subject, saving) in quotes.items()]
    with db_conn.transaction():
        write_findings(db_conn, scene.workspace_id, 1, datetime(2026, 11, 1, tzinfo=UTC), findings)
    done = run_cli(fleet_env, "recommendations", "--workspace", "acme")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("3 open recommendation(s) for acme: $35.00/month")  # 30 + 5, not 30 + 20 + 5
    assert "alternative swaps counted once" in done.stdout and all(len(line) <= 80 for line in lines)


def test_an_unknown_workspace_is_one_line(fleet_env: dict[str, str], db_conn: Conn) -> None:
    done = run_cli(fleet_env, "recommendations", "--workspace", "nope")
    assert done.returncode == 1 and done.stderr.strip().startswith("error: no workspace with slug 'nope'")
