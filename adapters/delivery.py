"""One POST to a customer's destination, checked, pinned, bounded and retried, with an outcome to record.

The destination is checked when used (adapters/destinations.py) and the connection goes to the address
that was checked (adapters/pinned_http.py). tenacity retries what a later try can fix, as the billing
clients do: a 5xx, a 429 (after its Retry-After, when that is within `max_wait`; a longer one ends the
delivery as transient so the task can come back when asked), a timeout, a dropped connection. A 4xx
other than 429, a redirect (never followed) or a certificate that does not verify is permanent: a person
must fix the channel. Every step has a timeout, the whole delivery a budget, and at most
`max_response_bytes` of an answer are read.

The outcome's `last_error` is a sentence for the customer: it names the host, never the URL's path or
query, the secret, or anything the receiver echoed of them. Log lines name the host only.
"""

from __future__ import annotations

import datetime as dt
import http
import logging
import re
import ssl
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

import httpcore
import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_before_delay,
    wait_random_exponential,
)

from adapters.destinations import (
    CheckedDestination,
    DestinationPolicy,
    DestinationRefused,
    DestinationUnresolved,
    Resolve,
    SecretURL,
    check_destination,
)
from adapters.pinned_http import pinned_pool
from reconciliation.clients import retry_after_seconds

log = logging.getLogger(__name__)

USER_AGENT = "Halton-Meter-Delivery/1"
EXCERPT_CHARS = 200  # of a refusing answer's body, in last_error


class DeliveryStatus(StrEnum):
    DELIVERED = "delivered"
    FAILED_PERMANENT = "failed_permanent"  # a person must fix the channel; trying again will not help
    FAILED_TRANSIENT = "failed_transient"  # worth delivering again later (the task's retry)


@dataclass(frozen=True)
class DeliveryOutcome:
    """What one delivery did, for `analysis.alert_deliveries` (status, attempts, last_error, delivered_at)."""

    status: DeliveryStatus
    attempts: int  # requests sent (0 when the destination was refused or did not resolve)
    last_error: str | None = None  # a sentence without the URL or a secret
    status_code: int | None = None  # the last HTTP status received
    delivered_at: dt.datetime | None = None
    retry_after: float | None = None  # transient: the receiver asked for this many seconds first

    @property
    def delivered(self) -> bool:
        return self.status is DeliveryStatus.DELIVERED


@dataclass(frozen=True)
class DeliveryOptions:
    attempts: int = 4
    backoff: float = 1.0  # the first wait is up to this long, doubling with jitter
    max_wait: float = 30.0  # longest single wait; a longer Retry-After ends the delivery as transient
    budget: float = 120.0  # no wait starts that would take the whole delivery past this many seconds
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    write_timeout: float = 10.0
    max_response_bytes: int = 4096


@dataclass(frozen=True)
class Outbound:
    """Everything a delivery needs besides the message: the policy, the bounds, and the seams tests use."""

    policy: DestinationPolicy
    options: DeliveryOptions = field(default_factory=DeliveryOptions)
    resolve: Resolve | None = None  # None: the system resolver, bounded by policy.resolve_timeout
    ssl_context: ssl.SSLContext | None = None  # None: certifi's roots with hostname checking
    network: httpcore.NetworkBackend | None = None  # under the pin; None: real sockets
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC))


Headers = list[tuple[bytes, bytes]]


class Concealed(Protocol):
    """A secret that does not print itself (a SigningSecret): revealed only where it is used."""

    def reveal(self) -> str: ...


def deliver_json(url: SecretURL | str, body: bytes, headers_for_attempt: Callable[[], Headers], outbound: Outbound, *,
                 label: str, required_host: str | None = None, hidden: Sequence[Concealed] = ()) -> DeliveryOutcome:
    """Check `url`, then POST `body` (JSON) with `headers_for_attempt()` (called per try: a fresh signature).

    `hidden` are secrets the outcome must never contain (a signing secret); the URL's path and query are
    always hidden. They come concealed and are revealed only to scrub: a plain string here would sit in this
    frame's locals, which Sentry sends with an error raised below it.
    """
    try:
        destination = check_destination(url, outbound.policy, label=label, required_host=required_host,
                                         resolve=outbound.resolve)
    except DestinationRefused as refusal:
        log.warning("%s", refusal)
        return DeliveryOutcome(DeliveryStatus.FAILED_PERMANENT, 0, str(refusal))
    except DestinationUnresolved as failure:
        log.warning("%s", failure)
        return DeliveryOutcome(DeliveryStatus.FAILED_TRANSIENT, 0, str(failure))
    return _Delivery(destination, body, headers_for_attempt, outbound, hidden).run()


