"""The console command passes its subcommands' exit codes through to the shell."""

from __future__ import annotations

import subprocess
import sys


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
