"""Secrets never leave for Sentry: URL passwords and provider keys are scrubbed from events."""

from __future__ import annotations

from workers.runtime.db import redact_url
from workers.runtime.sentry import before_send, scrub_text


def test_url_passwords_are_removed() -> None:
    assert scrub_text("cannot reach postgresql://fleet:hunter2@db:5432/h") == "cannot reach postgresql://fleet:***@db:5432/h"
    assert redact_url("redis://:s3cret@broker:6379/0") == "redis://:***@broker:6379/0"


def test_provider_admin_keys_are_cut_to_a_hint() -> None:
    text = scrub_text("401 for key sk-ant-admin01-abcdefghijklmnopqrstuvwxyz")
    assert "abcdefghijklmnopqrstuvwxyz" not in text and "sk-ant-admin0" in text


def test_before_send_scrubs_nested_values() -> None:
    event = {"exception": {"values": [{"value": "connect to postgresql://u:pw@h/db failed"}]},
             "extra": {"args": ["sk-proj-0123456789abcdefghij"]}}
    scrubbed = before_send(event, {})
    assert "pw@" not in str(scrubbed) and "0123456789abcdefghij" not in str(scrubbed)
