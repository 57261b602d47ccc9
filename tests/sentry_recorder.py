"""A Sentry transport that keeps what Sentry would send, for tests that look for secrets in it."""

from __future__ import annotations

from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport


class Recorder(Transport):
    def __init__(self) -> None:
        super().__init__()
        self.envelopes: list[Envelope] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        self.envelopes.append(envelope)
