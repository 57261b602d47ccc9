"""The console command passes its subcommands' exit codes through to the shell."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pricing import load_rates


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "workers.cli", *args], capture_output=True, text=True, timeout=60)


def test_an_unpriced_model_exits_3() -> None:
    done = run_cli("rates", "price", "no-such-model", "--input", "10", "--output", "1")
    assert done.returncode == 3 and "unknown model 'no-such-model'" in done.stderr


def test_an_unknown_seed_pattern_exits_2_with_the_choices() -> None:
    done = run_cli("seed", "--workspace", "x", "--plant", "bogus")
    assert done.returncode == 2 and "choose from" in done.stderr


def test_a_usage_error_exits_2() -> None:
    assert run_cli("refresh").returncode == 2


def _env(**settings: str) -> dict[str, str]:
    """The parent's environment without any fleet setting, plus the given ones."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HALTON_", "SENTRY_")) and k not in ("DATABASE_URL", "REDIS_URL")}
    return {**env, **settings}


# A database nobody listens on: a command that validated its settings first never gets this far.
UNREACHABLE = "postgresql://nobody@127.0.0.1:9/none"


def test_a_usage_error_is_one_line_naming_the_problem() -> None:
    done = run_cli("refresh")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: Missing option '--workspace'")
    assert "╭" not in done.stderr


def test_a_bad_option_value_is_one_line() -> None:
    done = run_cli("rates", "price", "gpt-5", "--at", "nope")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: Invalid value for --at: 'nope' is not a YYYY-MM-DD date (see 'halton-workers rates price --help')"]


def test_no_command_still_prints_the_help() -> None:
    done = run_cli()
    assert "Usage: halton-workers" in done.stdout + done.stderr and "migrate" in done.stdout + done.stderr


def test_a_malformed_date_option_exits_2_whichever_command() -> None:
    end_date = run_cli("seed", "--workspace", "x", "--end-date", "nope")
    at = run_cli("rates", "price", "gpt-5", "--at", "nope")
    effective = run_cli("rates", "import", "/dev/null", "--effective", "nope")
    assert (end_date.returncode, at.returncode, effective.returncode) == (2, 2, 2)
    assert end_date.stderr.startswith("error: Invalid value for --end-date: 'nope' is not a date like 2026-11-26")


@pytest.mark.parametrize(("variable", "value"), [
    ("HALTON_DB_POOL_MAX", "abc"), ("HALTON_LIMIT_ANALYSIS_SOFT", "-5"), ("HALTON_VISIBILITY_TIMEOUT", "0")])
@pytest.mark.parametrize("command", [["refresh", "--workspace", "acme"], ["migrate"], ["seed", "--workspace", "x"]])
def test_a_malformed_setting_stops_a_database_command_with_one_line_naming_it(
        command: list[str], variable: str, value: str) -> None:
    done = subprocess.run([sys.executable, "-m", "workers.cli", *command], capture_output=True, text=True,
                          timeout=60, env=_env(DATABASE_URL=UNREACHABLE, **{variable: value}))
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {variable}")


def test_a_database_command_needs_no_redis_url() -> None:
    done = subprocess.run([sys.executable, "-m", "workers.cli", "migrate"], capture_output=True, text=True,
                          timeout=60, env=_env(DATABASE_URL=UNREACHABLE))
    assert done.returncode == 2 and done.stderr.startswith("error: cannot reach the database")


def test_a_price_before_the_first_rates_version_is_refused() -> None:
    done = run_cli("rates", "price", "gpt-5", "--input", "10", "--at", "1999-01-01")
    assert done.returncode == 3 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: no rates on file for 1999-01-01")


def test_a_price_on_the_first_rates_day_is_given() -> None:
    first = load_rates().versions[0].effective.isoformat()
    assert run_cli("rates", "price", "gpt-5", "--input", "10", "--at", first).returncode == 0


def test_an_import_of_a_file_that_is_not_json_names_the_file_and_the_place(tmp_path: Path) -> None:
    bad = tmp_path / "prices.json"
    bad.write_text("{\n  'gpt-5': 1\n}\n")
    done = run_cli("rates", "import", str(bad), "--effective", "2099-01-01")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: {bad} is not JSON: Expecting property name enclosed in double quotes at line 2, column 3"]


