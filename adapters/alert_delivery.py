"""One alert to one channel: the call the deliver_alerts task makes for each (alert, live channel) pair.

The event id is derived from (alert, channel) alone, so every try and every later re-delivery of the same
alert to the same channel carries the same X-Halton-Event-Id and a receiver can de-duplicate; two channels
get two ids. The task records the outcome in `analysis.alert_deliveries`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from adapters.alert_notice import AlertNotice, webhook_payload
from adapters.delivery import DeliveryOutcome, DeliveryStatus, Outbound
from adapters.destinations import SecretURL
from adapters.slack import deliver_slack, slack_message
from adapters.webhooks import SigningSecret, deliver_webhook

# fixed forever: changing it would give every past alert a new event id
_EVENT_NAMESPACE = uuid.UUID("5b1f1d0e-6c1a-4c53-9a55-0b7e3c1f7a17")


@dataclass(frozen=True)
class AlertChannel:
    """A live row of meter.alert_channels, decrypted: its URL and secret never print themselves."""

    id: int
    workspace_id: int
    kind: str  # 'webhook' | 'slack'
    url: SecretURL
    secret: SigningSecret | None = None  # webhooks: required; Slack: none (the URL is the credential)


def alert_event_id(alert_id: int, channel_id: int) -> str:
    """'evt_<32 hex>': stable for one (alert, channel), different for any other pair."""
    return "evt_" + uuid.uuid5(_EVENT_NAMESPACE, f"alert:{alert_id}:channel:{channel_id}").hex


def deliver_alert(notice: AlertNotice, channel: AlertChannel, outbound: Outbound) -> DeliveryOutcome:
    """Deliver `notice` to `channel` (checked, pinned, signed for webhooks, retried); never raises for the
    channel's sake: a bad channel is a failed outcome with a sentence the workspace's people can act on."""
    if channel.workspace_id != notice.workspace_id:
        # the task's query pairs alerts with their own workspace's channels; this is the second lock
        raise ValueError(f"alert {notice.alert_id} of workspace {notice.workspace_id} cannot go to channel "
                         f"{channel.id} of workspace {channel.workspace_id}")
    if channel.kind == "slack":
        return deliver_slack(channel.url, slack_message(notice), outbound=outbound)
    if channel.kind != "webhook":
        return DeliveryOutcome(DeliveryStatus.FAILED_PERMANENT, 0, f"unknown channel kind {channel.kind!r}")
    if channel.secret is None:
        return DeliveryOutcome(DeliveryStatus.FAILED_PERMANENT, 0,
                               "the webhook channel has no signing secret; add one so receivers can verify alerts")
    event_id = alert_event_id(notice.alert_id, channel.id)
    return deliver_webhook(channel.url, channel.secret, event_id=event_id,
                           payload=webhook_payload(notice, event_id), outbound=outbound)
