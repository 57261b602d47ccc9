"""The catalog's monthly findings taken together (checks/overlap.py): levers on the same traffic compound,
overlap or are alternatives, on one bill per project and model. Every figure is worked out by hand from
rates version 2026-08-21 (pico-USD per token: claude-sonnet-4-6 3e6 in / 15e6 out, batch half;
claude-haiku-4-5 1e6 / 5e6, batch half, cache read 0.1e6, 5-minute write 1.25e6; claude-sonnet-5 2e6 / 10e6)."""

from __future__ import annotations

from datetime import timedelta

from checks import Finding, levers
from checks.levers import Lever
from checks.overlap import ScopeCombination, attainable_total, combine, monthly_headline
from tests.unit.check_frames import inputs, rows

MINUTE = timedelta(minutes=1)


def finding(check_id: str, *taken: Lever) -> Finding:
    saving = sum(lever.window_saving_nanos for lever in taken)
    return Finding(check_id=check_id, project_id=1, subject=check_id, title=check_id, rationale="why",
                   impact_nanos=saving, confidence="high", request_count=1, sample_request_ids=(),
                   evidence={}, levers=taken)


# 100 requests of 1000 in + 100 out on claude-sonnet-4-6: 4,500,000 nanos each as they ran
SONNET = 4_500_000
SWAP = Lever(levers.MODEL, 1, "claude-sonnet-4-6", 100 * (SONNET - 1_500_000), to="claude-haiku-4-5")
BATCH = Lever(levers.TIER, 1, "claude-sonnet-4-6", 100 * SONNET // 2, tier="standard", to="batch")
SUCCESSOR = Lever(levers.MODEL, 1, "claude-sonnet-4-6", 100 * (SONNET - 3_000_000), to="claude-sonnet-5")


def test_a_swap_and_batching_compound_on_one_bill() -> None:
    # swapped to haiku (1,500,000 a request), batching then halves the haiku bill: 100 x 750,000 more,
    # not the 225,000,000 it saves on the sonnet bill
    findings = [finding("model-downgrade", SWAP), finding("batch-api", BATCH)]
    [scope] = combine(findings, inputs(rows(100))).scopes
    assert scope.fingerprints == ("model-downgrade:1:model-downgrade", "batch-api:1:batch-api")  # largest first
    assert scope.subset_savings == (0, 300_000_000, 225_000_000, 300_000_000 + 75_000_000)
    assert scope.saving({f.fingerprint for f in findings}) == 100 * (SONNET - 750_000)


def test_a_downgrade_and_a_successor_of_the_same_model_are_alternatives() -> None:
    findings = [finding("legacy-model", SUCCESSOR), finding("model-downgrade", SWAP), finding("batch-api", BATCH)]
    [scope] = combine(findings, inputs(rows(100))).scopes
    every = {f.fingerprint for f in findings}
    assert scope.saving(every) == 300_000_000 + 75_000_000  # the downgrade, batched; the successor not taken
    assert scope.saving(every - {"model-downgrade:1:model-downgrade"}) == 225_000_000 + 100 * 1_500_000 // 2
    assert scope.saving({"legacy-model:1:legacy-model"}) == 150_000_000


def test_a_response_cache_and_prompt_caching_on_the_same_prompts_overlap() -> None:
    # one prompt of 2000 tokens + 50 out on haiku, 12 times 2 minutes apart: 2,250,000 nanos each. A response
    # cache answers the 11 repeats (24,750,000); caching would read the cache on them and write it on the
    # first (27,000,000 - 7,700,000 = 19,300,000). Together only the first request is sent, and caching it
    # (a write, 2,750,000) costs more than sending it plain: the combination is the response cache's.
    session = rows(12, model="claude-haiku-4-5", input=2000, output=50, every=2 * MINUTE, prompt_key=7)
    ids = [r["id"] for r in session]
    drop = Lever(levers.DROP, 1, "claude-haiku-4-5", 11 * 2_250_000, request_ids=frozenset(ids[1:]))
    cache = Lever(levers.PROMPT_CACHE, 1, "claude-haiku-4-5", 19_300_000, request_ids=frozenset(ids),
                  reads=frozenset(ids[1:]), cache_write="cache_write")
    findings = [finding("prompt-caching", cache), finding("response-cache", drop)]
    [scope] = combine(findings, inputs(session)).scopes
    assert scope.subset_savings == (0, 24_750_000, 19_300_000, 24_750_000)


def test_levers_on_other_models_or_projects_are_scopes_of_their_own() -> None:
    other = Lever(levers.TIER, 2, "claude-sonnet-4-6", 10 * SONNET // 2, tier="standard", to="batch")
    findings = [finding("model-downgrade", SWAP), finding("batch-api", other)]
    scopes = combine(findings, inputs(rows(100) + rows(10, project=2))).scopes
    assert [(s.project_id, s.subset_savings) for s in scopes] == [(1, (0, 300_000_000)), (2, (0, 22_500_000))]


def test_the_headline_takes_the_open_subset_scaled_to_a_month_within_the_quotes() -> None:
    scope = ScopeCombination(1, "m", ("a", "b"), (0, 300, 225, 375))
    quotes = {"a": 900, "b": 675}  # each window saving x 30 / 10 days
    assert monthly_headline([scope], quotes, days_observed=10) == 375 * 3
    assert monthly_headline([scope], {"b": 675}, days_observed=10) == 675  # 'a' dismissed: 'b' alone
    assert monthly_headline([scope], {}, days_observed=10) == 0
    # a quote no scope knows counts on its own; scaling each quote rounds down on its own, the sum once:
    # the combined figure never exceeds the quotes it combines
    odd = ScopeCombination(1, "m", ("a", "b"), (0, 1, 1, 2))
    assert monthly_headline([odd], {"a": 3 // 2, "b": 3 // 2, "c": 5}, days_observed=20) == 2 + 5


def test_the_former_total_counted_alternative_swaps_once() -> None:
    # attainable_total stays for the reports until they read analysis.catalog_summary
    quotes = [("model-downgrade:7:claude-sonnet-4-6->claude-haiku-4-5", 40),
              ("legacy-model:7:claude-sonnet-4-6->claude-sonnet-5", 25),
              ("batch-api:7:claude-sonnet-4-6", 10), ("model-downgrade:3:ft:gpt-4o:acme:x->gpt-4o-mini", 4)]
    assert attainable_total(quotes) == 40 + 10 + 4
