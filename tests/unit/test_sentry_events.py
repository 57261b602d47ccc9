"""With SENTRY_DSN set, events reach Sentry (here a local HTTP server) with the secrets scrubbed."""

from __future__ import annotations

import gzip
import http.server
import json
import logging
import threading
from collections.abc import Iterator
from typing import ClassVar

import pytest
import sentry_sdk

from tests.unit.secret_samples import SAMPLES
from workers.runtime.sentry import init_sentry
from workers.settings import Settings


class Ingest(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        encoding = self.headers.get("Content-Encoding")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "br":
            import brotli  # type: ignore[import-untyped]  # sentry-sdk uses brotli when installed

            body = brotli.decompress(body)
        Ingest.received.append(body)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def ingest() -> Iterator[str]:
    server = http.server.HTTPServer(("127.0.0.1", 0), Ingest)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Ingest.received = []
    yield f"http://publickey@127.0.0.1:{server.server_address[1]}/1"
    server.shutdown()


def test_events_are_sent_with_the_celery_integration_and_without_secrets(ingest: str) -> None:
    settings = Settings(database_url="postgresql://x@db/h", redis_url="redis://r:6379/0",
                        sentry_dsn=ingest)
    assert init_sentry(settings, component="worker")
    client = sentry_sdk.get_client()
    assert "celery" in client.integrations
    try:
        admin_key = "sk-ant-admin01-SECRETSECRETSECRETSECRET"
        raise RuntimeError(f"cannot reach postgresql://fleet:hunter2@db/halton with key {admin_key}")
    except RuntimeError as error:
        sentry_sdk.capture_exception(error)
    client.flush(timeout=5)
    sentry_sdk.init()  # back to a client that sends nothing
    payload = b"".join(Ingest.received)
    assert b"cannot reach postgresql://fleet:***@db/halton" in payload
    assert b"hunter2" not in payload and b"SECRETSECRET" not in payload


def _failing_pull(text: str) -> None:
    conninfo = text  # a frame's variables: never sent (include_local_variables=False)
    admin_key = text
    raise RuntimeError(f"pull failed: {conninfo} / {admin_key}")


@pytest.mark.parametrize(("name", "text", "secrets"), SAMPLES, ids=[s[0] for s in SAMPLES])
def test_no_secret_shape_reaches_the_ingest_server(ingest: str, name: str, text: str, secrets: list[str],
                                                    caplog: pytest.LogCaptureFixture) -> None:
    """The secret in the exception's message, a local variable, an extra, a log breadcrumb and a logged
    error (an event of its own): the events arrive, and none of them carries it."""
    settings = Settings(database_url="postgresql://x@db/h", redis_url="redis://r:6379/0", sentry_dsn=ingest)
    assert init_sentry(settings, component="worker")
    log = logging.getLogger("halton.test")
    try:
        sentry_sdk.set_extra("detail", text)
        sentry_sdk.set_extra("signing_secret", text)
        log.warning("about to pull with %s", text)
        try:
            _failing_pull(text)
        except RuntimeError as error:
            sentry_sdk.capture_exception(error)
        log.error("billing pull failed: %s", text)
        sentry_sdk.get_client().flush(timeout=5)
    finally:
        sentry_sdk.init()  # back to a client that sends nothing
    payload = b"".join(Ingest.received)
    assert payload.count(b'"type":"event"') >= 2 or payload.count(b'"type": "event"') >= 2, payload[:200]
    assert b"pull failed:" in payload and b"billing pull failed" in payload and b"about to pull" in payload
    assert b"_failing_pull" in payload and b'"vars"' not in payload, "frames without their variables"
    leaked = [s for s in secrets if s.encode() in payload or json.dumps(s)[1:-1].encode() in payload]
    assert leaked == []