def test_no_plants_is_a_plain_flag() -> None:
    help_text = run_cli("seed", "--help").stdout
    assert "--no-plants" in help_text and "--no-no-plants" not in help_text
    assert run_cli("seed", "--workspace", "x", "--no-no-plants").returncode == 2


def test_an_unknown_recommendation_status_is_a_usage_error_naming_the_choices() -> None:
    done = run_cli("recommendations", "--workspace", "acme", "--status", "bogus")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: Invalid value for '--status': 'bogus' is not one of 'open', 'accepted', 'dismissed', 'suppressed', "
        "'resolved' (see 'halton-workers recommendations --help')"]


def _next_month() -> str:
    from datetime import UTC, datetime

    from core.periods import next_month

    return f"{next_month(datetime.now(UTC).date()):%Y-%m}"


@pytest.mark.parametrize("period", ["2026-13", "lastmonth"])
@pytest.mark.parametrize("command", [
    ["reconcile", "--workspace", "acme", "--provider", "anthropic"],
    ["paste-bill", "--workspace", "acme", "--provider", "anthropic", "--text", "$5"],
    ["report", "project", "--workspace", "acme", "--project", "p", "--out", "/tmp/x.pdf"],
    ["report", "executive", "--workspace", "acme", "--out", "/tmp/x.pdf"],
])
def test_a_malformed_period_is_a_usage_error_exiting_2_in_one_line(command: list[str], period: str) -> None:
    done = subprocess.run([sys.executable, "-m", "workers.cli", *command, "--period", period], capture_output=True,
                          text=True, timeout=60, env=_env(DATABASE_URL=UNREACHABLE))
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert lines[0].startswith("error: Invalid value for --period:") and f"'{period}'" in lines[0]


@pytest.mark.parametrize("command", [
    ["reconcile", "--workspace", "acme", "--provider", "anthropic"],
    ["paste-bill", "--workspace", "acme", "--provider", "anthropic", "--text", "$5"],
])
def test_a_future_month_is_refused_before_anything_is_written(command: list[str]) -> None:
    month = _next_month()
    done = subprocess.run([sys.executable, "-m", "workers.cli", *command, "--period", month], capture_output=True,
                          text=True, timeout=60, env=_env(DATABASE_URL=UNREACHABLE))
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1, done.stderr
    assert lines[0].startswith(f"error: {month} has not started yet") and done.stdout == ""


@pytest.mark.parametrize("kind", [["project", "--project", "p"], ["executive"]])
def test_a_report_period_starting_after_today_is_refused(kind: list[str]) -> None:
    done = subprocess.run([sys.executable, "-m", "workers.cli", "report", *kind, "--workspace", "acme", "--period",
                           _next_month(), "--out", "/tmp/x.pdf"], capture_output=True, text=True, timeout=60,
                          env=_env(DATABASE_URL=UNREACHABLE))
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1, done.stderr
    assert "starts after today" in lines[0]


def test_importing_a_missing_rates_file_says_so_in_plain_words() -> None:
    done = run_cli("rates", "import", "/nonexistent.json")
    assert done.returncode == 2
    assert done.stderr == "error: /nonexistent.json: no such file\n"


def test_an_output_file_is_written_with_its_folders_and_an_unwritable_one_is_the_users_error(tmp_path: Path) -> None:
    """What `export --to <file>` and `report --out` write through (workers.cli.exports.write_file)."""
    from core.errors import UserError
    from workers.cli.exports import write_file

    write_file(tmp_path / "a" / "b" / "out.pdf", b"%PDF")
    assert (tmp_path / "a" / "b" / "out.pdf").read_bytes() == b"%PDF"
    (tmp_path / "taken").write_text("a file, not a folder")
    with pytest.raises(UserError, match=r"cannot write .*taken/out\.pdf: "):
        write_file(tmp_path / "taken" / "out.pdf", b"%PDF")
