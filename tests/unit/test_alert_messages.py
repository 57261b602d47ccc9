"""What an alert looks like when it leaves: the webhook JSON, the Slack message, the event id."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from adapters.alert_delivery import alert_event_id
from adapters.alert_notice import AlertNotice, headline, webhook_payload
from adapters.slack import slack_message

OPENED = dt.datetime(2026, 3, 19, 14, 5, tzinfo=dt.UTC)
BUDGET = AlertNotice(alert_id=4211, workspace_id=7, workspace_slug="acme", workspace_name="Acme Robotics",
                     kind="budget_threshold", scope="project", scope_id=31, scope_name="checkout-api",
                     period=dt.date(2026, 3, 1), opened_at=OPENED, amount_nanos=812_403_117_250,
                     budget_nanos=1_000_000_000_000, threshold_percent=80)
FORECAST = dataclasses.replace(BUDGET, alert_id=4212, kind="forecast_over_budget", scope="cost_center", scope_id=3,
                               scope_name="Growth", amount_nanos=1_240_004_999_999, threshold_percent=None)
ANOMALY = dataclasses.replace(BUDGET, alert_id=4213, kind="spend_anomaly", scope="device", scope_id=88,
                              scope_name="ci-runner-7", amount_nanos=80_000_000_000, budget_nanos=None,
                              threshold_percent=None, expected_nanos=100_000_000, window_minutes=20,
                              details={"requests": 41_230, "prompt_hash": "9f1c"})
WORKSPACE = dataclasses.replace(BUDGET, alert_id=4214, scope="workspace", scope_id=None, scope_name=None,
                                threshold_percent=100, amount_nanos=1_000_000_000_001)


def test_each_kind_reads_as_one_sentence_with_dollars_to_the_cent() -> None:
    assert headline(BUDGET) == "Project checkout-api has spent $812.40 of its $1,000.00 budget for March 2026."
    assert headline(FORECAST) == ("Cost center Growth is forecast to spend $1,240.00 in March 2026, "
                                  "over its $1,000.00 budget.")
    assert headline(ANOMALY) == ("Device ci-runner-7 spent $80.00 in the last 20 minutes; "
                                 "its history predicts about $0.10.")
    assert headline(WORKSPACE) == ("Workspace Acme Robotics has spent $1,000.00 of its $1,000.00 budget "
                                   "for March 2026.")


def test_the_webhook_payload_carries_exact_nanos_beside_dollars_and_round_trips_as_json() -> None:
    payload = webhook_payload(ANOMALY, "evt_x")
    assert json.loads(json.dumps(payload)) == payload
    assert payload["id"] == "evt_x" and payload["type"] == "alert.spend_anomaly" and payload["version"] == 1
    assert payload["created_at"] == "2026-03-19T14:05:00Z"
    alert = payload["alert"]
    assert (alert["amount_nanos"], alert["amount_usd"]) == (80_000_000_000, "80.00")
    assert (alert["expected_nanos"], alert["expected_usd"], alert["window_minutes"]) == (100_000_000, "0.10", 20)
    assert (alert["budget_nanos"], alert["budget_usd"]) == (None, None)
    assert alert["details"] == {"requests": 41_230, "prompt_hash": "9f1c"}
    assert (alert["scope"], alert["scope_id"], alert["scope_name"], alert["period"]) == (
        "device", 88, "ci-runner-7", "2026-03-01")
    assert payload["workspace"] == {"id": 7, "slug": "acme", "name": "Acme Robotics"}


def test_a_forecast_rounds_half_up_to_the_cent_in_usd_but_stays_exact_in_nanos() -> None:
    alert = webhook_payload(FORECAST, "evt_x")["alert"]
    assert (alert["amount_nanos"], alert["amount_usd"]) == (1_240_004_999_999, "1240.00")
    assert webhook_payload(dataclasses.replace(FORECAST, amount_nanos=1_240_005_000_000), "e")["alert"][
        "amount_usd"] == "1240.01"


def test_the_event_id_is_stable_per_alert_and_channel_and_differs_otherwise() -> None:
    first = alert_event_id(4211, 12)
    assert first == alert_event_id(4211, 12) == "evt_3ff44031bbd657479e5dcfd980874d4a"
    others = {alert_event_id(4211, 13), alert_event_id(4212, 12), alert_event_id(12, 4211)}
    assert first not in others and len(others) == 3


def test_the_slack_message_reads_as_a_title_a_sentence_and_the_figures() -> None:
    message = slack_message(dataclasses.replace(BUDGET, dashboard_url="https://app.example/acme/alerts/4211"))
    assert message["text"] == ("Budget 80% reached. Project checkout-api has spent $812.40 of its $1,000.00 "
                               "budget for March 2026.")
    header, sentence, figures, context, actions = message["blocks"]
    assert header == {"type": "header", "text": {"type": "plain_text", "text": "Budget 80% reached", "emoji": False}}
    assert sentence["text"]["text"] == headline(BUDGET)
    assert [field["text"] for field in figures["fields"]] == [
        "*Workspace*\nAcme Robotics", "*Scope*\nProject checkout-api", "*Month*\nMarch 2026",
        "*Month to date*\n$812.40", "*Budget*\n$1,000.00"]
    assert context["elements"][0]["text"] == "Opened 2026-03-19 14:05 UTC · alert 4211 · Halton Meter"
    assert actions["elements"][0]["url"] == "https://app.example/acme/alerts/4211"


def test_an_anomaly_in_slack_shows_the_spend_and_what_was_expected() -> None:
    fields = [field["text"] for field in slack_message(ANOMALY)["blocks"][2]["fields"]]
    assert fields[-2:] == ["*Spend*\n$80.00", "*Expected*\n$0.10"]
    assert slack_message(ANOMALY)["blocks"][0]["text"]["text"] == "Spend anomaly"


def test_customer_names_are_inert_in_slack() -> None:
    hostile = dataclasses.replace(BUDGET, workspace_name="Acme & <!everyone>",
                                  scope_name="<!channel> <https://evil.example|click here>")
    message = slack_message(hostile)
    text = json.dumps(message)
    assert "<!channel>" not in text and "<!everyone>" not in text and "<https://evil" not in text
    assert "&lt;!channel&gt; &lt;https://evil.example|click here&gt;" in message["blocks"][1]["text"]["text"]
    assert "*Workspace*\nAcme &amp; &lt;!everyone&gt;" in text.encode().decode("unicode_escape")


def test_long_names_are_cut_to_slacks_limits_and_a_non_https_link_gets_no_button() -> None:
    long = dataclasses.replace(BUDGET, scope_name="p" * 5000, dashboard_url="javascript:alert(1)")
    message = slack_message(long)
    assert len(message["blocks"][0]["text"]["text"]) <= 150
    assert all(len(field["text"]) <= 2000 for field in message["blocks"][2]["fields"])
    assert all(block["type"] != "actions" for block in message["blocks"])


def test_a_notice_refuses_an_unknown_kind_scope_or_a_naive_time() -> None:
    with pytest.raises(ValueError, match="kind"):
        dataclasses.replace(BUDGET, kind="budget")
    with pytest.raises(ValueError, match="scope"):
        dataclasses.replace(BUDGET, scope="team")
    with pytest.raises(ValueError, match="timezone"):
        dataclasses.replace(BUDGET, opened_at=dt.datetime(2026, 3, 19, 14, 5))
