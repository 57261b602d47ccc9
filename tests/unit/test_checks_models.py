"""model-downgrade, legacy-model, long-context-tier and reasoning-overspend on hand-made frames; every
expected saving is worked out by hand from rates version 2026-08-21 (pico-USD per token)."""

from __future__ import annotations

from datetime import timedelta

from checks import legacy_model, long_context_tier, model_downgrade, reasoning_overspend, run_catalog
from tests.unit.check_frames import AS_OF, inputs, rows

# claude-sonnet-4-6 $3/$15, claude-haiku-4-5 $1/$5: 1000 in + 100 out = 4,500,000 vs 1,500,000 nanos
SONNET_VS_HAIKU = 4_500_000 - 1_500_000


def test_model_downgrade_quotes_the_same_tokens_on_the_cheaper_sibling() -> None:
    data = rows(200) + rows(5, project=2)
    [finding] = model_downgrade.run(inputs(data))
    assert finding.monthly_saving_nanos == 200 * SONNET_VS_HAIKU == 600_000_000
    assert (finding.project_id, finding.subject) == (1, "claude-sonnet-4-6->claude-haiku-4-5")
    assert finding.request_count == 200 and finding.confidence == "medium"
    assert set(finding.sample_request_ids) <= {r["id"] for r in data if r["project_id"] == 1}
    assert len(finding.sample_request_ids) == 20
    assert finding.evidence["counterfactual"] == {"kind": "model", "from": "claude-sonnet-4-6",
                                                  "to": "claude-haiku-4-5"}


def test_model_downgrade_targets_the_current_model_when_the_sibling_is_superseded() -> None:
    # from 2026-11-26 the table supersedes claude-haiku-4-5 by claude-haiku-5-5 ($0.10/$0.50): 1000 in + 100
    # out = 150,000 nanos a request, against 4,500,000 on claude-sonnet-4-6 (unchanged)
    as_of = AS_OF + timedelta(days=40)
    [finding] = model_downgrade.run(inputs(rows(200, start=as_of - timedelta(days=30)), as_of=as_of))
    assert finding.subject == "claude-sonnet-4-6->claude-haiku-5-5"
    assert finding.monthly_saving_nanos == 200 * (4_500_000 - 150_000)
    assert "claude-haiku-4-5, its cheaper sibling, is superseded by claude-haiku-5-5" in finding.rationale
    assert finding.levers[0].to == "claude-haiku-5-5"


def test_a_saving_seen_over_ten_days_is_scaled_to_thirty() -> None:
    [finding] = model_downgrade.run(inputs(rows(200, start=AS_OF - timedelta(days=10), every=timedelta(minutes=30))))
    assert finding.monthly_saving_nanos == 3 * 200 * SONNET_VS_HAIKU


def test_a_quote_from_fewer_than_seven_days_says_so_and_is_low_confidence() -> None:
    two_days = rows(1000, start=AS_OF - timedelta(days=2), every=timedelta(minutes=2), output=50)
    [finding] = [f for f in run_catalog(inputs(two_days)) if f.check_id == "model-downgrade"]
    # 1000 x (1000x3e6 + 50x15e6 - 1000x1e6 - 50x5e6) = 2.5e12 pico over 2 days, x 15 to a month
    assert finding.monthly_saving_nanos == 1000 * 2_500_000 * 30 // 2
    assert finding.confidence == "low"  # would be high: 1,000 requests with short answers
    assert finding.rationale.endswith("Quoted from 2 days of data, scaled ×30/2 to a month: low confidence "
                                      "until 7 days are seen.")
    week = rows(1000, start=AS_OF - timedelta(days=7), every=timedelta(minutes=10), output=50)
    [finding] = [f for f in run_catalog(inputs(week)) if f.check_id == "model-downgrade"]
    assert finding.confidence == "high" and "Quoted from" not in finding.rationale


def test_model_downgrade_stays_silent_without_volume_sibling_premium_or_small_prompts() -> None:
    assert model_downgrade.run(inputs(rows(199))) == []
    assert model_downgrade.run(inputs(rows(300, model="claude-haiku-4-5"))) == []  # no cheaper sibling
    assert model_downgrade.run(inputs(rows(300, model="gemini-2.5-flash"))) == []  # not premium
    assert model_downgrade.run(inputs(rows(300, input=20_000))) == []  # large prompts
    assert model_downgrade.run(inputs(rows(300, output=2_000))) == []  # long answers


