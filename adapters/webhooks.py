"""Signed webhooks: the JSON POST a customer's receiver gets, and how it checks that the fleet sent it.

Each try carries three headers (docs/WEBHOOKS.md is the receiver's guide, with test vectors):

    X-Halton-Timestamp: 1767225600                  unix seconds when this try was signed
    X-Halton-Event-Id: evt_…                        the same on every try of one event: de-duplicate on it
    X-Halton-Signature-256: sha256=<hex>            HMAC-SHA256, keyed with the channel's secret (its UTF-8
                                                    bytes), of "<timestamp>.<raw body>"

A retry is signed again with a fresh timestamp over the same body and event id, so a receiver can keep a
short replay window (five minutes) however long the retries take.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Mapping
from typing import Any

from adapters.delivery import DeliveryOutcome, Headers, Outbound, deliver_json
from adapters.destinations import SecretURL

TIMESTAMP_HEADER = "X-Halton-Timestamp"
EVENT_ID_HEADER = "X-Halton-Event-Id"
SIGNATURE_HEADER = "X-Halton-Signature-256"
SIGNATURE_PREFIX = "sha256="
REPLAY_TOLERANCE = 300  # seconds either side of the receiver's clock that verify_signature accepts

_EVENT_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")


class SigningSecret:
    """A channel's signing secret that does not print itself (its hint is the last four characters)."""

    __slots__ = ("_secret",)

    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("a signing secret cannot be empty")
        self._secret = secret

    def reveal(self) -> str:
        return self._secret

    @property
    def hint(self) -> str:
        return f"…{self._secret[-4:]}" if len(self._secret) >= 16 else "…"

    def __repr__(self) -> str:
        return f"SigningSecret({self.hint!r})"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("a SigningSecret is never pickled or sent anywhere")

    def __copy__(self) -> SigningSecret:
        return self  # immutable: copies (dataclasses.asdict, deepcopy) share it rather than fail

    def __deepcopy__(self, memo: dict[int, Any]) -> SigningSecret:
        return self


class InvalidSignature(ValueError):
    """The request is not a genuine, fresh Halton webhook: answer 400 (or 401) and ignore it."""


def encode_body(payload: Mapping[str, Any]) -> bytes:
    """The body as sent: compact JSON, keys sorted, UTF-8. Receivers verify these bytes, never a re-encoding."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def sign(secret: SigningSecret | str, timestamp: int, body: bytes) -> str:
    """'sha256=<hex>' of HMAC-SHA256(secret, '<timestamp>.<body>')."""
    key = (secret.reveal() if isinstance(secret, SigningSecret) else secret).encode("utf-8")
    digest = hmac.new(key, f"{timestamp}.".encode("ascii") + body, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def signed_headers(secret: SigningSecret | str, event_id: str, body: bytes, timestamp: int) -> dict[str, str]:
    return {TIMESTAMP_HEADER: str(timestamp), EVENT_ID_HEADER: event_id,
            SIGNATURE_HEADER: sign(secret, timestamp, body)}


def verify_signature(secret: SigningSecret | str, headers: Mapping[str, str], body: bytes, *,
                     tolerance: int = REPLAY_TOLERANCE, now: float | None = None) -> str:
    """For receivers: check a delivery's headers against its raw body; return its event id.

    Raises InvalidSignature when a header is missing or malformed, the timestamp is more than `tolerance`
    seconds from `now` (a replay, or a clock far off), or the signature does not match.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    values = []
    for name in (TIMESTAMP_HEADER, EVENT_ID_HEADER, SIGNATURE_HEADER):
        value = lowered.get(name.lower())
        if not value:
            raise InvalidSignature(f"the {name} header is missing")
        values.append(value.strip())
    timestamp_text, event_id, given = values
    if not timestamp_text.isdigit():
        raise InvalidSignature(f"{TIMESTAMP_HEADER} is not a whole number of seconds")
    timestamp = int(timestamp_text)
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise InvalidSignature(f"{TIMESTAMP_HEADER} is more than {tolerance}s from now: a replay, or a clock off")
    if not given.startswith(SIGNATURE_PREFIX):
        raise InvalidSignature(f"{SIGNATURE_HEADER} must start with {SIGNATURE_PREFIX}")
    if not hmac.compare_digest(sign(secret, timestamp, body).encode(), given.encode()):
        raise InvalidSignature("the signature does not match the body and timestamp")
    return event_id


def deliver_webhook(url: SecretURL | str, secret: SigningSecret, *, event_id: str, payload: Mapping[str, Any],
                    outbound: Outbound) -> DeliveryOutcome:
    """POST `payload` to a checked webhook destination, signed per try; the outcome to record."""
    if not _EVENT_ID.fullmatch(event_id):
        raise ValueError("an event id is 1 to 128 letters, digits or _.:-")
    body = encode_body(payload)

    def headers_for_attempt() -> Headers:
        timestamp = int(outbound.now().timestamp())
        headers = signed_headers(secret, event_id, body, timestamp)
        return [(name.encode("ascii"), value.encode("ascii")) for name, value in headers.items()]

    return deliver_json(url, body, headers_for_attempt, outbound, label="webhook destination",
                        hidden=[secret])
