"""Signed webhook deliveries to a real local receiver: what arrives, what is retried, what is not."""

from __future__ import annotations

import json

import pytest

from adapters.delivery import DeliveryOptions, DeliveryStatus, Outbound
from adapters.destinations import DestinationPolicy
from adapters.webhooks import SigningSecret, deliver_webhook, verify_signature
from tests.unit.webhook_receiver import Reply, closed_port, receiver

SECRET = SigningSecret("whsec_t3st_s1gn1ng_s3cr3t_0123456789")
PAYLOAD = {"id": "evt_1", "type": "alert.budget_threshold", "alert": {"amount_nanos": 812_400_000_000}}
FAST = DeliveryOptions(attempts=4, connect_timeout=2, read_timeout=2, write_timeout=2)


class Waits(list[float]):
    """The sleeps a delivery asked for, instead of sleeping them."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def outbound(waits: Waits | None = None, options: DeliveryOptions = FAST) -> Outbound:
    return Outbound(DestinationPolicy(allow_private=True), options=options,
                    sleep=waits if waits is not None else Waits())


def test_a_receiver_gets_one_signed_post_that_verifies() -> None:
    with receiver() as hook:
        outcome = deliver_webhook(hook.url("/alerts"), SECRET, event_id="evt_1", payload=PAYLOAD,
                                  outbound=outbound())
    assert (outcome.status, outcome.attempts, outcome.status_code, outcome.last_error) == (
        DeliveryStatus.DELIVERED, 1, 200, None)
    assert outcome.delivered_at is not None
    [request] = hook.received
    assert (request.method, request.path) == ("POST", "/alerts")
    assert request.headers["content-type"] == "application/json"
    assert request.headers["host"] == f"127.0.0.1:{hook.port}"
    assert json.loads(request.body) == PAYLOAD
    assert verify_signature(SECRET.reveal(), request.headers, request.body) == "evt_1"


def test_a_503_then_a_200_is_delivered_once_on_the_second_try() -> None:
    waits = Waits()
    with receiver([Reply(503, b"busy"), Reply(200)]) as hook:
        outcome = deliver_webhook(hook.url(), SECRET, event_id="evt_1", payload=PAYLOAD, outbound=outbound(waits))
    assert (outcome.status, outcome.attempts) == (DeliveryStatus.DELIVERED, 2)
    assert len(waits) == 1 and 0 <= waits[0] <= FAST.backoff
    first, second = hook.received
    assert first.body == second.body  # the same event, byte for byte
    assert first.headers["x-halton-event-id"] == second.headers["x-halton-event-id"] == "evt_1"
    for request in (first, second):  # each try signed on its own
        assert verify_signature(SECRET, request.headers, request.body) == "evt_1"


def test_a_429_is_retried_after_its_retry_after() -> None:
    waits = Waits()
    with receiver([Reply(429, headers={"Retry-After": "7"}), Reply(204, b"")]) as hook:
        outcome = deliver_webhook(hook.url(), SECRET, event_id="evt_1", payload=PAYLOAD, outbound=outbound(waits))
    assert (outcome.status, outcome.attempts, outcome.status_code) == (DeliveryStatus.DELIVERED, 2, 204)
    assert waits == [7.0]
    assert len(hook.received) == 2


def test_a_retry_after_beyond_the_bound_ends_the_delivery_as_transient_with_the_wait_asked() -> None:
    waits = Waits()
    with receiver([Reply(503, headers={"Retry-After": "3600"})]) as hook:
        outcome = deliver_webhook(hook.url(), SECRET, event_id="evt_1", payload=PAYLOAD, outbound=outbound(waits))
    assert (outcome.status, outcome.attempts, outcome.retry_after) == (DeliveryStatus.FAILED_TRANSIENT, 1, 3600.0)
    assert outcome.last_error == (f"127.0.0.1:{hook.port} answered HTTP 503 Service Unavailable and asked to wait "
                                  "3600s before trying again")
    assert waits == [] and len(hook.received) == 1


def test_a_receiver_that_keeps_failing_is_a_transient_failure_after_every_try() -> None:
    waits = Waits()
    with receiver([Reply(500)]) as hook:
        outcome = deliver_webhook(hook.url(), SECRET, event_id="evt_1", payload=PAYLOAD, outbound=outbound(waits))
    assert (outcome.status, outcome.attempts, outcome.status_code) == (DeliveryStatus.FAILED_TRANSIENT, 4, 500)
    assert outcome.last_error == (f"127.0.0.1:{hook.port} answered HTTP 500 Internal Server Error "
                                  "on each of 4 tries")
    assert len(hook.received) == 4 and len(waits) == 3
    assert all(0 <= wait <= FAST.max_wait for wait in waits)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422])
def test_a_4xx_other_than_429_is_permanent_and_not_retried(status: int) -> None:
    with receiver([Reply(status, b"signature rejected")]) as hook:
        outcome = deliver_webhook(hook.url(), SECRET, event_id="evt_1", payload=PAYLOAD, outbound=outbound())
    assert (outcome.status, outcome.attempts, outcome.status_code) == (DeliveryStatus.FAILED_PERMANENT, 1, status)
    assert outcome.last_error is not None
    assert outcome.last_error.startswith(f"127.0.0.1:{hook.port} refused the delivery with HTTP {status} ")
    assert outcome.last_error.endswith(": signature rejected")
    assert len(hook.received) == 1


def test_a_receiver_that_does_not_answer_in_time_is_retried() -> None:
    options = DeliveryOptions(attempts=3, connect_timeout=2, read_timeout=0.3, write_timeout=2)
    with receiver([Reply(200, delay=1.5), Reply(200)]) as hook:
        outcome = deliver_webhook(hook.url(), SECRET, event_id="evt_1", payload=PAYLOAD,
                                  outbound=outbound(options=options))
    assert (outcome.status, outcome.attempts) == (DeliveryStatus.DELIVERED, 2)
    assert len(hook.received) == 2


def test_a_receiver_that_never_answers_in_time_is_a_transient_timeout() -> None:
    options = DeliveryOptions(attempts=2, connect_timeout=2, read_timeout=0.2, write_timeout=2)
    with receiver([Reply(200, delay=1.0)]) as hook:
        outcome = deliver_webhook(hook.url(), SECRET, event_id="evt_1", payload=PAYLOAD,
                                  outbound=outbound(options=options))
    assert (outcome.status, outcome.attempts) == (DeliveryStatus.FAILED_TRANSIENT, 2)
    assert outcome.last_error == f"127.0.0.1:{hook.port} did not answer within 0.2s on each of 2 tries"


def test_nothing_listening_is_a_transient_connection_failure() -> None:
    port = closed_port()
    outcome = deliver_webhook(f"http://127.0.0.1:{port}/hook", SECRET, event_id="evt_1", payload=PAYLOAD,
                              outbound=outbound())
    assert (outcome.status, outcome.attempts) == (DeliveryStatus.FAILED_TRANSIENT, 4)
    assert outcome.last_error == f"could not connect to 127.0.0.1:{port} (connection refused) on each of 4 tries"


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("status", "expected"), [(200, DeliveryStatus.DELIVERED),
                                                  (400, DeliveryStatus.FAILED_PERMANENT)])
def test_an_endless_answer_is_read_only_up_to_the_cap(status: int, expected: DeliveryStatus) -> None:
    """64 MB that never stop coming: the delivery reads at most max_response_bytes and hangs up."""
    options = DeliveryOptions(attempts=1, max_response_bytes=1024, read_timeout=5)
    with receiver([Reply(status, endless=True)]) as hook:
        outcome = deliver_webhook(hook.url(), SECRET, event_id="evt_1", payload=PAYLOAD,
                                  outbound=outbound(options=options))
    assert outcome.status == expected
    if status == 400:
        assert outcome.last_error is not None and outcome.last_error.endswith("x" * 20 + "…")
        assert len(outcome.last_error) < 300


def test_an_event_id_that_is_not_a_token_is_refused_before_sending() -> None:
    with receiver() as hook, pytest.raises(ValueError, match="event id"):
        deliver_webhook(hook.url(), SECRET, event_id="evt 1\r\nX-Injected: 1", payload=PAYLOAD, outbound=outbound())
    assert hook.connections == 0
