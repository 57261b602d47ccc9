"""The billing API clients against a local HTTP server answering in the documented shapes."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

import pytest

from adapters.billing import AdminKey, AnthropicCosts, OpenAICosts, retry_after_seconds
from core.errors import TransientError, UserError
from reconciliation.limits import HttpPolicy
from tests.unit.billing_server import Answer, Script, anthropic_page, billing_server, openai_page

NOV1 = 1_793_491_200  # 2026-11-01T00:00:00Z
DAY = 86_400
OPENAI_KEY = "sk-admin-OPENAISECRET0123456789abcdef"
ANTHROPIC_KEY = "sk-ant-admin01-ANTHROPICSECRET0123456789"
LOCAL_HTTP = HttpPolicy(allow_insecure_http=True)  # the local billing server speaks http


def client(kind: type, base: str, sleeps: list[float], **options: object) -> OpenAICosts | AnthropicCosts:
    key = AdminKey(OPENAI_KEY if kind is OpenAICosts else ANTHROPIC_KEY)
    options.setdefault("http", LOCAL_HTTP)
    return kind(key, base, sleep=sleeps.append, backoff=0.01, max_wait=5, **options)  # type: ignore[no-any-return]


def test_openai_pages_are_followed_to_the_end_and_dollars_read_exactly() -> None:
    assert dt.datetime.fromtimestamp(NOV1, dt.UTC).date() == dt.date(2026, 11, 1)
    script = Script([
        Answer(body=openai_page([(NOV1, [(0.1, "input"), (0.2, "output")])], next_page="page_2")),
        Answer(body=openai_page([(NOV1 + DAY, [(12.345678901, "input")])], next_page="page_3")),
        Answer(body=openai_page([(NOV1 + 2 * DAY, [(0.06, None)])])),
    ])
    sleeps: list[float] = []
    with billing_server(script) as base, client(OpenAICosts, base, sleeps) as api:
        days = api.daily_costs(dt.date(2026, 11, 1), dt.date(2026, 12, 1))
    assert [(d.day.day, d.charges_nanos) for d in days] == [(1, 300_000_000), (2, 12_345_678_901), (3, 60_000_000)]
    assert [s.path for s in script.seen] == ["/v1/organization/costs"] * 3
    assert [dict(s.query).get("page") for s in script.seen] == [None, "page_2", "page_3"]
    first = dict(script.seen[0].query)
    assert (first["start_time"], first["end_time"], first["bucket_width"]) == (str(NOV1), str(NOV1 + 30 * DAY), "1d")
    assert script.seen[0].headers["authorization"] == f"Bearer {OPENAI_KEY}"
    assert sleeps == []


def test_anthropic_cents_strings_become_dollars_and_pages_repeat_the_query() -> None:
    script = Script([
        Answer(body=anthropic_page([("2026-11-01", [("123.78912", "Claude Sonnet 4.6 Usage - Input Tokens")])],
                                   next_page="page_MjAyNg==")),
        Answer(body=anthropic_page([("2026-11-02", [("50", "Web Search Usage"), ("0.5", "Code Execution Usage")])])),
    ])
    sleeps: list[float] = []
    with billing_server(script) as base, client(AnthropicCosts, base, sleeps) as api:
        days = api.daily_costs(dt.date(2026, 11, 1), dt.date(2026, 12, 1))
    assert [(d.day.day, d.charges_nanos) for d in days] == [(1, 1_237_891_200), (2, 505_000_000)]
    assert script.seen[0].query[:3] == [("starting_at", "2026-11-01T00:00:00Z"), ("ending_at", "2026-12-01T00:00:00Z"),
                                        ("bucket_width", "1d")]
    assert ("group_by[]", "description") in script.seen[1].query and ("page", "page_MjAyNg==") in script.seen[1].query
    headers = script.seen[0].headers
    assert headers["x-api-key"] == ANTHROPIC_KEY and headers["anthropic-version"] == "2023-06-01"


def test_a_429_waits_the_retry_after_it_gives() -> None:
    script = Script([
        Answer(429, {"error": {"type": "rate_limit_error", "message": "slow down"}}, {"Retry-After": "3"}),
        Answer(body=openai_page([(NOV1, [(1, "input")])])),
    ])
    sleeps: list[float] = []
    with billing_server(script) as base, client(OpenAICosts, base, sleeps) as api:
        days = api.daily_costs(dt.date(2026, 11, 1), dt.date(2026, 12, 1))
    assert sleeps == [3.0] and days[0].charges_nanos == 1_000_000_000 and len(script.seen) == 2


def test_a_500_then_success_backs_off_once() -> None:
    script = Script([Answer(500, {"type": "error", "error": {"type": "api_error", "message": "boom"}}),
                     Answer(body=anthropic_page([("2026-11-01", [("100", "x")])]))])
    sleeps: list[float] = []
    with billing_server(script) as base, client(AnthropicCosts, base, sleeps) as api:
        days = api.daily_costs(dt.date(2026, 11, 1), dt.date(2026, 12, 1))
    assert len(sleeps) == 1 and 0 <= sleeps[0] <= 5 and days[0].charges_nanos == 1_000_000_000


def test_a_provider_that_stays_down_is_a_transient_error_after_the_tries(caplog: pytest.LogCaptureFixture) -> None:
    script = Script([Answer(503, {"error": "unavailable"})])
    sleeps: list[float] = []
    caplog.set_level(logging.DEBUG)
    with (billing_server(script) as base, client(OpenAICosts, base, sleeps, attempts=3) as api,
          pytest.raises(TransientError, match="HTTP 503 3 times") as raised):
        api.daily_costs(dt.date(2026, 11, 1), dt.date(2026, 12, 1))
    assert len(script.seen) == 3 and len(sleeps) == 2
    assert OPENAI_KEY not in str(raised.value) and OPENAI_KEY not in caplog.text


def test_an_empty_month_gives_days_of_nothing() -> None:
    script = Script([Answer(body=anthropic_page([("2026-11-01", []), ("2026-11-02", [])]))])
    with billing_server(script) as base, client(AnthropicCosts, base, []) as api:
        days = api.daily_costs(dt.date(2026, 11, 1), dt.date(2026, 12, 1))
    assert [(d.day.day, d.charges_nanos, d.credits_nanos, d.lines) for d in days] == [(1, 0, 0, ()), (2, 0, 0, ())]


def test_a_bucket_with_a_credit_keeps_it_apart_from_the_charges() -> None:
    script = Script([Answer(body=openai_page([(NOV1, [(10, "input"), (-2.5, "Promotional credit")])]))])
    with billing_server(script) as base, client(OpenAICosts, base, []) as api:
        [day] = api.daily_costs(dt.date(2026, 11, 1), dt.date(2026, 12, 1))
    assert (day.charges_nanos, day.credits_nanos, day.net_nanos) == (10_000_000_000, -2_500_000_000, 7_500_000_000)
    assert [(i.description, i.amount_nanos) for i in day.lines if i.amount_nanos < 0] == [
        ("Promotional credit", -2_500_000_000)]


def test_unknown_fields_are_ignored() -> None:
    page = anthropic_page([("2026-11-01", [("100", "x")])], residency="eu", speed="fast")
    page["data"][0]["results"][0]["brand_new_field"] = {"nested": [1, 2]}
    page["data"][0]["unheard_of"] = True
    with billing_server(Script([Answer(body=page)])) as base, client(AnthropicCosts, base, []) as api:
        [day] = api.daily_costs(dt.date(2026, 11, 1), dt.date(2026, 12, 1))
    assert day.charges_nanos == 1_000_000_000


def test_a_refused_key_is_a_user_error_naming_the_hint_never_the_key(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    body = {"type": "error", "error": {"type": "authentication_error", "message": f"invalid x-api-key {ANTHROPIC_KEY}"}}
    with billing_server(Script([Answer(401, body)])) as base, client(AnthropicCosts, base, []) as api:
        with pytest.raises(UserError) as raised:
            api.daily_costs(dt.date(2026, 11, 1), dt.date(2026, 12, 1))
        assert ANTHROPIC_KEY not in repr(api.key) and ANTHROPIC_KEY not in str(api.key)
    assert "admin key …6789 was refused" in str(raised.value) and ANTHROPIC_KEY[:12] not in str(raised.value)
    assert ANTHROPIC_KEY not in caplog.text


def test_retry_after_reads_seconds_and_http_dates() -> None:
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None
    assert retry_after_seconds("Mon, 30 Nov 2026 10:00:10 GMT", now=dt.datetime(2026, 11, 30, 10, 0,
                                                                                  tzinfo=dt.UTC).timestamp()) == 10.0
    assert Decimal("0.1") + Decimal("0.2") == Decimal("0.3")  # why the parser reads JSON numbers as Decimals
