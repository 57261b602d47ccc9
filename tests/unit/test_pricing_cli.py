"""`halton-workers rates ...` as support and reviewers use it (no database)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

import pricing
from pricing.table import DEFAULT_RATES_PATH
from workers.cli.rates import rates_app

runner = CliRunner()
UPSTREAM = Path(pricing.__file__).parent / "upstream" / "litellm-1.110.2-subset.json"


def test_price_prints_model_version_nanos_and_dollars() -> None:
    result = runner.invoke(rates_app, ["price", "claude-sonnet-4-5-20250929", "--input", "1000", "--output", "100"])
    assert result.exit_code == 0, result.output
    # $3 x 1000 + $15 x 100 per million = 4500 micro-dollars
    assert "claude-sonnet-4-5 (given claude-sonnet-4-5-20250929)" in result.output
    assert "4500000 nanos = $0.004500000" in result.output


def test_price_json_has_model_version_and_cost() -> None:
    result = runner.invoke(rates_app, ["price", "o3", "--input", "1000", "--output", "500", "--cache-read", "200",
                                       "--at", "2025-06-09", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["model"], data["rates_version"], data["cost_nanos"]) == ("o3", "2025-01-01", 30_500_000)
    assert data["cost_usd"] == "0.030500000" and data["reason"] is None


def test_price_of_an_unknown_model_exits_3_with_a_reason_and_null_cost() -> None:
    result = runner.invoke(rates_app, ["price", "gpt-99", "--input", "10", "--json"])
    assert result.exit_code == 3
    data = json.loads(result.output)
    assert data["cost_nanos"] is None and data["rates_version"] == "unpriced"
    assert "unknown model 'gpt-99'" in data["reason"]


def test_price_of_a_tier_the_model_lacks_exits_3() -> None:
    result = runner.invoke(rates_app, ["price", "claude-haiku-4-5", "--input", "10", "--tier", "priority"])
    assert result.exit_code == 3
    assert "does not offer the 'priority' tier" in result.output


def test_price_rejects_a_bad_date_and_an_unknown_tier() -> None:
    assert runner.invoke(rates_app, ["price", "gpt-5", "--at", "yesterday"]).exit_code == 2
    assert runner.invoke(rates_app, ["price", "gpt-5", "--tier", "turbo"]).exit_code == 2


def test_check_passes_on_the_shipped_table() -> None:
    result = runner.invoke(rates_app, ["check"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok: ")


def test_check_exits_1_with_one_line_per_problem(tmp_path: Path) -> None:
    doc = json.loads(DEFAULT_RATES_PATH.read_text())
    doc["aliases"]["nowhere-1"] = "nowhere"
    doc["versions"][1]["effective"] = "2024-01-01"
    bad = tmp_path / "rates.json"
    bad.write_text(json.dumps(doc))
    result = runner.invoke(rates_app, ["check", "--rates-file", str(bad)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert "alias nowhere-1: target 'nowhere' is not a model in any version" in lines
    assert any("is not after the previous version" in line for line in lines)


def test_check_traffic_needs_a_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    result = runner.invoke(rates_app, ["check", "--traffic"])
    assert result.exit_code == 2
    assert "--traffic needs --database-url" in result.output


def test_import_is_a_dry_run_unless_write(tmp_path: Path) -> None:
    rates = tmp_path / "rates.json"
    shutil.copy(DEFAULT_RATES_PATH, rates)
    upstream = json.loads(UPSTREAM.read_text())
    upstream["gpt-5"]["output_cost_per_token"] = 9e-06
    changed = tmp_path / "upstream.json"
    changed.write_text(json.dumps(upstream))
    before = rates.read_text()

    dry = runner.invoke(rates_app, ["import", str(changed), "--effective", "2026-12-01", "--rates-file", str(rates)])
    assert dry.exit_code == 0, dry.output
    assert "  ~ gpt-5 rates.standard.output: 10 -> 9" in dry.output
    assert rates.read_text() == before

    wet = runner.invoke(rates_app, ["import", str(changed), "--effective", "2026-12-01", "--write",
                                    "--rates-file", str(rates)])
    assert wet.exit_code == 0, wet.output
    doc = json.loads(rates.read_text())
    assert doc["versions"][-1]["id"] == "2026-12-01"
    assert doc["versions"][-1]["models"] == {"gpt-5": {"rates": {"standard": {"output": "9"}}}}
    assert runner.invoke(rates_app, ["check", "--rates-file", str(rates)]).exit_code == 0
    priced = runner.invoke(rates_app, ["price", "gpt-5", "--output", "1000", "--json", "--rates-file", str(rates)])
    assert json.loads(priced.output)["cost_nanos"] == 9_000_000


def test_import_refuses_a_date_not_after_the_latest_version(tmp_path: Path) -> None:
    rates = tmp_path / "rates.json"
    shutil.copy(DEFAULT_RATES_PATH, rates)
    result = runner.invoke(rates_app, ["import", str(UPSTREAM), "--effective", "2026-01-01",
                                       "--rates-file", str(rates)])
    assert result.exit_code == 2
    assert "must be after the latest version" in result.output


@pytest.mark.parametrize("option", ["--input", "--output", "--cache-read"])
def test_price_of_a_token_count_too_large_to_price_exactly_is_one_line_and_exit_2(option: str) -> None:
    result = runner.invoke(rates_app, ["price", "gpt-4o", option, "5000000000"])
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)  # no traceback
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: token counts above ")
    assert "cannot be priced exactly" in lines[0]


def test_check_prints_warnings_but_exits_0(tmp_path: Path) -> None:
    doc = json.loads(DEFAULT_RATES_PATH.read_text())
    doc["same_price"] = [g for g in doc["same_price"] if "grok-3" not in g["models"]]
    rates = tmp_path / "rates.json"
    rates.write_text(json.dumps(doc))
    result = runner.invoke(rates_app, ["check", "--rates-file", str(rates)])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0].startswith("warning: grok-3, grok-3-beta: priced identically in every version")
    assert lines[-1].startswith("ok: ")


def test_import_write_refuses_a_version_the_loader_would_refuse(tmp_path: Path) -> None:
    rates = tmp_path / "rates.json"
    shutil.copy(DEFAULT_RATES_PATH, rates)
    upstream = json.loads(UPSTREAM.read_text())
    # a Gemini cache storage price: no rule says what Batch Mode charges for it, so the batch tier lacks it
    upstream["gemini/gemini-2.5-flash"]["cache_creation_input_token_cost"] = 1e-06
    changed = tmp_path / "upstream.json"
    changed.write_text(json.dumps(upstream))
    before = rates.read_text()
    result = runner.invoke(rates_app, ["import", str(changed), "--effective", "2026-12-01", "--write",
                                       "--rates-file", str(rates)])
    assert result.exit_code == 2, result.output
    assert "  ! gemini-2.5-flash: rates.batch leaves out cache_write" in result.output  # the dry run says so too
    assert "error: not written: " in result.output
    assert rates.read_text() == before
