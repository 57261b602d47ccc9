"""The optimisation catalog: a registry of checks, each a pure function of a workspace's window.

Registration is explicit: every check module is imported below and listed in CHECKS, and a test
proves every module of the package is listed, so a check that was never imported cannot silently
never run (Django's system checks, made explicit).

    findings = run_catalog(inputs)     # every check, in registry order
    scopes = combine(findings, inputs)   # checks/overlap.py: the monthly findings taken together
"""

from __future__ import annotations

from checks import (
    batch_api,
    cache_write_waste,
    legacy_model,
    long_context_tier,
    model_downgrade,
    prompt_caching,
    reasoning_overspend,
    response_cache,
    runaway_loop,
    spend_spike,
)
from checks.base import REQUEST_COLUMNS, Check, CheckInputs, Finding, short_window

CHECKS: tuple[Check, ...] = (
    model_downgrade.CHECK,
    legacy_model.CHECK,
    prompt_caching.CHECK,
    cache_write_waste.CHECK,
    batch_api.CHECK,
    response_cache.CHECK,
    runaway_loop.CHECK,
    long_context_tier.CHECK,
    reasoning_overspend.CHECK,
    spend_spike.CHECK,
)

#: Modules of the package that hold no check.
NOT_CHECKS = frozenset({"base", "kit", "levers", "overlap", "realised", "usage"})


def run_catalog(inputs: CheckInputs) -> list[Finding]:
    """Every check's findings, in registry order; a monthly quote from fewer than 7 days of data says so
    and is at most 'low' confidence (checks.base.short_window)."""
    return [short_window(finding, inputs.days_observed) for check in CHECKS for finding in check.run(inputs)]


__all__ = ["CHECKS", "REQUEST_COLUMNS", "Check", "CheckInputs", "Finding", "run_catalog"]