def test_legacy_model_prices_cache_reads_and_writes_on_the_current_successor() -> None:
    # opus-4-1: 1000x15e6 + 2000x1.5e6 + 400x18.75e6 + 100x75e6 = 33e9 pico; opus-4-6 a third: 11e9 pico.
    # The table names opus-4-5 as its successor, and opus-4-6 as the successor of that: the move is to 4-6.
    data = rows(20, model="claude-opus-4-1", cache_read=2000, cache_write=400)
    [finding] = legacy_model.run(inputs(data))
    assert finding.monthly_saving_nanos == 20 * (33_000_000 - 11_000_000) == 440_000_000
    assert finding.subject == "claude-opus-4-1->claude-opus-4-6" and finding.confidence == "high"
    assert finding.evidence["successors"] == ["claude-opus-4-5", "claude-opus-4-6"]
    assert "current successor claude-opus-4-6" in finding.title
    assert "superseded by claude-opus-4-5 and then claude-opus-4-6" in finding.rationale


def test_legacy_model_stays_silent_below_volume_or_without_successor() -> None:
    assert legacy_model.run(inputs(rows(19, model="claude-opus-4-1"))) == []
    assert legacy_model.run(inputs(rows(50, model="claude-sonnet-4-6"))) == []  # no successor in 2026-08-21


def test_long_context_tier_quotes_the_premium_over_base_rates() -> None:
    # gemini-2.5-pro above 200k: 210000x2.5e6 + 1000x15e6 = 540e9 pico; base 210000x1.25e6 + 1000x10e6 = 272.5e9
    [finding] = long_context_tier.run(inputs(rows(5, model="gemini-2.5-pro", input=210_000, output=1000)))
    assert finding.monthly_saving_nanos == 5 * (540_000_000 - 272_500_000) == 1_337_500_000
    assert finding.evidence["models"] == {"gemini-2.5-pro": {"threshold_tokens": 200_000, "requests": 5}}


def test_long_context_tier_stays_silent_far_above_the_line_or_with_few_requests() -> None:
    assert long_context_tier.run(inputs(rows(10, model="gemini-2.5-pro", input=260_000))) == []
    assert long_context_tier.run(inputs(rows(4, model="gemini-2.5-pro", input=210_000))) == []


def test_reasoning_overspend_caps_reasoning_at_the_visible_answer() -> None:
    # gpt-5.1 $1.25/$10: 500 in + 1000 out (900 reasoning) = 10.625e9 pico; capped at 200 out = 2.625e9
    [finding] = reasoning_overspend.run(inputs(rows(100, model="gpt-5.1", input=500, output=1000, reasoning=900)))
    assert finding.monthly_saving_nanos == 100 * 8_000_000 == 800_000_000
    assert finding.confidence == "medium"


def test_reasoning_overspend_stays_silent_when_most_requests_do_not_reason() -> None:
    data = rows(80, model="gpt-5.1", input=500, output=1000, reasoning=900) + rows(20, model="gpt-5.1", output=100)
    assert reasoning_overspend.run(inputs(data)) == []
    assert reasoning_overspend.run(inputs(rows(99, model="gpt-5.1", output=1000, reasoning=900))) == []


def test_reasoning_overspend_leaves_out_the_successful_requests_without_output() -> None:
    # 30 silent requests of the same project and model count in the day sums but not in the rule: with them
    # 100 of 130 requests reason (77 %, under 90 %); without them all 100 do, and only those are quoted
    data = rows(100, model="gpt-5.1", input=500, output=1000, reasoning=900) + rows(30, model="gpt-5.1", output=0)
    [finding] = reasoning_overspend.run(inputs(data))
    assert finding.request_count == 100
    assert finding.monthly_saving_nanos == 100 * 8_000_000
    assert finding.evidence["reasoning_request_share"] == 1.0
    # silent requests of another project leave this one's sums alone
    other = rows(100, model="gpt-5.1", input=500, output=1000, reasoning=900) + rows(30, model="gpt-5.1", output=0,
                                                                                        project=2)
    assert [f.request_count for f in reasoning_overspend.run(inputs(other))] == [100]


def test_rows_a_check_cannot_price_are_said_in_its_evidence_not_guessed() -> None:
    data = rows(20, model="claude-opus-4-1", cache_read=2000, cache_write=400) + rows(5, model="claude-opus-4-1",
                                                                                      tier="priority")
    [finding] = legacy_model.run(inputs(data))
    assert finding.monthly_saving_nanos == 440_000_000  # the 20 priced rows only
    assert finding.evidence["unpriced_requests"] == 5 and finding.confidence == "medium"
    assert any("priority" in reason for reason in finding.evidence["unpriced_reasons"])
