"""Outbound HTTP of the billing clients, strict (issue 16 item 5), against a local HTTP server: https only
unless allowed, nothing from the environment, no redirect followed, the answer's size capped, a timeout
on every step and a deadline on the whole answer. A real server, never a mock of httpx."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from typing import Any

import pytest
from pydantic import ValidationError

from adapters.billing import AdminKey, AnthropicCosts, BillingClient, OpenAICosts
from core.errors import ConfigError, TransientError
from reconciliation.limits import BillingLimits, HttpPolicy
from reconciliation.parsers import BillingFormatError, LimitExceeded
from tests.unit.billing_server import Answer, Script, anthropic_page, billing_server, openai_page
from workers.settings import BillingSettings, describe_validation_error

NOV1 = 1_793_491_200
KEY = AdminKey("sk-admin-HTTPTESTKEY-0123456789abcdef")
LOCAL = HttpPolicy(allow_insecure_http=True)
NOVEMBER = (dt.date(2026, 11, 1), dt.date(2026, 12, 1))


def openai(base: str, http: HttpPolicy = LOCAL, **options: Any) -> BillingClient:
    return OpenAICosts(KEY, base, http=http, sleep=lambda s: None, backoff=0.01, **options)


def test_an_http_base_url_is_refused_before_any_request_without_the_setting() -> None:
    script = Script([Answer(body=openai_page([(NOV1, [(1, "input")])]))])
    with billing_server(script) as base:
        with pytest.raises(ConfigError) as refused:
            openai(base, http=HttpPolicy())
        assert script.seen == [], "the refused client sent nothing"
        with openai(base) as allowed:  # HALTON_ALLOW_INSECURE_HTTP=true: tests and the demo
            assert allowed.daily_costs(*NOVEMBER)[0].charges_nanos == 10**9
    said = str(refused.value)
    assert "is not https" in said and "HALTON_ALLOW_INSECURE_HTTP" in said and base.split("//")[1] in said


def test_a_base_url_with_a_password_is_refused_without_repeating_it() -> None:
    with pytest.raises(ConfigError) as refused:
        OpenAICosts(KEY, "http://user:hunter2@billing.internal:8080")
    assert "hunter2" not in str(refused.value) and "http://billing.internal:8080" in str(refused.value)
    with pytest.raises(ConfigError, match="not an https:// URL"):
        OpenAICosts(KEY, "ftp://billing.internal")


@pytest.mark.parametrize(("env", "says"), [
    ({"HALTON_OPENAI_BASE_URL": "http://127.0.0.1:9"}, "HALTON_OPENAI_BASE_URL: the openai billing API's base URL "
                                                       "http://127.0.0.1:9 is not https"),
    ({"HALTON_ANTHROPIC_BASE_URL": "http://127.0.0.1:9", "HALTON_ENV": "production",
      "HALTON_ALLOW_INSECURE_HTTP": "true"}, "HALTON_ALLOW_INSECURE_HTTP=true is for tests and the demo"),
    ({"HALTON_BILLING_MAX_FIELD_CHARS": "200000"}, "HALTON_BILLING_MAX_FIELD_CHARS: Input should be less than"),
    ({"HALTON_BILLING_READ_TIMEOUT": "0"}, "HALTON_BILLING_READ_TIMEOUT: Input should be greater than 0"),
])
def test_the_settings_refuse_http_in_production_and_name_a_bad_bound(
        env: dict[str, str], says: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as refused:
        BillingSettings()
    assert says in describe_validation_error(refused.value)


def test_the_settings_give_https_defaults_and_allow_http_only_when_told(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = BillingSettings()
    assert settings.base_url("openai") == "https://api.openai.com" and not settings.http().allow_insecure_http
    monkeypatch.setenv("HALTON_OPENAI_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("HALTON_ALLOW_INSECURE_HTTP", "true")
    monkeypatch.setenv("HALTON_BILLING_MAX_ROWS", "10")
    settings = BillingSettings()
    assert settings.base_url("openai") == "http://127.0.0.1:9" and settings.http().allow_insecure_http
    assert settings.limits().max_rows == 10


def test_every_step_has_a_timeout_and_the_environment_is_not_trusted() -> None:
    with openai("https://billing.example") as api:
        timeout = api._http.timeout
        assert (timeout.connect, timeout.read, timeout.write, timeout.pool) == (10, 30, 30, 10)
        assert api._http.trust_env is False and api._http.follow_redirects is False


def test_proxy_variables_of_the_environment_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # nothing listens there: a client using it fails
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    script = Script([Answer(body=openai_page([(NOV1, [(2, "input")])]))])
    with billing_server(script) as base, openai(base, attempts=1) as api:
        assert api.daily_costs(*NOVEMBER)[0].charges_nanos == 2 * 10**9
    assert len(script.seen) == 1


@pytest.mark.parametrize("declare_length", [True, False])
def test_an_oversized_answer_is_refused_naming_the_limit(declare_length: bool) -> None:
    page = openai_page([(NOV1, [(1, "x" * 5_000)])])
    script = Script([Answer(body=page, declare_length=declare_length)])
    limits = BillingLimits(max_response_bytes=4_096)
    with (billing_server(script) as base, openai(base, limits=limits) as api,
          pytest.raises(LimitExceeded, match="answered more than the limit of 4,096 bytes") as refused):
        api.daily_costs(*NOVEMBER)
    assert refused.value.limit == "max_response_bytes" and len(script.seen) == 1, "not retried"


def test_a_compressed_answer_is_capped_by_what_it_expands_to() -> None:
    bomb = gzip.compress(json.dumps(openai_page([(NOV1, [(1, " " * 200_000)])])).encode())
    assert len(bomb) < 4_096
    script = Script([Answer(body=bomb, headers={"content-encoding": "gzip"})])
    with (billing_server(script) as base, openai(base, limits=BillingLimits(max_response_bytes=100_000)) as api,
          pytest.raises(LimitExceeded, match="more than the limit of 100,000 bytes")):
        api.daily_costs(*NOVEMBER)


def test_a_slow_answer_times_out_is_retried_then_fails_saying_so() -> None:
    script = Script([Answer(body=openai_page([(NOV1, [(1, "input")])]), delay=1.0)])
    http = HttpPolicy(allow_insecure_http=True, read_timeout=0.2)
    with (billing_server(script) as base, openai(base, http=http, attempts=2) as api,
          pytest.raises(TransientError) as raised):
        api.daily_costs(*NOVEMBER)
    assert str(raised.value) == ("openai billing API timed out 2 times (the last: no data for 0.2 s); "
                                 "retrying later")
    assert len(script.seen) == 2


def test_an_answer_that_trickles_in_meets_the_deadline() -> None:
    page = openai_page([(NOV1, [(1, "x" * 400)])])
    script = Script([Answer(body=page, trickle=0.1, chunk=100)])  # each chunk well within the read timeout
    http = HttpPolicy(allow_insecure_http=True, read_timeout=1.0, deadline=0.3)
    with (billing_server(script) as base, openai(base, http=http, attempts=1) as api,
          pytest.raises(TransientError, match=r"the last: the answer took longer than 0.3 s")):
        api.daily_costs(*NOVEMBER)


def test_a_slow_answer_then_a_prompt_one_succeeds() -> None:
    page = anthropic_page([("2026-11-01", [("100", "x")])])
    script = Script([Answer(body=page, delay=1.0), Answer(body=page)])
    http = HttpPolicy(allow_insecure_http=True, read_timeout=0.2)
    with (billing_server(script) as base,
          AnthropicCosts(KEY, base, http=http, sleep=lambda s: None, backoff=0.01) as api):
        assert api.daily_costs(*NOVEMBER)[0].charges_nanos == 10**9
    assert len(script.seen) == 2


def test_a_redirect_is_not_followed() -> None:
    elsewhere = Script([Answer(body=openai_page([(NOV1, [(1, "input")])]))])
    with billing_server(elsewhere) as target:
        script = Script([Answer(301, {}, {"location": f"{target}/v1/organization/costs"})])
        with (billing_server(script) as base, openai(base) as api,
              pytest.raises(BillingFormatError, match=r"answered a redirect \(HTTP 301\); redirects are not")):
            api.daily_costs(*NOVEMBER)
    assert elsewhere.seen == [], "the admin key went nowhere else"


def test_results_beyond_the_row_limit_are_refused_across_pages() -> None:
    script = Script([Answer(body=openai_page([(NOV1, [(1, "a"), (1, "b")])], next_page="p2")),
                     Answer(body=openai_page([(NOV1 + 86_400, [(1, "a"), (1, "b")])]))])
    with (billing_server(script) as base, openai(base, limits=BillingLimits(max_rows=3)) as api,
          pytest.raises(LimitExceeded, match="more than the limit of 3 results")):
        api.daily_costs(*NOVEMBER)
