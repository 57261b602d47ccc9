"""Webhook signatures: the scheme, the receiver's checks, and docs/WEBHOOKS.md's vectors and snippet kept true."""

from __future__ import annotations

import pickle
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from adapters.webhooks import (
    InvalidSignature,
    SigningSecret,
    encode_body,
    sign,
    signed_headers,
    verify_signature,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "WEBHOOKS.md"
SECRET = "whsec_halton_test_vector_secret"
BODY = b'{"id":"evt_test","type":"alert.spend_anomaly"}'
NOW = 1_768_831_500


def doc_vectors() -> list[dict[str, str]]:
    """The ```text blocks under '### Vector' headings: {secret, timestamp, body, signature}."""
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"### Vector[^\n]*\n+```text\n(.*?)\n```", text, flags=re.S)
    vectors = []
    for block in blocks:
        fields: dict[str, str] = {}
        for line in block.splitlines():
            name, value = line.split(":", 1)
            fields[name] = value.strip()
        vectors.append(fields)
    return vectors


def doc_snippet() -> str:
    text = DOC.read_text(encoding="utf-8")
    [snippet] = re.findall(r"<!-- tests/unit/test_webhook_signing.py[^>]*-->\n```python\n(.*?)```", text, flags=re.S)
    return str(snippet)


def test_the_docs_carry_four_vectors() -> None:
    assert len(doc_vectors()) == 4


@pytest.mark.parametrize("index", range(4))
def test_each_vector_in_the_docs_is_what_the_fleet_signs(index: int) -> None:
    vector = doc_vectors()[index]
    body = vector["body"].encode("utf-8")
    assert sign(vector["secret"], int(vector["timestamp"]), body) == vector["signature"]
    headers = {"X-Halton-Timestamp": vector["timestamp"], "X-Halton-Event-Id": "evt_test",
               "X-Halton-Signature-256": vector["signature"]}
    assert verify_signature(vector["secret"], headers, body, now=int(vector["timestamp"])) == "evt_test"


def test_the_whole_alert_vector_is_the_payload_the_fleet_builds() -> None:
    import datetime as dt

    from adapters.alert_delivery import alert_event_id
    from adapters.alert_notice import AlertNotice, webhook_payload

    notice = AlertNotice(alert_id=4211, workspace_id=7, workspace_slug="acme", workspace_name="Acme Robotics",
                         kind="budget_threshold", scope="project", scope_id=31, scope_name="checkout-api",
                         period=dt.date(2026, 1, 1), opened_at=dt.datetime(2026, 1, 19, 14, 5, tzinfo=dt.UTC),
                         amount_nanos=812_403_117_250, budget_nanos=1_000_000_000_000, threshold_percent=80,
                         dashboard_url="https://app.haltonmeter.example/acme/alerts/4211")
    event_id = alert_event_id(4211, 12)
    assert encode_body(webhook_payload(notice, event_id)) == doc_vectors()[3]["body"].encode("utf-8")


def test_the_receivers_snippet_in_the_docs_accepts_the_vectors_and_rejects_the_rest() -> None:
    namespace: dict[str, Any] = {}
    exec(compile(doc_snippet(), str(DOC), "exec"), namespace)
    verify = namespace["verify_halton_webhook"]
    for vector in doc_vectors():
        body = vector["body"].encode("utf-8")
        headers = {"x-halton-timestamp": vector["timestamp"], "X-Halton-Event-Id": "evt_test",
                   "X-HALTON-SIGNATURE-256": vector["signature"]}
        assert verify(vector["secret"], headers, body, now=int(vector["timestamp"]) + 299) == "evt_test"
        with pytest.raises(ValueError, match="signature"):
            verify(vector["secret"], headers, body + b" ", now=int(vector["timestamp"]))
        with pytest.raises(ValueError, match="replay window"):
            verify(vector["secret"], headers, body, now=int(vector["timestamp"]) + 301)
        with pytest.raises(ValueError, match="signature"):
            verify("whsec_someone_else", headers, body, now=int(vector["timestamp"]))


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl on this machine")
def test_the_openssl_command_in_the_docs_gives_vector_one() -> None:
    text = DOC.read_text(encoding="utf-8")
    [command] = re.findall(r"```sh\n(.*?)```", text, flags=re.S)
    result = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=30, check=True)
    assert result.stdout.strip().endswith(doc_vectors()[0]["signature"].removeprefix("sha256="))


# -- verify_signature ---------------------------------------------------------------------------------------

def headers_for(body: bytes = BODY, timestamp: int = NOW, secret: str = SECRET) -> dict[str, str]:
    return signed_headers(secret, "evt_test", body, timestamp)


def test_a_genuine_fresh_delivery_verifies_with_any_header_case() -> None:
    headers = {name.upper(): value for name, value in headers_for().items()}
    assert verify_signature(SigningSecret(SECRET), headers, BODY, now=NOW) == "evt_test"


@pytest.mark.parametrize(("change", "words"), [
    (lambda h, b: (h, b + b"\n"), "does not match"),
    (lambda h, b: (h, b.replace(b"anomaly", b"anomalz")), "does not match"),
    (lambda h, b: ({**h, "X-Halton-Timestamp": str(NOW + 1)}, b), "does not match"),
    (lambda h, b: ({**h, "X-Halton-Signature-256": h["X-Halton-Signature-256"].upper()}, b), "must start with"),
    (lambda h, b: ({**h, "X-Halton-Signature-256": h["X-Halton-Signature-256"][:-1] + "0"}, b), "does not match"),
    (lambda h, b: ({k: v for k, v in h.items() if k != "X-Halton-Signature-256"}, b), "header is missing"),
    (lambda h, b: ({k: v for k, v in h.items() if k != "X-Halton-Event-Id"}, b), "header is missing"),
    (lambda h, b: ({**h, "X-Halton-Timestamp": "1768831500.0"}, b), "whole number"),
])
def test_a_tampered_or_incomplete_delivery_is_rejected(change: Any, words: str) -> None:
    headers, body = change(headers_for(), BODY)
    with pytest.raises(InvalidSignature, match=words):
        verify_signature(SECRET, headers, body, now=NOW)


@pytest.mark.parametrize("skew", [-301, 301, -86_400, 86_400])
def test_a_delivery_outside_the_replay_window_is_rejected(skew: int) -> None:
    with pytest.raises(InvalidSignature, match="a replay, or a clock off"):
        verify_signature(SECRET, headers_for(), BODY, now=NOW + skew)
    assert verify_signature(SECRET, headers_for(), BODY, now=NOW + skew, tolerance=abs(skew)) == "evt_test"


def test_another_secret_does_not_verify() -> None:
    with pytest.raises(InvalidSignature, match="does not match"):
        verify_signature("whsec_someone_else", headers_for(), BODY, now=NOW)


# -- the secret itself --------------------------------------------------------------------------------------

def test_a_signing_secret_never_prints_itself_and_is_never_pickled() -> None:
    secret = SigningSecret("whsec_t3st_s1gn1ng_s3cr3t_0123456789")
    assert repr(secret) == str(secret) == "SigningSecret('…6789')"
    assert "s1gn1ng" not in f"{secret} {secret!r} {[secret]}"
    with pytest.raises(TypeError):
        pickle.dumps(secret)
    with pytest.raises(ValueError):
        SigningSecret("")


def test_the_body_is_compact_sorted_utf8_json_and_refuses_nan() -> None:
    assert encode_body({"b": 1, "a": "Café"}) == '{"a":"Café","b":1}'.encode()
    with pytest.raises(ValueError):
        encode_body({"a": float("nan")})
