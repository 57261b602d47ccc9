"""The catalog's registry: explicit, complete, with stable ids and documented rules."""

from __future__ import annotations

import importlib
import pkgutil

import checks
from checks import CHECKS, NOT_CHECKS

EXPECTED_IDS = {"model-downgrade", "legacy-model", "prompt-caching", "cache-write-waste", "batch-api",
                "response-cache", "runaway-loop", "long-context-tier", "reasoning-overspend", "spend-spike"}


def test_every_module_of_the_package_is_a_registered_check() -> None:
    modules = {m.name for m in pkgutil.iter_modules(checks.__path__)} - NOT_CHECKS
    registered = {check.run.__module__.removeprefix("checks.") for check in CHECKS}
    assert modules == registered


def test_the_catalog_has_the_ten_checks_with_unique_ids() -> None:
    ids = [check.id for check in CHECKS]
    assert len(ids) == len(set(ids))
    assert set(ids) == EXPECTED_IDS


def test_every_check_documents_its_rule_money_and_confidence_and_has_a_title_and_tags() -> None:
    not_monthly = {"runaway-loop", "spend-spike"}  # a one-off waste and an anomaly: an impact, not a saving
    for check in CHECKS:
        doc = importlib.import_module(check.run.__module__).__doc__ or ""
        assert doc.startswith(check.id), check.id
        money = ("Impact",) if check.id in not_monthly else ("Saving", "lever")
        for word in ("Rule", *money, "Confidence"):
            assert word in doc, (check.id, word)
        assert check.title and check.description and check.tags


def test_an_empty_window_gives_no_findings() -> None:
    from checks import run_catalog
    from tests.unit.check_frames import inputs

    assert run_catalog(inputs([])) == []


def test_the_checks_unattributed_sentinel_is_the_readers() -> None:
    from checks.usage import NO_PROJECT
    from store.frames import NO_PROJECT as READERS

    assert NO_PROJECT == READERS
