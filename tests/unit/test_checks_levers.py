"""Every monthly finding states its counterfactual as levers that price what the check quoted, and the
whole catalog taken together saves at least its largest quote and at most their sum."""

from __future__ import annotations

from datetime import timedelta
from itertools import pairwise

from checks import levers, run_catalog
from checks.base import MONTHLY, CheckInputs, Finding
from checks.overlap import _scope_rows, actual_bill, apply, combine
from tests.unit.check_frames import START, cluster, inputs, rows

MINUTE = timedelta(minutes=1)


def workspace() -> CheckInputs:
    """Traffic on which every monthly check fires, some of them on the same project and model."""
    data = rows(200)  # model-downgrade on project 1's claude-sonnet-4-6 ...
    faq = [r for key, count in ((11, 10), (12, 12)) for r in rows(count, prompt_key=key, every=timedelta(hours=12))]
    data += faq  # ... where a response cache answers 20 repeats of the same model
    data += rows(20, model="claude-opus-4-1", cache_read=2000, cache_write=400)  # legacy-model
    data += rows(20, model="claude-haiku-4-5", project=2, cache_write=3000)  # cache-write-waste
    data += [r for day in range(10) for r in rows(10, model="gemini-2.5-flash", project=2, every=10 * MINUTE,
                                                    start=START + timedelta(days=day, hours=1))]  # batch-api
    data += rows(5, model="gemini-2.5-pro", project=2, input=210_000, output=1000)  # long-context-tier
    data += rows(100, model="gpt-5.1", project=2, input=500, output=1000, reasoning=900)  # reasoning-overspend
    data += rows(12, model="claude-haiku-4-5", input=2000, output=50, every=2 * MINUTE, prompt_key=7)  # caching
    clusters = [cluster(11, "duplicate"), cluster(12, "duplicate"), cluster(7, "duplicate", "cacheable")]
    return inputs(data, clusters=clusters)


def monthly(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.recurrence == MONTHLY]


def test_every_monthly_check_fires_on_the_workspace_with_levers_adding_up_to_its_quote() -> None:
    data = workspace()
    found = monthly(run_catalog(data))
    assert {f.check_id for f in found} == {"model-downgrade", "response-cache", "legacy-model", "cache-write-waste",
                                          "batch-api", "long-context-tier", "reasoning-overspend", "prompt-caching"}
    for f in found:
        assert f.levers, f.check_id
        window = sum(lever.window_saving_nanos for lever in f.levers)
        assert window == f.evidence["window_saving_nanos"], f.check_id
        assert data.monthly(window) == f.monthly_saving_nanos, f.check_id


def test_each_lever_alone_on_the_bill_saves_what_its_check_priced() -> None:
    data = workspace()
    for f in monthly(run_catalog(data)):
        for lever in f.levers:
            scope_rows = _scope_rows(data, lever.scope, [lever])
            _, saved = apply(lever, actual_bill(scope_rows, data.rates), scope_rows, data.rates)
            assert saved == lever.window_saving_nanos, (f.check_id, lever.kind)


def test_the_whole_catalog_saves_less_than_its_quotes_added_and_at_least_the_largest() -> None:
    data = workspace()
    found = monthly(run_catalog(data))
    combination = combine(found, data)
    scopes = combination.scopes
    shared = [s for s in scopes if len(s.fingerprints) > 1]
    assert [(s.project_id, s.model) for s in shared] == [(1, "claude-sonnet-4-6")]  # the swap and the cache
    quotes = {f.fingerprint: f.monthly_saving_nanos for f in found}
    headline = combination.headline(quotes)
    assert max(quotes.values()) <= headline < sum(quotes.values())
    # the overlap is what a response cache would have saved on sonnet after the swap to haiku: the repeats
    # cost 1,500,000 instead of 4,500,000 a request, so the cache saves a third of its quote in company
    cache = next(f for f in found if f.check_id == "response-cache")
    assert sum(quotes.values()) - headline == cache.monthly_saving_nanos * 2 // 3
    for scope in scopes:  # every subset of a scope lies between its largest lever and their sum
        alone = [scope.subset_savings[1 << i] for i in range(len(scope.fingerprints))]
        assert all(a >= b for a, b in pairwise(alone))
        for mask, saved in enumerate(scope.subset_savings):
            members = [alone[i] for i in range(len(alone)) if mask >> i & 1]
            assert max(members, default=0) <= saved <= sum(members)


def test_levers_say_what_they_change() -> None:
    kinds = {f.check_id: {lever.kind for lever in f.levers} for f in monthly(run_catalog(workspace()))}
    assert kinds == {"model-downgrade": {levers.MODEL}, "legacy-model": {levers.MODEL}, "batch-api": {levers.TIER},
                     "cache-write-waste": {levers.NO_CACHE}, "reasoning-overspend": {levers.CAP_REASONING},
                     "prompt-caching": {levers.PROMPT_CACHE}, "response-cache": {levers.DROP},
                     "long-context-tier": {levers.BASE_RATES}}
