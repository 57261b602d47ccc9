"""Delivering alerts (issue 17 item 5): what the `deliver_alerts` task and `halton-workers alerts --deliver` run.

A round claims the workspace's pending (alert, channel) rows one at a time (store/alert_deliveries.py: the
row stays locked while it is sent, so nobody else sends it), decrypts the channel, posts through adapters/
(a signed webhook or a Slack message; checked destination, pinned address, no redirects, tenacity's retries
with backoff on 5xx, 429 and timeouts), and records the outcome in the same transaction. Each row is tried
once per round. A transient failure leaves it pending for a later round (the task's own retry, with
Celery's backoff, and every pulse that finds pending rows); after MAX_ATTEMPTS requests in all, or at once
on a permanent failure (a refused destination, a 4xx, a redirect), it is failed with a sentence for the
workspace's people. Outcomes name the host only: never a URL's path or query, never a secret.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from adapters.alert_delivery import AlertChannel, deliver_alert
from adapters.alert_notice import AlertNotice
from adapters.delivery import DeliveryOutcome, DeliveryStatus, Outbound
from adapters.destinations import DestinationPolicy, SecretURL
from adapters.webhooks import SigningSecret
from core.db import Conn
from core.errors import UserError, present
from store import alert_deliveries as store
from workers.runtime import metrics
from workers.runtime.stored_secrets import open_stored_secret
from workers.settings import destination_settings

log = logging.getLogger(__name__)

# requests to one channel for one alert, over every round, before the delivery is given up: four rounds
# of the adapter's four tries
MAX_ATTEMPTS = 16
ANOMALY_WINDOW_MINUTES = 60  # forecast.anomaly judges the last hour


def default_outbound() -> Outbound:
    """Production's checks, or HALTON_ALLOW_PRIVATE_DESTINATIONS=true's (tests, the demo)."""
    return Outbound(DestinationPolicy(allow_private=destination_settings().allow_private_destinations))


def decrypt_channel_field(conn: Conn, claimed: store.ClaimedDelivery, column: str) -> str:
    """A channel's URL (`url_ciphertext`) or secret (`secret_ciphertext`) in clear, through the one function
    that opens stored secrets: refused, with a `secret.misplaced` audit event, when the ciphertext was sealed
    for another channel, column or workspace (workers/runtime/stored_secrets.py). Called inside the delivery's
    transaction (its claim's lock): the refusal's audit event is committed on its own, so it stays even if that
    transaction then rolls back (the refusal's outcome, a failed delivery, is recorded in it as usual)."""
    ciphertext = claimed.url_ciphertext if column == "url_ciphertext" else claimed.secret_ciphertext
    ciphertext = present(ciphertext, f"alert channel {claimed.channel_id}'s {column}")
    what = "URL" if column == "url_ciphertext" else "signing secret"
    return open_stored_secret(conn, "meter.alert_channels", column, claimed.workspace_id, claimed.channel_id,
                              ciphertext, name=f"the {what} of alert channel {claimed.channel_id}")


@dataclass
class DeliveryRound:
    delivered: int = 0
    failed: int = 0
    retry_later: int = 0  # pending after a transient failure
    revoked: int = 0  # pending rows of channels revoked since: failed without a request
    errors: list[str] = field(default_factory=list)  # last_error of each failure, for the CLI and logs

    def stats(self) -> dict[str, Any]:
        return {"delivered": self.delivered, "failed": self.failed, "retry_later": self.retry_later,
                "revoked": self.revoked}


def deliver_pending(conn: Conn, workspace_id: int, outbound: Outbound | None = None, *,
                    deadline: float | None = None) -> DeliveryRound:
    """One round over the workspace's pending deliveries; `deadline` (time.monotonic()) stops claiming new
    ones so a task ends before its time limit (the rest stay pending). `conn` must be autocommit."""
    outbound = outbound or default_outbound()
    result = DeliveryRound(revoked=store.fail_revoked(conn, workspace_id))
    metrics.count_alert_deliveries("revoked", result.revoked)
    tried: list[tuple[int, int]] = []
    while deadline is None or time.monotonic() < deadline:
        with conn.transaction():
            claimed = store.claim_next(conn, workspace_id, tried)
            if claimed is None:
                break
            tried.append(claimed.key)
            outcome = _deliver(conn, claimed, outbound)
            tries = _tries(outcome)
            status = _status(claimed, outcome, tries)
            store.record_outcome(conn, claimed, status, tries, outcome.last_error, outcome.delivered_at)
        if status == "delivered":
            result.delivered += 1
        elif status == "failed":
            result.failed += 1
        else:
            result.retry_later += 1
        metrics.count_alert_deliveries("retry_later" if status == "pending" else status)
        if outcome.last_error and status != "delivered":
            result.errors.append(f"alert {claimed.alert_id} to channel {claimed.channel_id}: {outcome.last_error}")
    return result


def _deliver(conn: Conn, claimed: store.ClaimedDelivery, outbound: Outbound) -> DeliveryOutcome:
    try:
        channel = AlertChannel(
            claimed.channel_id, claimed.workspace_id, claimed.channel_kind,
            SecretURL(decrypt_channel_field(conn, claimed, "url_ciphertext")),
            None if claimed.secret_ciphertext is None else SigningSecret(
                decrypt_channel_field(conn, claimed, "secret_ciphertext")))
    except (UserError, ValueError) as error:  # ValueError: an empty secret
        return DeliveryOutcome(DeliveryStatus.FAILED_PERMANENT, 0, str(error))
    return deliver_alert(notice(claimed), channel, outbound)


def _tries(outcome: DeliveryOutcome) -> int:
    """The tries a round adds to the row's attempts: its requests, or one for a host that did not resolve
    (no request, but a try all the same, so an unresolvable host is given up like an unreachable one)."""
    if outcome.status is DeliveryStatus.FAILED_TRANSIENT:
        return max(outcome.attempts, 1)
    return outcome.attempts


def _status(claimed: store.ClaimedDelivery, outcome: DeliveryOutcome, tries: int) -> str:
    if outcome.delivered:
        return "delivered"
    if outcome.status is DeliveryStatus.FAILED_TRANSIENT and claimed.attempts + tries < MAX_ATTEMPTS:
        return "pending"
    return "failed"


def notice(claimed: store.ClaimedDelivery) -> AlertNotice:
    details = claimed.details
    return AlertNotice(
        alert_id=claimed.alert_id, workspace_id=claimed.workspace_id, workspace_slug=claimed.workspace_slug,
        workspace_name=claimed.workspace_name, kind=claimed.kind, scope=claimed.scope, scope_id=claimed.scope_id,
        scope_name=claimed.scope_name, period=claimed.period, opened_at=claimed.opened_at,
        amount_nanos=claimed.amount_nanos, budget_nanos=_int(details.get("budget_nanos")),
        threshold_percent=claimed.threshold_percent, expected_nanos=_int(details.get("expected_nanos")),
        window_minutes=ANOMALY_WINDOW_MINUTES if claimed.kind == "spend_anomaly" else None, details=details)


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
