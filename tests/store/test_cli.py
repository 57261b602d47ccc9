"""The command line as an operator meets it: one clear line and a non-zero exit for each bad input."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

from synthetic import SeedOptions, seed_workspace
from tests.factories import Conn, add_request, make_workspace, table_rows
from workers.pipeline import STAGE_NAMES


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "workers.cli", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_migrate_is_idempotent(db_conn: Conn, fleet_env: dict[str, str]) -> None:
    done = run_cli(fleet_env, "migrate")
    assert done.returncode == 0 and done.stdout.splitlines()[0] == "schema is up to date"
    assert "roles granted: halton_fleet" in done.stdout


def test_a_missing_database_url_is_one_line_and_exit_2(fleet_env: dict[str, str]) -> None:
    env = {k: v for k, v in fleet_env.items() if k != "DATABASE_URL"}
    done = run_cli(env, "refresh", "--workspace", "acme")
    assert done.returncode == 2
    assert done.stderr.strip() == "error: DATABASE_URL is missing: set it in the environment"


def test_an_unreachable_database_is_one_line_without_the_password(fleet_env: dict[str, str]) -> None:
    env = {k: v for k, v in fleet_env.items() if k != "HALTON_OWNER_DATABASE_URL"}
    env["DATABASE_URL"] = "postgresql://fleet:hunter2@127.0.0.1:9/halton"
    done = run_cli(env, "migrate")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cannot reach the database at postgresql://fleet:***@")
    assert "hunter2" not in done.stderr


def test_a_malformed_as_of_is_one_line(db_conn: Conn, fleet_env: dict[str, str]) -> None:
    make_workspace(db_conn, "acme")
    done = run_cli(fleet_env, "refresh", "--workspace", "acme", "--as-of", "yesterday-ish")
    assert done.returncode == 1
    assert done.stderr.strip() == "error: as_of 'yesterday-ish' is not an ISO moment like 2026-11-26T02:00:00Z"


def test_an_as_of_in_the_future_is_refused(db_conn: Conn, fleet_env: dict[str, str]) -> None:
    make_workspace(db_conn, "acme")
    done = run_cli(fleet_env, "refresh", "--workspace", "acme", "--as-of", "2062-01-01T00:00:00Z")
    assert done.returncode == 1 and "is in the future" in done.stderr
    assert db_conn.execute("select count(*) from analysis.runs").fetchone() == (0,)


def test_a_malformed_seed_end_date_is_one_line(fleet_env: dict[str, str]) -> None:
    done = run_cli(fleet_env, "seed", "--workspace", "x", "--end-date", "nope")
    assert done.returncode == 2  # a malformed option value is a usage error, like --at and --effective
    assert done.stderr.strip() == ("error: Invalid value for --end-date: 'nope' is not a date like 2026-11-26 "
                                   "(see 'halton-workers seed --help')")


def test_an_unreachable_redis_is_one_line_for_via_queue(db_conn: Conn, fleet_env: dict[str, str]) -> None:
    make_workspace(db_conn, "acme")
    env = {**fleet_env, "REDIS_URL": "redis://127.0.0.1:9/0"}
    done = run_cli(env, "refresh", "--workspace", "acme", "--via-queue")
    assert done.returncode == 2
    assert done.stderr.strip().startswith("error: cannot reach Redis at redis://127.0.0.1:9/0")


def test_a_slug_with_spaces_is_refused_before_seeding(db_conn: Conn, fleet_env: dict[str, str]) -> None:
    done = run_cli(fleet_env, "seed", "--workspace", "Bad Slug!")
    assert done.returncode == 1 and "is not a slug" in done.stderr
    assert db_conn.execute("select count(*) from meter.workspaces").fetchone() == (0,)


def test_an_unknown_slug_is_one_line_and_writes_nothing(db_conn: Conn, fleet_env: dict[str, str]) -> None:
    done = run_cli(fleet_env, "refresh", "--workspace", "nope")
    assert done.returncode == 1
    assert done.stderr.strip() == "error: no workspace with slug 'nope'; check the slug or seed it first"
    assert db_conn.execute("select count(*) from analysis.runs").fetchone() == (0,)


def test_refresh_twice_for_the_same_as_of_leaves_identical_rows(db_conn: Conn, fleet_env: dict[str, str]) -> None:
    scene = make_workspace(db_conn, "acme")
    for hours in range(0, 24 * 10, 5):
        add_request(db_conn, scene, datetime(2026, 11, 10, tzinfo=UTC) + timedelta(hours=hours),
                    project=hours % 2, cost_nanos=1_000_003 * hours)
    # synced just before --as-of: the second run recomputes that day rather than skipping it
    add_request(db_conn, scene, datetime(2026, 11, 15, 8, tzinfo=UTC), cost_nanos=77,
                synced_at=datetime(2026, 11, 21, 2, 55, tzinfo=UTC))
    outputs = []
    snapshots = []
    for _ in range(2):
        done = run_cli(fleet_env, "refresh", "--workspace", "acme", "--as-of", "2026-11-21T03:00:00Z", "--json")
        assert done.returncode == 0, done.stderr
        outputs.append(json.loads(done.stdout))
        snapshots.append(table_rows(db_conn, "analysis.daily_spend", "day, project_id nulls first, device_id"))
    assert [o["status"] for o in outputs] == ["succeeded", "succeeded"]
    assert outputs[1]["stages"][0]["stage"] == "rollup"
    assert outputs[1]["stages"][0]["stats"]["rollup_days_recomputed"] >= 1
    assert snapshots[0] == snapshots[1] and len(snapshots[0]) > 0


def test_seed_prints_plain_sentences_that_fit_the_terminal(db_conn: Conn, fleet_env: dict[str, str]) -> None:
    done = run_cli({**fleet_env, "COLUMNS": "80"}, "seed", "--workspace", "plain", "--days", "8",
                   "--requests-per-day", "300")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "where " not in done.stdout and "=" not in done.stdout  # no developer key=value notes
    assert lines[0].startswith("seeded workspace 'plain'") and "word for word" in done.stdout
    as_json = run_cli(fleet_env, "seed", "--workspace", "plain2", "--days", "2", "--requests-per-day", "100",
                      "--json")
    assert as_json.returncode == 0 and json.loads(as_json.stdout)["slug"] == "plain2"


def test_refresh_says_what_each_stage_did_in_dollars_and_gives_json_to_scripts(
    db_conn: Conn, fleet_env: dict[str, str]
) -> None:
    seed_workspace(db_conn, SeedOptions(slug="acme", days=3, requests_per_day=200, end_date=date(2026, 11, 21)))
    done = run_cli({**fleet_env, "COLUMNS": "80"}, "refresh", "--workspace", "acme",
                   "--as-of", "2026-11-21T03:00:00Z")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "refresh of 'acme' as of 2026-11-21 03:00 UTC: succeeded"
    assert [line.split()[:2] for line in lines[1:]] == [[stage, "succeeded"] for stage in STAGE_NAMES]
    assert max(len(line) for line in lines) <= 80
    assert not re.search(r"nanos|[{}=_]|True|False", done.stdout)  # no raw stats, no JSON
    did = dict(line.split(maxsplit=2)[::2] for line in lines[1:])
    # the first refresh builds every day with rows: the three seeded days
    assert re.fullmatch(r"3 days rebuilt \(all\), [\d,]+ rows", did["rollup"])
    assert re.match(r"\$[\d,]+\.\d\d avoidable, \d+ loops?, [\d,]+ clusters?", did["clustering"])
    assert re.match(r"\d+ findings?, saves \$[\d,]+\.\d\d/month", did["checks"])
    assert did["savings"] == "$0.00 saved, 0 accepted"
    assert did["alerts"] == "0 alerts raised"

    as_json = run_cli(fleet_env, "refresh", "--workspace", "acme", "--as-of", "2026-11-21T03:00:00Z",
                      "--replay", "--json")
    assert as_json.returncode == 0, as_json.stderr
    outcome = json.loads(as_json.stdout)
    assert outcome["status"] == "succeeded" and [s["stage"] for s in outcome["stages"]] == list(STAGE_NAMES)
    assert isinstance(outcome["stages"][1]["stats"]["avoidable_nanos"], int)
