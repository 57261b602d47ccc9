"""An alert to a channel, end to end over real local receivers: Slack, signed webhooks, one workspace's
alert never at another's channel, and no URL or secret in an outcome or a log line."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from pathlib import Path

import pytest

from adapters.alert_delivery import AlertChannel, alert_event_id, deliver_alert
from adapters.alert_notice import AlertNotice, webhook_payload
from adapters.delivery import DeliveryOptions, DeliveryOutcome, DeliveryStatus, Outbound
from adapters.destinations import DestinationPolicy, SecretURL
from adapters.slack import slack_message
from adapters.webhooks import SigningSecret, verify_signature
from tests.unit.tls_certs import make_ca
from tests.unit.webhook_receiver import Reply, ScriptedResolver, closed_port, receiver

NOTICE = AlertNotice(alert_id=4211, workspace_id=7, workspace_slug="acme", workspace_name="Acme Robotics",
                     kind="budget_threshold", scope="project", scope_id=31, scope_name="checkout-api",
                     period=dt.date(2026, 3, 1), opened_at=dt.datetime(2026, 3, 19, 14, 5, tzinfo=dt.UTC),
                     amount_nanos=812_403_117_250, budget_nanos=1_000_000_000_000, threshold_percent=80)
SLACK_PATH = "/services/T0HALTON1/B0HALTON2/sLaCkSeCrEtToKeN0123456789"
SIGNING = "whsec_t3st_s1gn1ng_s3cr3t_0123456789"
WEBHOOK_TOKEN = "qu3ryT0k3nN0tF0rL0gs"
SECRETS = ("T0HALTON1", "B0HALTON2", "sLaCkSeCrEtToKeN0123456789", SIGNING, "s1gn1ng_s3cr3t", WEBHOOK_TOKEN)
OPTIONS = DeliveryOptions(attempts=2, connect_timeout=2, read_timeout=2, write_timeout=2)


def no_sleep(seconds: float) -> None:
    return None


def slack_outbound() -> Outbound:
    """Test rules; hooks.slack.com played by a local receiver: the resolver points the name at 127.0.0.1."""
    return Outbound(DestinationPolicy(allow_private=True), OPTIONS, resolve=ScriptedResolver(["127.0.0.1"]),
                    sleep=no_sleep)


def webhook_channel(url: str, *, channel_id: int = 12, workspace_id: int = 7) -> AlertChannel:
    return AlertChannel(channel_id, workspace_id, "webhook", SecretURL(url), SigningSecret(SIGNING))


def test_a_slack_channel_gets_the_readable_message_unsigned() -> None:
    with receiver() as slack:
        channel = AlertChannel(5, 7, "slack", SecretURL(slack.url(SLACK_PATH, host="hooks.slack.com")))
        outcome = deliver_alert(NOTICE, channel, slack_outbound())
    assert (outcome.status, outcome.attempts) == (DeliveryStatus.DELIVERED, 1)
    [request] = slack.received
    assert request.path == SLACK_PATH
    assert request.headers["host"] == f"hooks.slack.com:{slack.port}"
    assert json.loads(request.body) == slack_message(NOTICE)
    assert not any(name.startswith("x-halton") for name in request.headers)


def test_a_slack_channel_off_slacks_host_is_refused_without_a_request() -> None:
    with receiver() as elsewhere:
        channel = AlertChannel(5, 7, "slack", SecretURL(elsewhere.url(SLACK_PATH)))
        outcome = deliver_alert(NOTICE, channel, Outbound(DestinationPolicy(allow_private=True), OPTIONS))
    assert (outcome.status, outcome.attempts) == (DeliveryStatus.FAILED_PERMANENT, 0)
    assert outcome.last_error == "Slack webhook URL refused: it must be on hooks.slack.com, not 127.0.0.1"
    assert elsewhere.connections == 0


def test_slacks_refusal_is_recorded_with_its_reason() -> None:
    with receiver([Reply(404, b"no_service")]) as slack:
        channel = AlertChannel(5, 7, "slack", SecretURL(slack.url(SLACK_PATH, host="hooks.slack.com")))
        outcome = deliver_alert(NOTICE, channel, slack_outbound())
    assert (outcome.status, outcome.attempts) == (DeliveryStatus.FAILED_PERMANENT, 1)
    assert outcome.last_error == (f"hooks.slack.com:{slack.port} refused the delivery with HTTP 404 Not Found: "
                                  "no_service")


def test_a_webhook_channel_gets_the_alert_signed_with_the_event_id_of_the_pair() -> None:
    with receiver() as hook:
        outcome = deliver_alert(NOTICE, webhook_channel(hook.url("/halton")), slack_outbound())
        again = deliver_alert(NOTICE, webhook_channel(hook.url("/halton")), slack_outbound())
        other_channel = deliver_alert(NOTICE, webhook_channel(hook.url("/halton"), channel_id=13), slack_outbound())
    assert outcome.delivered and again.delivered and other_channel.delivered
    first, second, third = hook.received
    event_id = alert_event_id(NOTICE.alert_id, 12)
    assert verify_signature(SIGNING, first.headers, first.body) == event_id
    assert json.loads(first.body) == webhook_payload(NOTICE, event_id)
    assert second.headers["x-halton-event-id"] == event_id  # a re-delivery: the receiver can drop it
    assert third.headers["x-halton-event-id"] == alert_event_id(NOTICE.alert_id, 13) != event_id


def test_an_alert_never_goes_to_another_workspaces_channel() -> None:
    refusal = "workspace 7 cannot go to channel 12 of workspace 8"
    with receiver() as hook, pytest.raises(ValueError, match=refusal):
        deliver_alert(NOTICE, webhook_channel(hook.url(), workspace_id=8), slack_outbound())
    assert hook.connections == 0


def test_a_webhook_channel_without_a_secret_is_refused_without_a_request() -> None:
    with receiver() as hook:
        channel = AlertChannel(12, 7, "webhook", SecretURL(hook.url()), None)
        outcome = deliver_alert(NOTICE, channel, slack_outbound())
    assert (outcome.status, outcome.attempts) == (DeliveryStatus.FAILED_PERMANENT, 0)
    assert outcome.last_error == "the webhook channel has no signing secret; add one so receivers can verify alerts"
    assert hook.connections == 0


# -- no URL or secret in an outcome or a log line ---------------------------------------------------------------

def test_no_url_path_query_or_secret_reaches_an_outcome_or_a_log_line(caplog: pytest.LogCaptureFixture,
                                                                       tmp_path: Path) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, httpcore's traces included
    lenient = DestinationPolicy(allow_private=True)
    webhook_path = f"/hooks/halton?token={WEBHOOK_TOKEN}"
    # receivers that echo what they got (the URL, the secret) into their refusal
    slack_echo = f"bad request to https://hooks.slack.com{SLACK_PATH}".encode()
    webhook_echo = f"bad request to {webhook_path} signed with {SIGNING}".encode()
    outcomes: list[DeliveryOutcome] = []
    with receiver([Reply(400, slack_echo)]) as echoing_slack, receiver([Reply(400, webhook_echo)]) as echoing, \
            receiver([Reply(503)]) as failing, receiver() as fine:
        for url in (echoing_slack.url(SLACK_PATH, host="hooks.slack.com"),
                    failing.url(SLACK_PATH, host="hooks.slack.com"), fine.url(SLACK_PATH, host="hooks.slack.com"),
                    f"https://evil.example{SLACK_PATH}"):
            outcomes.append(deliver_alert(NOTICE, AlertChannel(5, 7, "slack", SecretURL(url)), slack_outbound()))
        for url in (echoing.url(webhook_path), failing.url(webhook_path), fine.url(webhook_path),
                    f"http://127.0.0.1:{closed_port()}{webhook_path}"):
            outcomes.append(deliver_alert(NOTICE, webhook_channel(url), slack_outbound()))
        # refused: loopback under production rules, and a plain-http URL
        strict = Outbound(DestinationPolicy(), OPTIONS, sleep=no_sleep)
        outcomes.append(deliver_alert(NOTICE, webhook_channel(f"https://127.0.0.1{webhook_path}"), strict))
        outcomes.append(deliver_alert(NOTICE, webhook_channel(f"http://hooks.example{webhook_path}"), strict))
        # a certificate that does not verify
        ca = make_ca(tmp_path / "ca")
        with receiver(tls=ca.server_context("someone-else.test")) as tls:
            outbound = Outbound(lenient, OPTIONS, resolve=ScriptedResolver(["127.0.0.1"]),
                                ssl_context=ca.client_context(), sleep=no_sleep)
            url = f"https://hooks.customer.test:{tls.port}{webhook_path}"
            outcomes.append(deliver_alert(NOTICE, webhook_channel(url), outbound))
    statuses = [outcome.status for outcome in outcomes]
    assert statuses.count(DeliveryStatus.DELIVERED) == 2
    assert DeliveryStatus.FAILED_TRANSIENT in statuses and DeliveryStatus.FAILED_PERMANENT in statuses
    echoed = [str(outcome.last_error) for outcome in outcomes if "bad request to" in str(outcome.last_error)]
    assert [text.split(": ", 1)[1] for text in echoed] == [
        "bad request to https://hooks.slack.com…", "bad request to …?… signed with …"]
    said = [repr(outcome) for outcome in outcomes] + [record.getMessage() for record in caplog.records]
    said += [caplog.text]
    leaks = [(secret, text) for text in said for secret in SECRETS if secret in text]
    assert leaks == []
    assert any("delivered" in record.getMessage() for record in caplog.records)  # logging did happen


def test_a_channels_repr_shows_no_url_path_or_secret() -> None:
    channel = webhook_channel(f"https://hooks.example/hooks/halton?token={WEBHOOK_TOKEN}")
    text = f"{channel!r} {channel} {dataclasses.asdict(channel)}"
    assert "hooks.example" in text
    assert not any(secret in text for secret in SECRETS)
