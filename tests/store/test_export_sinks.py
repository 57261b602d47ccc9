"""Export destinations as object sinks (issue 19 items 1, 5, 6), against a real S3-protocol server (moto) and a
Cloud Storage emulator started as local processes, never a mock of the client: the round trip under a prefix,
replacing, the refusals a person must act on, 503s and timeouts retried, a copied ciphertext refused before
any request, and neither the worker's environment nor a metadata service ever used."""

from __future__ import annotations

import base64
import json
import logging

import pytest
import sentry_sdk

from adapters.destinations import DestinationRefused
from adapters.object_stores import GCS_ENVIRONMENT, BucketSink, StoreOptions
from adapters.store_errors import StoreRefused, StoreUnavailable
from core.errors import ConfigError
from store.export_destinations import destination_of_bucket, live_destinations
from store.tenancy import workspace_scope
from tests.factories import Conn, make_workspace
from tests.sentry_recorder import Recorder
from tests.store.export_stores import BUCKET, LOCAL, QUICK, Stores, add_sealed_destination
from tests.store.store_proxy import Faults, store_proxy
from workers.runtime.export_sinks import open_destination_sink
from workers.runtime.stored_secrets import SecretMisplaced

KINDS = ["s3", "gcs"]


@pytest.fixture(autouse=True)
def fleet_settings(fleet_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The fleet's key, as a worker has it; none of the developer's cloud settings."""
    for name in ("DATABASE_URL", "REDIS_URL", "HALTON_ENCRYPTION_KEY"):
        monkeypatch.setenv(name, fleet_env[name])
    monkeypatch.delenv("HALTON_ALLOW_PRIVATE_DESTINATIONS", raising=False)
    for name in GCS_ENVIRONMENT:  # a machine's proxy settings would make Cloud Storage sinks refuse to open
        monkeypatch.delenv(name, raising=False)


def read_back(stores: Stores, kind: str, key: str) -> bytes | None:
    """The object as a consumer of the bucket reads it (boto3, or the emulator's own API)."""
    if kind == "gcs":
        return stores.gcs.read(BUCKET, key)
    try:
        return bytes(stores.s3.client().get_object(Bucket=BUCKET, Key=key)["Body"].read())
    except stores.s3.client().exceptions.NoSuchKey:
        return None


def test_live_destinations_are_the_workspaces_own_and_not_revoked(db_conn: Conn, fleet: Conn, stores: Stores) -> None:
    acme, beta = make_workspace(db_conn, "acme").workspace_id, make_workspace(db_conn, "beta").workspace_id
    kept = add_sealed_destination(db_conn, acme, "s3", stores.credentials("s3"), prefix="exports/acme",
                                  region="eu-west-1", endpoint_url=stores.s3.endpoint_url,
                                  datasets=("focus", "audit"))
    revoked = add_sealed_destination(db_conn, acme, "gcs", stores.credentials("gcs"))
    db_conn.execute("update meter.export_destinations set revoked_at = now() where id = %s", (revoked.id,))
    add_sealed_destination(db_conn, beta, "s3", stores.credentials("s3"))
    with workspace_scope(fleet, acme):  # the fleet's role: row-level security applies
        assert live_destinations(fleet, acme) == [kept]
        assert live_destinations(fleet, beta) == [], "another workspace's rows are not seen"
        assert destination_of_bucket(fleet, acme, "s3", BUCKET) == kept
        assert destination_of_bucket(fleet, acme, "gcs", BUCKET) is None, "revoked"
    assert kept.kind == "s3" and kept.prefix == "exports/acme" and kept.region == "eu-west-1"
    assert kept.datasets == ("focus", "audit") and kept.format == "parquet" and kept.url == f"s3://{BUCKET}/exports/acme"


@pytest.mark.parametrize("kind", KINDS)
def test_a_put_lands_under_the_prefix_replaces_and_reads_back(kind: str, db_conn: Conn, stores: Stores) -> None:
    workspace = make_workspace(db_conn, "acme").workspace_id
    destination = add_sealed_destination(db_conn, workspace, kind, stores.credentials(kind), prefix="exports/acme/",
                                         endpoint_url=stores.endpoint(kind))
    sink = open_destination_sink(db_conn, destination, policy=LOCAL, options=QUICK)
    scheme = "s3" if kind == "s3" else "gs"
    assert sink.describe() == f"{scheme}://{BUCKET}/exports/acme"
    key = f"focus/billing_period=2026-11/{kind}-2026-11-02.csv"
    assert sink.get(key) is None
    sink.put(key, b"BilledCost\n1.25\n", "text/csv")
    assert sink.get(key) == b"BilledCost\n1.25\n"
    assert read_back(stores, kind, f"exports/acme/{key}") == b"BilledCost\n1.25\n", "under the prefix"
    sink.put(key, b"BilledCost\n2.50\n", "text/csv")
    assert sink.get(key) == b"BilledCost\n2.50\n", "a put replaces the object"
    if kind == "s3":
        head = stores.s3.client().head_object(Bucket=BUCKET, Key=f"exports/acme/{key}")
        assert head["ContentType"] == "text/csv"
    # the command line's --to URL: the same destination's credentials, the URL's prefix
    other = open_destination_sink(db_conn, destination, prefix="by-hand/run-1", policy=LOCAL, options=QUICK)
    other.put("audit.csv", b"a,b\n", "text/csv")
    assert read_back(stores, kind, "by-hand/run-1/audit.csv") == b"a,b\n"
    assert other.describe() == f"{scheme}://{BUCKET}/by-hand/run-1"


@pytest.mark.parametrize("kind", KINDS)
def test_a_bucket_that_does_not_exist_is_named_with_what_to_do(kind: str, db_conn: Conn, stores: Stores) -> None:
    workspace = make_workspace(db_conn, "acme").workspace_id
    destination = add_sealed_destination(db_conn, workspace, kind, stores.credentials(kind), bucket="no-such-bucket",
                                         endpoint_url=stores.endpoint(kind))
    sink = open_destination_sink(db_conn, destination, policy=LOCAL, options=QUICK)
    for action in ("put", "get"):
        with pytest.raises(StoreRefused) as refused:
            sink.put("a.csv", b"x", "text/csv") if action == "put" else sink.get("a.csv")
        assert "the bucket no-such-bucket does not exist" in str(refused.value)
        assert "correct the destination's bucket in the dashboard" in str(refused.value)


def test_credentials_the_store_refuses_fail_with_a_message_and_never_show(db_conn: Conn, stores: Stores,
                                                                          caplog: pytest.LogCaptureFixture) -> None:
    """moto's server checks signatures (the Cloud Storage emulator accepts any token: not testable there)."""
    caplog.set_level(logging.DEBUG)
    workspace = make_workspace(db_conn, "acme").workspace_id
    good = json.loads(stores.credentials("s3"))
    wrong_secret = "WRONG" + good["secret_access_key"][5:]
    unknown_key = {"access_key_id": "AKIAUNKNOWNKEY000001", "secret_access_key": "UNKNOWNSECRETunknownsecret0001"}
    recorder = Recorder()
    sentry_sdk.init(dsn="http://public@127.0.0.1:9/1", transport=recorder, include_local_variables=True,
                    default_integrations=False)
    try:
        for credentials, secret in ((json.dumps({**good, "secret_access_key": wrong_secret}), wrong_secret),
                                    (json.dumps(unknown_key), unknown_key["secret_access_key"])):
            destination = add_sealed_destination(db_conn, workspace, "s3", credentials,
                                                 endpoint_url=stores.s3.endpoint_url)
            sink = open_destination_sink(db_conn, destination, policy=LOCAL, options=QUICK)
            assert secret not in repr(sink) and secret not in str(vars(sink) if hasattr(sink, "__dict__") else sink)
            message = _refused_and_reported(sink)
            assert f"bucket {BUCKET}" in message and "credentials in the dashboard" in message, message
            assert secret not in message
            with pytest.raises(StoreRefused):
                sink.get("a.csv")
        sentry_sdk.flush(timeout=5)
    finally:
        sentry_sdk.init()
    sent = b"".join(envelope.serialize() for envelope in recorder.envelopes)
    assert b"StoreRefused" in sent, "the events were captured, with their frames"
    for secret in (wrong_secret, unknown_key["secret_access_key"], good["secret_access_key"]):
        assert secret.encode() not in sent and secret not in caplog.text


def _refused_and_reported(sink: BucketSink) -> str:
    """A failing put, reported to Sentry from a frame holding nothing but the sink (as the task would)."""
    try:
        sink.put("a.csv", b"x", "text/csv")
    except StoreRefused as error:
        sentry_sdk.capture_exception(error)
        return str(error)
    raise AssertionError("the put was expected to be refused")


@pytest.mark.parametrize("kind", KINDS)
def test_a_store_answering_503_is_retried_until_it_answers(kind: str, db_conn: Conn, stores: Stores) -> None:
    workspace = make_workspace(db_conn, "acme").workspace_id
    failures = 2 if kind == "s3" else 1  # google-cloud-cpp waits a second, then two: one 503 keeps the test short
    with store_proxy(stores.port(kind), Faults(unavailable=failures)) as (url, seen):
        destination = add_sealed_destination(db_conn, workspace, kind, stores.credentials(kind), prefix="retry",
                                             endpoint_url=url)
        sink = open_destination_sink(db_conn, destination, policy=LOCAL, options=QUICK)
        sink.put("day.csv", b"after 503s\n", "text/csv")
        assert seen.answered_503 == failures and seen.count > failures
    assert read_back(stores, kind, "retry/day.csv") == b"after 503s\n"


def test_an_s3_request_that_times_out_is_retried(db_conn: Conn, stores: Stores) -> None:
    """pyarrow's Cloud Storage client takes no request timeout of its own (only a retry time limit), so the
    timeout is exercised on S3."""
    workspace = make_workspace(db_conn, "acme").workspace_id
    options = StoreOptions(connect_timeout=1.0, request_timeout=1.0, attempts=4)
    with store_proxy(stores.s3.port, Faults(held=1, hold_seconds=3.0)) as (url, seen):
        destination = add_sealed_destination(db_conn, workspace, "s3", stores.credentials("s3"), prefix="slow",
                                             endpoint_url=url)
        sink = open_destination_sink(db_conn, destination, policy=LOCAL, options=options)
        sink.put("day.csv", b"after a timeout\n", "text/csv")
        assert seen.held == 1
    assert read_back(stores, "s3", "slow/day.csv") == b"after a timeout\n"


def test_a_store_that_stays_unavailable_is_a_transient_failure(db_conn: Conn, stores: Stores) -> None:
    workspace = make_workspace(db_conn, "acme").workspace_id
    with store_proxy(stores.s3.port, Faults(unavailable=1000)) as (url, seen):
        destination = add_sealed_destination(db_conn, workspace, "s3", stores.credentials("s3"), endpoint_url=url)
        sink = open_destination_sink(db_conn, destination, policy=LOCAL, options=StoreOptions(attempts=3))
        with pytest.raises(StoreUnavailable, match=f"s3://{BUCKET} at 127.0.0.1:[0-9]+: S3 is unavailable"):
            sink.put("day.csv", b"x", "text/csv")
        assert seen.answered_503 >= 3


@pytest.mark.parametrize("kind", KINDS)
def test_a_copied_ciphertext_is_refused_before_any_request(kind: str, db_conn: Conn, stores: Stores) -> None:
    acme, beta = make_workspace(db_conn, "acme").workspace_id, make_workspace(db_conn, "beta").workspace_id
    with store_proxy(stores.port(kind)) as (url, seen):
        theirs = add_sealed_destination(db_conn, beta, kind, stores.credentials(kind), endpoint_url=url)
        ours = add_sealed_destination(db_conn, acme, kind, stores.credentials(kind), endpoint_url=url)
        db_conn.execute("""update meter.export_destinations set credentials_ciphertext =
                               (select credentials_ciphertext from meter.export_destinations where id = %s)
                            where id = %s""", (theirs.id, ours.id))
        with pytest.raises(SecretMisplaced, match="was not stored for this export destination, so it was not used; "
                                                  "enter the bucket's credentials again in the dashboard"):
            open_destination_sink(db_conn, ours, policy=LOCAL, options=QUICK)
        assert seen.count == 0, "no request reached the store"
    events = db_conn.execute("""select event, resource, details->>'action' from analysis.audit_events
                                 where workspace_id = %s""", (acme,)).fetchall()
    assert events == [("secret.misplaced", f"meter.export_destinations:{ours.id}", "refused before use")]


def test_a_revoked_destination_is_not_opened(db_conn: Conn, stores: Stores) -> None:
    workspace = make_workspace(db_conn, "acme").workspace_id
    destination = add_sealed_destination(db_conn, workspace, "s3", stores.credentials("s3"),
                                         endpoint_url=stores.s3.endpoint_url)
    db_conn.execute("update meter.export_destinations set revoked_at = now() where id = %s", (destination.id,))
    with pytest.raises(StoreRefused, match=f"the export destination s3://{BUCKET} was revoked or removed"):
        open_destination_sink(db_conn, destination, policy=LOCAL, options=QUICK)


def test_an_http_or_private_endpoint_is_refused_unless_private_destinations_are_allowed(
        db_conn: Conn, stores: Stores, monkeypatch: pytest.MonkeyPatch) -> None:
    workspace = make_workspace(db_conn, "acme").workspace_id
    destination = add_sealed_destination(db_conn, workspace, "s3", stores.credentials("s3"),
                                         endpoint_url=stores.s3.endpoint_url)
    with pytest.raises(DestinationRefused, match="export endpoint refused: it must use https, not http"):
        open_destination_sink(db_conn, destination, options=QUICK)
    monkeypatch.setenv("HALTON_ALLOW_PRIVATE_DESTINATIONS", "true")
    open_destination_sink(db_conn, destination, options=QUICK).put("ok.csv", b"x", "text/csv")


def _recorded_env(monkeypatch: pytest.MonkeyPatch, decoy: str, proxies: bool = True) -> None:
    """The worker's own cloud settings, every one pointing at `decoy`: none may be used. The variables the
    Cloud Storage client would follow (its emulator endpoint, proxies) are refused instead: the test below."""
    for name in GCS_ENVIRONMENT:
        if proxies and "PROXY" in name.upper():
            monkeypatch.setenv(name, decoy)
        else:
            monkeypatch.delenv(name, raising=False)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "AKIAWORKERSOWNKEY001", "AWS_SECRET_ACCESS_KEY": "workers-own-secret",
        "AWS_SESSION_TOKEN": "workers-own-session-token", "AWS_SECURITY_TOKEN": "workers-own-session-token",
        "AWS_ENDPOINT_URL": decoy, "AWS_ENDPOINT_URL_S3": decoy, "AWS_REGION": "ap-south-9",
        "AWS_DEFAULT_REGION": "ap-south-9", "AWS_EC2_METADATA_SERVICE_ENDPOINT": decoy,
        "AWS_CONTAINER_CREDENTIALS_FULL_URI": f"{decoy}/credentials", "AWS_PROFILE": "worker",
        "GOOGLE_APPLICATION_CREDENTIALS": "/nonexistent/worker-key.json", "STORAGE_EMULATOR_HOST": decoy,
        "GCE_METADATA_HOST": decoy.removeprefix("http://"),
    }.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize("kind", KINDS)
def test_the_workers_own_credentials_endpoints_and_metadata_service_are_never_used(
        kind: str, db_conn: Conn, stores: Stores, monkeypatch: pytest.MonkeyPatch) -> None:
    """With AWS_*/GOOGLE_*/proxy variables all pointing at a decoy, the request goes to the destination's
    endpoint, signed with the destination's key and nothing else, and the decoy (standing for the metadata
    service, the worker's endpoint or proxy) hears nothing."""
    workspace = make_workspace(db_conn, "acme").workspace_id
    with store_proxy(None) as (decoy, decoyed), store_proxy(None) as (url, seen):
        _recorded_env(monkeypatch, decoy, proxies=kind == "s3")
        destination = add_sealed_destination(db_conn, workspace, kind, stores.credentials(kind), endpoint_url=url)
        sink = open_destination_sink(db_conn, destination, policy=LOCAL, options=QUICK)
        with pytest.raises(StoreRefused):  # the recorder refuses everything (403)
            sink.put("a.csv", b"x", "text/csv")
        assert decoyed.count == 0
        assert seen.count >= 1
        for _, _, headers in seen.requests:
            lowered = {k.lower(): v for k, v in headers.items()}
            authorization = lowered["authorization"]
            assert "workers-own" not in json.dumps(lowered) and "AKIAWORKERSOWNKEY001" not in authorization
            if kind == "s3":
                key_id = json.loads(stores.credentials("s3"))["access_key_id"]
                assert f"Credential={key_id}/" in authorization and "/us-east-1/s3/" in authorization
                assert "x-amz-security-token" not in lowered
            else:
                token = authorization.removeprefix("Bearer ")
                claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
                assert claims["iss"] == json.loads(stores.gcs_key)["client_email"]
                assert claims["aud"] == "https://storage.googleapis.com/"


@pytest.mark.parametrize("kind", KINDS)
def test_without_usable_credentials_nothing_is_sent(kind: str, db_conn: Conn, stores: Stores,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """No fallback to anything else: the export fails naming the bucket, before any request."""
    workspace = make_workspace(db_conn, "acme").workspace_id
    with store_proxy(None) as (decoy, decoyed), store_proxy(None) as (url, seen):
        _recorded_env(monkeypatch, decoy, proxies=kind == "s3")
        for stored in ("{}", '{"access_key_id": "", "secret_access_key": ""}', "not json", '{"type": "user"}'):
            destination = add_sealed_destination(db_conn, workspace, kind, stored, endpoint_url=url)
            with pytest.raises(StoreRefused, match=f"the credentials stored for {'s3' if kind == 's3' else 'gs'}://"
                                                   f"{BUCKET} .*; enter the credentials of .* again in the dashboard"):
                open_destination_sink(db_conn, destination, policy=LOCAL, options=QUICK)
        assert seen.count == 0 and decoyed.count == 0


@pytest.mark.parametrize("variable", ["CLOUD_STORAGE_EMULATOR_ENDPOINT", "HTTPS_PROXY", "http_proxy"])
def test_environment_the_cloud_storage_client_would_follow_is_refused(variable: str, db_conn: Conn, stores: Stores,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    workspace = make_workspace(db_conn, "acme").workspace_id
    with store_proxy(None) as (decoy, decoyed), store_proxy(None) as (url, seen):
        _recorded_env(monkeypatch, decoy, proxies=False)
        monkeypatch.setenv(variable, decoy)
        destination = add_sealed_destination(db_conn, workspace, "gcs", stores.credentials("gcs"), endpoint_url=url)
        with pytest.raises(ConfigError, match=f"^{variable} set in the worker's environment would redirect exports "
                                              "to Cloud Storage .*; unset them for the workers$"):
            open_destination_sink(db_conn, destination, policy=LOCAL, options=QUICK)
        assert seen.count == 0 and decoyed.count == 0


def test_a_cloud_storage_token_is_made_again_before_it_expires(db_conn: Conn, stores: Stores) -> None:
    """The self-signed token lives an hour; a sink used longer builds its client again with a new one."""
    workspace = make_workspace(db_conn, "acme").workspace_id
    with store_proxy(stores.gcs.port) as (url, seen):
        destination = add_sealed_destination(db_conn, workspace, "gcs", stores.credentials("gcs"), endpoint_url=url)
        sink = open_destination_sink(db_conn, destination, policy=LOCAL, options=QUICK)
        sink.put("first.csv", b"1\n", "text/csv")
        token = {k.lower(): v for k, v in seen.requests[-1][2].items()}["authorization"].removeprefix("Bearer ")
        claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
        assert claims["exp"] - claims["iat"] == 3600
        assert sink._renew_at == claims["exp"] - 600, "renewed ten minutes before it expires"
        first = sink._fs_now
        sink._renew_at = 0.0  # as if 50 minutes had passed
        sink.put("second.csv", b"2\n", "text/csv")
        assert sink._fs_now is not first and sink._renew_at is not None and sink._renew_at > 0
    assert read_back(stores, "gcs", "second.csv") == b"2\n"


def test_a_service_account_key_and_its_token_never_reach_a_log_or_a_sentry_event(
        db_conn: Conn, stores: Stores, caplog: pytest.LogCaptureFixture) -> None:
    """The emulator refuses no token, so a failure is provoked with a bucket that does not exist."""
    caplog.set_level(logging.DEBUG)
    workspace = make_workspace(db_conn, "acme").workspace_id
    destination = add_sealed_destination(db_conn, workspace, "gcs", stores.credentials("gcs"), bucket="no-such-bucket",
                                         endpoint_url=stores.gcs.endpoint_url)
    recorder = Recorder()
    sentry_sdk.init(dsn="http://public@127.0.0.1:9/1", transport=recorder, include_local_variables=True,
                    default_integrations=False)
    try:
        sink = open_destination_sink(db_conn, destination, policy=LOCAL, options=QUICK)
        message = _refused_and_reported(sink)
        sentry_sdk.flush(timeout=5)
    finally:
        sentry_sdk.init()
    assert "the bucket no-such-bucket does not exist on Cloud Storage" in message
    sent = b"".join(envelope.serialize() for envelope in recorder.envelopes)
    assert b"StoreRefused" in sent
    pem_body = "".join(json.loads(stores.gcs_key)["private_key"].splitlines()[1:-1])
    token = sink._secrets[0]
    for secret in (pem_body[:64], pem_body[-64:], token, token.split(".")[2]):
        assert secret.encode() not in sent and secret not in caplog.text and secret not in message
