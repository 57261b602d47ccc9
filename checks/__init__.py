"""The optimisation catalog: a registry of checks, each a pure function of a workspace's window.

Registration is explicit: every check module is imported below and listed in CHECKS, and a test
proves every module of the package is listed, so a check that was never imported cannot silently
never run (Django's system checks, made explicit).

    findings = run_catalog(inputs)                    # every check, in registry order; one that raises raises
    catalog = run_isolated(inputs, contain=...)       # the same, a check that raises recorded (the stage)
    combination = combine(catalog.findings, inputs)   # checks/overlap.py: the monthly findings taken together

How to add a check:
1. A module `checks/<name>.py` whose docstring starts with the check's id and says its Rule, its Saving
   (and lever) or Impact, and its Confidence (a test reads them). It imports one thing, `from checks import
   kit`, and defines `ID`, `run(inputs: kit.CheckInputs) -> list[kit.Finding]` and `CHECK = kit.Check(...)`.
2. `run` states the rule (which traffic, by what test) and, for a monthly saving, the counterfactual:
   `kit.quote(inputs, project_id, model, kit.on_model(to))` prices it on the traffic, scales it to a month
   and states the lever checks/overlap.py combines (None: nothing saved); `quote.finding(ID, ...)` builds
   the finding, with `**quote.evidence` in its evidence. checks/legacy_model.py is the shortest example;
   checks/kit.py lists the counterfactuals. A one-off or an anomaly builds `kit.Finding` itself.
3. List the module below and its CHECK in CHECKS. Pure tests on hand-made frames go in
   tests/unit/test_checks_*.py (tests/unit/check_frames.py builds the inputs).
A provider's behaviour is the price table's (`inputs.rates.provider(name)`, pricing/providers.py), never
a name in the code. A check that raises in the nightly stage is recorded (analysis.check_outcomes, the
run's stats, an error in the log and Sentry) and the others' findings are written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

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

ERROR_LIMIT = 500  # characters of a failed check's error kept for people (the log keeps the traceback)

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
NOT_CHECKS = frozenset({"base", "grouping", "kit", "levers", "overlap", "realised", "usage"})


@dataclass(frozen=True)
class CheckOutcome:
    """How one check fared in a catalog run: what it found, or the error it raised."""

    check_id: str
    findings: int = 0
    error: str | None = None  # '<ErrorType>: <message>' when it raised
    exception: BaseException | None = field(default=None, compare=False, repr=False)  # for the log's traceback

    @property
    def failed(self) -> bool:
        return self.error is not None


@dataclass(frozen=True)
class CatalogRun:
    findings: list[Finding]  # of the checks that did not fail, in registry order
    outcomes: tuple[CheckOutcome, ...]  # one per check, in registry order

    @property
    def failed(self) -> tuple[CheckOutcome, ...]:
        return tuple(o for o in self.outcomes if o.failed)


def run_isolated(inputs: CheckInputs, checks: Sequence[Check] = CHECKS, *,
                 contain: Callable[[Exception], bool]) -> CatalogRun:
    """Every check's findings, in registry order. An error a check raises for which `contain` is true is
    recorded as that check's outcome and the next check runs; any other error is raised (the stage lets a
    lost connection or the time limit end the run). A monthly quote from fewer than 7 days of data says so
    and is at most 'low' confidence (checks.base.short_window)."""
    days = inputs.days_observed  # the window's, not a check's: an error here is raised
    findings: list[Finding] = []
    outcomes: list[CheckOutcome] = []
    for check in checks:
        try:
            found = [short_window(finding, days) for finding in check.run(inputs)]
        except Exception as error:
            if not contain(error):
                raise
            outcomes.append(CheckOutcome(check.id, 0, f"{type(error).__name__}: {error}"[:ERROR_LIMIT], error))
            continue
        findings += found
        outcomes.append(CheckOutcome(check.id, len(found)))
    return CatalogRun(findings, tuple(outcomes))


def run_catalog(inputs: CheckInputs) -> list[Finding]:
    """Every check's findings, in registry order; a check that raises raises (the pure tests, benchmarks)."""
    return run_isolated(inputs, contain=lambda error: False).findings


__all__ = ["CHECKS", "REQUEST_COLUMNS", "CatalogRun", "Check", "CheckInputs", "CheckOutcome", "Finding", "run_catalog",
           "run_isolated"]
