"""The provider billing APIs as HTTP clients: OpenAI's organization Costs API and Anthropic's Admin API
cost report, each paged to the end into daily buckets.

httpx does the HTTP; tenacity does the retries: a 429 or a 5xx (or a dropped connection, or a timeout)
is tried again after the answer's Retry-After when it gives one, else with exponential backoff and
jitter; when the tries run out it is a TransientError, which the task retries later. A refused key is a
UserError (a person must reconnect); an answer that is not the documented shape, or is beyond a bound of
reconciliation/limits.py, is a BillingFormatError. HTTP is strict: see BillingClient. The admin key lives
in an AdminKey whose repr shows only its hint, so it never reaches a log line, an error message, a
Sentry frame's locals or a task's arguments.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from core.errors import TransientError, UserError
from core.periods import utc_midnight
from reconciliation.limits import (
    ANTHROPIC_BASE_URL,
    OPENAI_BASE_URL,
    BillingLimits,
    HttpPolicy,
    checked_base_url,
)
from reconciliation.model import DayBill, LineItem
from reconciliation.parsers import (
    DEFAULT_LIMITS,
    BillingFormatError,
    LimitExceeded,
    Page,
    day_bills,
    loads,
    parse_anthropic_costs,
    parse_openai_costs,
)

log = logging.getLogger(__name__)

Params = list[tuple[str, str | int | float | bool | None]]

MAX_PAGES = 500  # a cursor that never ends is a provider bug, not a reason to loop forever
STRICT_HTTP = HttpPolicy()


def shown_hint(hint: str) -> str:
    """What may be shown of an admin key: its last four characters after an ellipsis ('…f3a9'). A stored
    hint ('sk-ant-admin…f3a9', as the dashboard writes it) is cut to the same: a key's first characters
    narrow down whose key it is and add nothing for the person who must recognise it."""
    return f"…{hint.rsplit('…', 1)[-1][-4:]}"


class AdminKey:
    """A provider admin key that does not print itself."""

    __slots__ = ("_secret", "hint")

    def __init__(self, secret: str) -> None:
        self._secret = secret
        self.hint = shown_hint(secret) if len(secret) > 20 else "…"  # a short key would be mostly shown

    def reveal(self) -> str:
        return self._secret

    def __repr__(self) -> str:
        return f"AdminKey({self.hint!r})"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("an AdminKey is never pickled or sent anywhere")


class _RetryableAnswer(Exception):
    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds: a number of seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # '²'.isdigit() is true too, and float() refuses it
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class BillingClient:
    """Shared paging and retrying; a subclass says how to ask and how to read a page.

    Strict about HTTP (issue 16): an https base URL (http only when the policy allows it: tests, the demo),
    nothing taken from the environment (proxies, certificate bundles: trust_env off), no redirect followed
    (it could lead the admin key elsewhere), a timeout on every step and a deadline on the whole answer,
    and an answer read as a stream that stops past limits.max_response_bytes."""

    provider = ""

    def __init__(self, key: AdminKey, base_url: str, *, attempts: int = 6, backoff: float = 1.0,
                 max_wait: float = 60.0, http: HttpPolicy = STRICT_HTTP, limits: BillingLimits = DEFAULT_LIMITS,
                 sleep: Callable[[float], None] = time.sleep, transport: httpx.BaseTransport | None = None) -> None:
        self.key = key
        self.attempts = attempts
        self.max_wait = max_wait
        self.http = http
        self.limits = limits
        self._sleep = sleep
        self._backoff = wait_random_exponential(multiplier=backoff, max=max_wait)
        self._http = httpx.Client(
            base_url=checked_base_url(self.provider, base_url, http.allow_insecure_http), transport=transport,
            timeout=httpx.Timeout(connect=http.connect_timeout, read=http.read_timeout, write=http.write_timeout,
                                  pool=http.pool_timeout),
            trust_env=False, follow_redirects=False, headers={"user-agent": "halton-workers/billing"})

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> BillingClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def daily_costs(self, start: dt.date, end: dt.date) -> list[DayBill]:
        """Every UTC day in [start, end) the provider reports, with its line items and credits."""
        lines: list[tuple[dt.date, LineItem]] = []
        days: list[dt.date] = []
        for page in self._pages(start, end):
            lines.extend(page.lines)
            days.extend(page.days)
            if len(lines) > self.limits.max_rows:
                raise LimitExceeded(f"{self.provider} billing API answered more than the limit of "
                                    f"{self.limits.max_rows:,} results", "max_rows")
        return [bill for bill in day_bills(lines, days) if start <= bill.day < end]

    # -- to be provided by a provider
    def _path(self) -> str:
        raise NotImplementedError

    def _params(self, start: dt.date, end: dt.date) -> Params:
        raise NotImplementedError

    def _headers(self) -> dict[str, str]:
        raise NotImplementedError

    def _parse(self, doc: Any) -> Page:
        raise NotImplementedError

    # -- the shared part
    def _pages(self, start: dt.date, end: dt.date) -> Iterator[Page]:
        cursor: str | None = None
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            params = self._params(start, end) + ([("page", cursor)] if cursor else [])
            page = self._parse(self._get(params))
            yield page
            if page.next_page is None:
                return
            if page.next_page in seen:
                raise BillingFormatError(f"{self.provider} returned the page cursor {page.next_page!r} twice")
            seen.add(cursor := page.next_page)
        raise BillingFormatError(f"{self.provider} still had more after {MAX_PAGES} pages")

    def _get(self, params: Params) -> Any:
        retrying = Retrying(
            stop=stop_after_attempt(self.attempts),
            wait=self._wait,
            retry=retry_if_exception_type((_RetryableAnswer, httpx.TransportError)),
            sleep=self._sleep,
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            return retrying(self._get_once, params)
        except _RetryableAnswer as error:
            raise TransientError(f"{self.provider} billing API answered HTTP {error.status} "
                                 f"{self.attempts} times; retrying later") from None
        except httpx.TimeoutException as error:
            raise TransientError(f"{self.provider} billing API timed out {self.attempts} times (the last: "
                                 f"{self._timed_out(error)}); retrying later") from None
        except httpx.TransportError as error:
            raise TransientError(f"{self.provider} billing API unreachable ({type(error).__name__}) "
                                 f"after {self.attempts} tries; retrying later") from None
        except httpx.HTTPError as error:  # an answer that cannot be decoded (a broken gzip body)
            raise BillingFormatError(f"{self.provider} billing API answered what cannot be read "
                                     f"({type(error).__name__})") from None

    def _get_once(self, params: Params) -> Any:
        with self._http.stream("GET", self._path(), params=params, headers=self._headers()) as response:
            status = response.status_code
            if status == 429 or status >= 500:
                raise _RetryableAnswer(status, retry_after_seconds(response.headers.get("retry-after")))
            if status in (401, 403):
                raise UserError(f"the {self.provider} admin key {self.key.hint} was refused (HTTP {status}); "
                                "reconnect billing with a valid admin key")
            if 300 <= status < 400:
                raise BillingFormatError(f"{self.provider} billing API answered a redirect (HTTP {status}); "
                                         "redirects are not followed: set the base URL to where it leads")
            body = self._body(response)
        if status >= 400:
            raise BillingFormatError(f"{self.provider} billing API refused the request (HTTP {status}): "
                                     f"{self._scrub(body[:300].decode('utf-8', 'replace'))}")
        return loads(body, self.limits, f"{self.provider}'s answer")

    def _body(self, response: httpx.Response) -> bytes:
        """The answer's bytes (decompressed), read as they come: refused past limits.max_response_bytes,
        and a timeout past http.deadline however slowly they trickle in."""
        cap = self.limits.max_response_bytes
        too_large = LimitExceeded(f"{self.provider} billing API answered more than the limit of {cap:,} bytes",
                                  "max_response_bytes")
        declared = response.headers.get("content-length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > cap:
            raise too_large
        deadline = time.monotonic() + self.http.deadline
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > cap:
                raise too_large
            chunks.append(chunk)
            if time.monotonic() > deadline:
                raise httpx.ReadTimeout(f"the answer took longer than {self.http.deadline:g} s")
        return b"".join(chunks)

    def _timed_out(self, error: httpx.TimeoutException) -> str:
        if isinstance(error, httpx.ConnectTimeout):
            return f"no connection within {self.http.connect_timeout:g} s"
        if isinstance(error, httpx.WriteTimeout):
            return f"the request not sent within {self.http.write_timeout:g} s"
        if isinstance(error, httpx.PoolTimeout):
            return f"no free connection within {self.http.pool_timeout:g} s"
        if str(error).startswith("the answer took longer"):
            return str(error)
        return f"no data for {self.http.read_timeout:g} s"

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _RetryableAnswer) and error.retry_after is not None:
            return min(error.retry_after, self.max_wait)
        return float(self._backoff(state))

    def _log_retry(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        log.warning("%s billing API: %s; try %d of %d in %.1fs", self.provider,
                    error if isinstance(error, _RetryableAnswer) else type(error).__name__,
                    state.attempt_number + 1, self.attempts, wait)

    def _scrub(self, text: str) -> str:
        return text.replace(self.key.reveal(), self.key.hint) if self.key.reveal() else text


class OpenAICosts(BillingClient):
    """GET /v1/organization/costs, grouped by line item; dollars as JSON numbers."""

    provider = "openai"

    def __init__(self, key: AdminKey, base_url: str = OPENAI_BASE_URL, **options: Any) -> None:
        super().__init__(key, base_url, **options)

    def _path(self) -> str:
        return "/v1/organization/costs"

    def _params(self, start: dt.date, end: dt.date) -> Params:
        return [("start_time", _unix(start)), ("end_time", _unix(end)), ("bucket_width", "1d"),
                ("limit", 31), ("group_by", "line_item")]

    def _headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.key.reveal()}"}

    def _parse(self, doc: Any) -> Page:
        return parse_openai_costs(doc)


class AnthropicCosts(BillingClient):
    """GET /v1/organizations/cost_report, grouped by description; cents as decimal strings."""

    provider = "anthropic"

    def __init__(self, key: AdminKey, base_url: str = ANTHROPIC_BASE_URL, **options: Any) -> None:
        super().__init__(key, base_url, **options)

    def _path(self) -> str:
        return "/v1/organizations/cost_report"

    def _params(self, start: dt.date, end: dt.date) -> Params:
        return [("starting_at", _rfc3339(start)), ("ending_at", _rfc3339(end)), ("bucket_width", "1d"),
                ("limit", 31), ("group_by[]", "description")]

    def _headers(self) -> dict[str, str]:
        return {"x-api-key": self.key.reveal(), "anthropic-version": "2023-06-01"}

    def _parse(self, doc: Any) -> Page:
        return parse_anthropic_costs(doc)


API_CLIENTS: dict[str, type[BillingClient]] = {"openai": OpenAICosts, "anthropic": AnthropicCosts}


def _unix(day: dt.date) -> int:
    return int(utc_midnight(day).timestamp())


def _rfc3339(day: dt.date) -> str:
    return f"{day.isoformat()}T00:00:00Z"
