"""Slack incoming webhooks: an alert as a message a person can read, posted only to hooks.slack.com.

The message has a `text` (what notifications and old clients show) and Block Kit `blocks`: a header, the
sentence, the figures side by side, and when the alert was opened. Names come from customers, so they
are escaped for Slack's mrkdwn (&, <, >): a project called "<!channel>" pings nobody and a name cannot
smuggle in a link. Slack caps header text at 150 characters and a field at 2,000; names are cut to fit.

An incoming-webhook URL is itself the credential (whoever holds it can post to the channel): it is a
SecretURL here and never appears in a message, a log line or an outcome.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from adapters.alert_notice import AlertNotice, headline, month_text, scope_text, title
from adapters.delivery import DeliveryOutcome, Headers, Outbound, deliver_json
from adapters.destinations import SLACK_HOOKS_HOST, SecretURL
from adapters.webhooks import encode_body
from core.money import money

HEADER_CHARS = 150
FIELD_CHARS = 200  # well under Slack's 2,000: a figure beside a name, not an essay


def escape(text: str) -> str:
    """Text made inert for Slack mrkdwn: the three characters Slack asks to be escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_message(notice: AlertNotice) -> dict[str, Any]:
    """The incoming-webhook message for one alert."""
    heading = _cut(title(notice), HEADER_CHARS)
    sentence = headline(notice, scope=_cut(escape(scope_text(notice)), FIELD_CHARS))
    fields = [("Workspace", escape(notice.workspace_name)), ("Scope", escape(scope_text(notice))),
              ("Month", month_text(notice.period)), (_amount_label(notice), money(notice.amount_nanos))]
    if notice.budget_nanos is not None:
        fields.append(("Budget", money(notice.budget_nanos)))
    if notice.expected_nanos is not None:
        fields.append(("Expected", money(notice.expected_nanos)))
    opened = notice.opened_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": heading, "emoji": False}},
        {"type": "section", "text": {"type": "mrkdwn", "text": sentence}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{name}*\n{_cut(value, FIELD_CHARS)}"}
                                       for name, value in fields]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"Opened {opened} · alert {notice.alert_id}"
                                                                    " · Halton Meter"}]},
    ]
    if notice.dashboard_url and notice.dashboard_url.startswith("https://"):
        blocks.append({"type": "actions", "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Open in Halton Meter"},
             "url": notice.dashboard_url}]})
    return {"text": f"{heading}. {sentence}", "blocks": blocks}


def deliver_slack(url: SecretURL | str, message: dict[str, Any], *, outbound: Outbound) -> DeliveryOutcome:
    """POST `message` to a checked Slack incoming webhook (hooks.slack.com only); the outcome to record."""

    def no_extra_headers() -> Headers:
        return []

    return deliver_json(url, encode_body(message), no_extra_headers, outbound, label="Slack webhook URL",
                        required_host=SLACK_HOOKS_HOST)


def _amount_label(notice: AlertNotice) -> str:
    return {"budget_threshold": "Month to date", "forecast_over_budget": "Forecast"}.get(notice.kind, "Spend")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
