"""Secrets never leave for Sentry: each secret shape is scrubbed from free text and from named fields."""

from __future__ import annotations

import pytest

from tests.unit.secret_samples import SAMPLES
from workers.runtime.db import redact_url
from workers.runtime.sentry import before_send, scrub_text


def test_url_passwords_are_removed() -> None:
    assert scrub_text("cannot reach postgresql://fleet:hunter2@db:5432/h") == "cannot reach postgresql://fleet:***@db:5432/h"
    assert redact_url("redis://:s3cret@broker:6379/0") == "redis://:***@broker:6379/0"


def test_provider_keys_keep_only_their_last_four_characters() -> None:
    assert scrub_text("401 for key sk-ant-admin01-abcdefghijklmnopqrstuvwxyz") == "401 for key [key …wxyz]"
    assert scrub_text("xai-0123456789abcdefWXYZ, sk-proj-ABCDEFGHIJKLmnop") == "[key …WXYZ], [key …mnop]"


@pytest.mark.parametrize(("name", "text", "secrets"), SAMPLES, ids=[s[0] for s in SAMPLES])
def test_each_secret_shape_is_scrubbed_from_text(name: str, text: str, secrets: list[str]) -> None:
    scrubbed = scrub_text(text)
    assert scrubbed != text and not [s for s in secrets if s in scrubbed], scrubbed


def test_conninfo_keeps_what_is_not_secret() -> None:
    assert scrub_text("host=db port=5432 user=halton_fleet password='a b' dbname=halton sslpassword=x") == (
        "host=db port=5432 user=halton_fleet password='***' dbname=halton sslpassword=***")


def test_before_send_scrubs_nested_values_and_drops_secret_named_fields() -> None:
    event = {"exception": {"values": [{"value": "connect to postgresql://u:pw@h/db failed"}]},
             "extra": {"args": ["sk-proj-0123456789abcdefghij"], "conninfo": "host=db", "dsn": "x",
                       "admin_key": "anything", "client_secret": "plain", "workspace_id": 7},
             "request": {"headers": {"Authorization": "Basic dXNlcjpwYXNz", "Accept": "json"}}}
    scrubbed = before_send(event, {})
    assert "pw@" not in str(scrubbed) and "0123456789abcdef" not in str(scrubbed)
    assert scrubbed["extra"] == {"args": ["[key …ghij]"], "conninfo": "[Filtered]", "dsn": "[Filtered]",
                                 "admin_key": "[Filtered]", "client_secret": "[Filtered]", "workspace_id": 7}
    assert scrubbed["request"]["headers"] == {"Authorization": "[Filtered]", "Accept": "json"}
