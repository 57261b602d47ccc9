"""A check that raises is recorded with its error, and the other checks' findings stand."""

from __future__ import annotations

from dataclasses import replace

import pytest

from checks import CHECKS, CheckInputs, Finding, prompt_caching, run_catalog, run_isolated
from tests.unit.test_checks_levers import workspace


def broken(inputs: CheckInputs) -> list[Finding]:
    """prompt-caching on clusters that lost a column it reads: a KeyError of its own."""
    return prompt_caching.run(replace(inputs, clusters=inputs.clusters.drop(columns=["kinds"])))


WITH_ONE_BROKEN = tuple(replace(c, run=broken) if c.id == "prompt-caching" else c for c in CHECKS)


def test_a_check_that_raises_is_recorded_and_the_others_findings_are_kept() -> None:
    data = workspace()
    healthy = run_catalog(data)
    catalog = run_isolated(data, WITH_ONE_BROKEN, contain=lambda error: True)
    assert catalog.findings == [f for f in healthy if f.check_id != "prompt-caching"]
    assert [o.check_id for o in catalog.failed] == ["prompt-caching"]
    [failure] = catalog.failed
    assert failure.error == "KeyError: 'kinds'" and isinstance(failure.exception, KeyError)
    assert [o.check_id for o in catalog.outcomes] == [c.id for c in CHECKS]  # one outcome per check, in order
    found = {o.check_id: o.findings for o in catalog.outcomes if not o.failed}
    assert found == {c.id: sum(f.check_id == c.id for f in healthy) for c in CHECKS if c.id != "prompt-caching"}


def test_an_error_the_caller_does_not_contain_is_raised() -> None:
    with pytest.raises(KeyError):
        run_isolated(workspace(), WITH_ONE_BROKEN, contain=lambda error: not isinstance(error, KeyError))
    with pytest.raises(KeyError):  # the pure entry point contains nothing
        run_catalog(replace(workspace(), clusters=workspace().clusters.drop(columns=["kinds"])))