class _Retryable(Exception):
    def __init__(self, sentence: str, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(sentence)
        self.sentence = sentence
        self.status = status
        self.retry_after = retry_after


class _Final(Exception):
    def __init__(self, outcome_status: DeliveryStatus, sentence: str, status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(sentence)
        self.outcome_status = outcome_status
        self.sentence = sentence
        self.status = status
        self.retry_after = retry_after


class _Delivery:
    def __init__(self, destination: CheckedDestination, body: bytes, headers_for_attempt: Callable[[], Headers],
                 outbound: Outbound, hidden: Iterable[Concealed]) -> None:
        self.destination = destination
        self.body = body
        self.headers_for_attempt = headers_for_attempt
        self.outbound = outbound
        self.options = outbound.options
        parsed = httpx.URL(destination.url.reveal())
        self.url = httpcore.URL(scheme=parsed.raw_scheme, host=parsed.raw_host, port=parsed.port,
                                target=parsed.raw_path)
        self.netloc = parsed.netloc
        self.hidden = _hidden_parts(parsed, hidden)
        self.attempts = 0
        self._backoff = wait_random_exponential(multiplier=self.options.backoff, max=self.options.max_wait)

    @property
    def host(self) -> str:
        return self.destination.authority

    def run(self) -> DeliveryOutcome:
        options = self.options
        retrying = Retrying(stop=stop_after_attempt(options.attempts) | stop_before_delay(options.budget),
                            wait=self._wait, retry=retry_if_exception_type(_Retryable), sleep=self.outbound.sleep,
                            before_sleep=self._log_retry, reraise=True)
        pool, _ = pinned_pool(self.destination, ssl_context=self.outbound.ssl_context, network=self.outbound.network)
        try:
            with pool:
                status = retrying(self._attempt, pool)
        except _Retryable as failure:
            tries = "once" if self.attempts == 1 else f"on each of {self.attempts} tries"
            return self._failed(DeliveryStatus.FAILED_TRANSIENT, f"{failure.sentence} {tries}", failure.status)
        except _Final as failure:
            return self._failed(failure.outcome_status, failure.sentence, failure.status, failure.retry_after)
        log.info("%s %s: delivered (HTTP %d) after %d %s", self.destination.label, self.host, status,
                 self.attempts, "try" if self.attempts == 1 else "tries")
        return DeliveryOutcome(DeliveryStatus.DELIVERED, self.attempts, None, status, self.outbound.now())

    def _failed(self, outcome_status: DeliveryStatus, sentence: str, status: int | None,
                retry_after: float | None = None) -> DeliveryOutcome:
        log.warning("%s: %s (%s after %d %s)", self.destination.label, sentence, outcome_status.value,
                    self.attempts, "try" if self.attempts == 1 else "tries")
        return DeliveryOutcome(outcome_status, self.attempts, sentence, status, None, retry_after)

    def _attempt(self, pool: httpcore.ConnectionPool) -> int:
        self.attempts += 1
        options = self.options
        headers: Headers = [(b"Host", self.netloc), (b"Content-Type", b"application/json"),
                            (b"User-Agent", USER_AGENT.encode()), *self.headers_for_attempt()]
        timeouts = {"connect": options.connect_timeout, "read": options.read_timeout,
                    "write": options.write_timeout, "pool": options.connect_timeout}
        try:
            with pool.stream("POST", self.url, headers=headers, content=self.body,
                             extensions={"timeout": timeouts}) as response:
                status = response.status
                if 200 <= status < 300:
                    return status  # the body is not read: closing the answer unread drops the connection
                excerpt = _shortened(self._scrub(_read_capped(response, options.max_response_bytes,
                                                              time.monotonic() + options.read_timeout)))
                retry_after = retry_after_seconds(_header(response.headers, b"retry-after"))
        except httpcore.TimeoutException as error:
            raise _Retryable(self._timeout_sentence(error)) from None
        except httpcore.ConnectError as error:
            raise self._connect_failure(error) from None
        except (httpcore.NetworkError, httpcore.RemoteProtocolError):
            raise _Retryable(f"{self.host} closed the connection without a complete answer") from None
        except (httpcore.ProtocolError, httpcore.UnsupportedProtocol) as error:
            raise _Final(DeliveryStatus.FAILED_PERMANENT,
                         f"the request to {self.host} could not be sent ({type(error).__name__})") from None
        return self._judge(status, excerpt, retry_after)

    def _judge(self, status: int, excerpt: str, retry_after: float | None) -> int:
        said = f"HTTP {status} {_phrase(status)}".rstrip()
        if status == 429 or status >= 500:
            if retry_after is not None and retry_after > self.options.max_wait:
                raise _Final(DeliveryStatus.FAILED_TRANSIENT,
                             f"{self.host} answered {said} and asked to wait {retry_after:.0f}s before trying again",
                             status, retry_after)
            raise _Retryable(f"{self.host} answered {said}", status, retry_after)
        if 300 <= status < 400:
            raise _Final(DeliveryStatus.FAILED_PERMANENT,
                         f"{self.host} answered {said}, a redirect, which is never followed; "
                         "set the channel to the final URL", status)
        detail = f": {excerpt}" if excerpt else ""
        raise _Final(DeliveryStatus.FAILED_PERMANENT, f"{self.host} refused the delivery with {said}{detail}", status)

    def _timeout_sentence(self, error: httpcore.TimeoutException) -> str:
        options = self.options
        if isinstance(error, httpcore.ConnectTimeout):
            return f"could not connect to {self.host} within {options.connect_timeout:g}s"
        if isinstance(error, httpcore.WriteTimeout):
            return f"{self.host} did not take the request within {options.write_timeout:g}s"
        return f"{self.host} did not answer within {options.read_timeout:g}s"

    def _connect_failure(self, error: httpcore.ConnectError) -> Exception:
        cause = error.__cause__ or error.__context__
        if isinstance(cause, ssl.SSLCertVerificationError):
            reason = cause.verify_message or "certificate verify failed"
            return _Final(DeliveryStatus.FAILED_PERMANENT,
                          f"the TLS certificate of {self.host} could not be verified ({reason})")
        if isinstance(cause, ssl.SSLError):
            return _Retryable(f"the TLS handshake with {self.host} failed")
        reason = cause.strerror if isinstance(cause, OSError) and cause.strerror else "connection failed"
        return _Retryable(f"could not connect to {self.host} ({reason.lower()})")

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _Retryable) and error.retry_after is not None:
            return error.retry_after  # at most max_wait: a longer one ended the delivery in _judge
        return float(self._backoff(state))

    def _log_retry(self, state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        wait = state.next_action.sleep if state.next_action else 0.0
        sentence = error.sentence if isinstance(error, _Retryable) else type(error).__name__
        log.warning("%s: %s; try %d of %d in %.1fs", self.destination.label, sentence,
                    state.attempt_number + 1, self.options.attempts, wait)

    def _scrub(self, text: str) -> str:
        """The receiver's words without anything it echoed of the URL or the secrets."""
        for part in self.hidden:
            text = text.replace(part, "…")
        return text


def _hidden_parts(parsed: httpx.URL, hidden: Iterable[Concealed]) -> list[str]:
    """The secrets, the URL's path and query and their longer pieces, longest first."""
    pieces = re.split(r"[/?&=]", f"{parsed.path}?{parsed.query.decode('ascii', 'replace')}")
    parts = [*(secret.reveal() for secret in hidden), parsed.path, parsed.query.decode("ascii", "replace"),
             *(p for p in pieces if len(p) >= 8)]
    return sorted({part for part in parts if len(part) >= 4}, key=len, reverse=True)


def _read_capped(response: httpcore.Response, cap: int, deadline: float) -> str:
    """At most `cap` bytes of the answer, read until `deadline` (a trickle stops there), as printable text."""
    data = b""
    for chunk in response.iter_stream():
        data += chunk
        if len(data) >= cap or time.monotonic() > deadline:
            break
    text = re.sub(r"\s+", " ", data[:cap].decode("utf-8", "replace"))
    return "".join(ch for ch in text if ch.isprintable()).strip()


def _shortened(text: str) -> str:
    """Shortened after scrubbing, so a cut never leaves the start of a secret behind."""
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""
