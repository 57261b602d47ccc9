"""Safe export destinations (issue 19 item 5): bucket names by each store's rules, prefixes and keys without
'..', a leading '/', '//', '%' or control characters, endpoints checked like alert destinations; each refusal a
sentence a person can act on. And the credentials' holders never print or pickle themselves."""

from __future__ import annotations

import copy
import json
import pickle

import pytest

from adapters.bucket_rules import check_bucket, check_key, check_prefix, parse_bucket_url
from adapters.destinations import DestinationPolicy, DestinationRefused
from adapters.object_stores import GcsServiceAccount, S3Credentials, StoreTarget, check_target, parse_credentials
from adapters.store_errors import StoreRefused
from tests.unit.webhook_receiver import ScriptedResolver
from workers.runtime.embedded_stores import service_account_json

STRICT, LENIENT = DestinationPolicy(), DestinationPolicy(allow_private=True)
PUBLIC = ScriptedResolver(["203.0.114.10"])  # a public address (not a documentation range)


@pytest.mark.parametrize("bucket", ["halton-exports", "acme.exports.2026", "a1b", "x" * 63])
def test_valid_s3_bucket_names_pass(bucket: str) -> None:
    assert check_bucket("s3", bucket) == bucket


@pytest.mark.parametrize(("bucket", "rule"), [
    ("ab", "it must be 3 to 63 characters long"),
    ("x" * 64, "it must be 3 to 63 characters long"),
    ("Halton-Exports", "only lowercase letters, digits, dots and hyphens"),
    ("halton_exports", "only lowercase letters, digits, dots and hyphens"),
    ("-halton", "beginning and ending with a letter or digit"),
    ("halton.", "beginning and ending with a letter or digit"),
    ("halton..exports", "no two adjacent dots"),
    ("halton.-exports", "no dot next to a hyphen"),
    ("xn--halton", "it begins or ends with a form S3 reserves"),
    ("sthree-halton", "it begins or ends with a form S3 reserves"),
    ("halton-s3alias", "it begins or ends with a form S3 reserves"),
    ("halton--x-s3", "it begins or ends with a form S3 reserves"),
    ("192.168.5.4", "it must not look like an IP address"),
])
def test_s3_bucket_names_breaking_a_rule_are_refused_saying_which(bucket: str, rule: str) -> None:
    with pytest.raises(DestinationRefused) as refused:
        check_bucket("s3", bucket)
    assert str(refused.value).startswith(f"export destination refused: the bucket name {bucket!r} is not a valid "
                                         "S3 bucket name (")
    assert rule in str(refused.value) and str(refused.value).endswith("; correct it in the dashboard")


@pytest.mark.parametrize("bucket", ["halton_exports", "acme.exports.example.com", "a-b", f"{'a' * 63}.{'b' * 63}"])
def test_valid_cloud_storage_bucket_names_pass(bucket: str) -> None:
    assert check_bucket("gcs", bucket) == bucket


@pytest.mark.parametrize(("bucket", "rule"), [
    ("ab", "it must be 3 to 63 characters long, or up to 222 with dots"),
    ("Halton", "only lowercase letters, digits, dashes, underscores and dots"),
    ("_halton", "beginning and ending with a letter or digit"),
    ("a" * 64, "each dot-separated part must be 1 to 63 characters long"),
    ("google-exports", "it must not begin with 'goog' or contain 'google'"),
    ("my-g00gle-bucket", "it must not begin with 'goog' or contain 'google'"),
    ("10.0.0.1", "it must not look like an IP address"),
])
def test_cloud_storage_bucket_names_breaking_a_rule_are_refused_saying_which(bucket: str, rule: str) -> None:
    with pytest.raises(DestinationRefused, match="is not a valid Cloud Storage bucket name") as refused:
        check_bucket("gcs", bucket)
    assert rule in str(refused.value)


def test_a_kind_other_than_s3_or_gcs_is_refused() -> None:
    with pytest.raises(DestinationRefused, match="its kind is 'azure'; it must be 's3' or 'gcs'"):
        check_bucket("azure", "halton")


@pytest.mark.parametrize(("prefix", "kept"), [("", ""), ("exports", "exports"), ("exports/acme/", "exports/acme"),
                                              ("a b/é", "a b/é")])
def test_plain_prefixes_pass_without_their_trailing_slash(prefix: str, kept: str) -> None:
    assert check_prefix(prefix) == kept


@pytest.mark.parametrize(("prefix", "says"), [
    ("exports/../other", "holds '..'"),
    ("..", "holds '..'"),
    ("/exports", "begins with '/': give it relative to the bucket"),
    ("/", "begins with '/'"),
    ("exports//acme", "holds '//' (an empty path segment)"),
    ("exports%2F..", "holds '..'"),
    ("exports%2Facme", "holds '%' (percent-encoding is not decoded: write the characters themselves)"),
    ("exports\nacme", "holds a control character"),
    ("exports\x00", "holds a control character"),
    ("exports\x7f", "holds a control character"),
    ("exports\u202eacme", "holds a control character"),
])
def test_a_prefix_that_could_land_elsewhere_is_refused_saying_why(prefix: str, says: str) -> None:
    with pytest.raises(DestinationRefused) as refused:
        check_prefix(prefix)
    message = str(refused.value)
    assert message.startswith("export destination refused: the prefix ") and says in message
    assert message.endswith("; correct it in the dashboard (or on the command line)")


@pytest.mark.parametrize("key", ["", "../x", "/x", "a//b", "a%20b", "a\tb"])
def test_object_keys_follow_the_same_rules(key: str) -> None:
    with pytest.raises(DestinationRefused):
        check_key(key)
    assert check_key("focus/billing_period=2026-11/2026-11-02.parquet")


def test_a_bucket_url_is_parsed_and_checked() -> None:
    assert parse_bucket_url("s3://halton-exports/by-hand/run-1/") == ("s3", "halton-exports", "by-hand/run-1")
    assert parse_bucket_url("gs://halton_exports") == ("gcs", "halton_exports", "")
    with pytest.raises(DestinationRefused, match="is not an s3://bucket/prefix or gs://bucket/prefix URL"):
        parse_bucket_url("https://halton-exports/x")
    with pytest.raises(DestinationRefused, match=r"holds '\.\.'"):
        parse_bucket_url("s3://halton-exports/../x")


def _target(endpoint: str | None, policy: DestinationPolicy = STRICT, region: str | None = None,
            resolve: ScriptedResolver = PUBLIC) -> StoreTarget:
    return check_target("s3", "halton-exports", "exports", region, endpoint, policy, resolve=resolve)


def test_the_stores_own_endpoint_needs_no_check_and_a_public_https_one_passes() -> None:
    assert _target(None).endpoint is None
    checked = _target("https://minio.example.com:9000").endpoint
    assert checked is not None and checked.authority == "minio.example.com:9000"


@pytest.mark.parametrize(("endpoint", "answer", "says"), [
    ("http://minio.example.com", ["203.0.114.10"], "export endpoint refused: it must use https, not http"),
    ("ftp://minio.example.com", ["203.0.114.10"], "export endpoint refused: it must be an https:// URL"),
    ("https://minio.internal", ["10.1.2.3"], "export endpoint refused: minio.internal resolves to 10.1.2.3, a "
                                            "private address (RFC 1918); only public internet addresses"),
    ("https://127.0.0.1:9000", ["127.0.0.1"], "export endpoint refused: 127.0.0.1 is a loopback address"),
    ("https://user:pw@minio.example.com", ["203.0.114.10"], "must not carry a user name or password"),
    ("https://minio.example.com/bucket", ["203.0.114.10"], "give the store's address only (scheme, host and port)"),
])
def test_an_endpoint_is_checked_like_an_alert_destination(endpoint: str, answer: list[str], says: str) -> None:
    with pytest.raises(DestinationRefused) as refused:
        _target(endpoint, resolve=ScriptedResolver(answer))
    assert says in str(refused.value) and "pw" not in str(refused.value)


def test_private_endpoints_are_for_tests_and_the_demo_and_metadata_stays_refused() -> None:
    assert _target("http://127.0.0.1:9000", LENIENT, resolve=ScriptedResolver(["127.0.0.1"])).endpoint
    with pytest.raises(DestinationRefused, match=r"169\.254\.169\.254, a cloud metadata service address"):
        _target("http://metadata.example.com", LENIENT, resolve=ScriptedResolver(["169.254.169.254"]))


def test_a_cloud_storage_https_endpoint_must_be_googles_own_as_it_cannot_be_pinned() -> None:
    def gcs(endpoint: str, policy: DestinationPolicy = STRICT) -> StoreTarget:
        return check_target("gcs", "halton-exports", "", None, endpoint, policy, resolve=PUBLIC)

    for google in ("https://storage.us-east1.rep.googleapis.com", "https://storage-acme.p.googleapis.com"):
        assert gcs(google).endpoint is not None
    for other in ("https://gcs.example.com", "https://googleapis.com.evil.test", "https://evilgoogleapis.com"):
        with pytest.raises(DestinationRefused, match="a Cloud Storage endpoint must be one of Google's"):
            gcs(other, LENIENT)
    assert gcs("http://127.0.0.1:4443", LENIENT).endpoint is not None  # the emulator: tests and the demo


def test_a_region_is_a_region_name() -> None:
    assert _target(None, region="eu-west-1").region == "eu-west-1"
    with pytest.raises(DestinationRefused, match="the region 'eu west' is not a region name like 'eu-west-1'"):
        _target(None, region="eu west")


def test_credentials_never_print_pickle_or_copy_out() -> None:
    s3 = parse_credentials("s3", json.dumps({"access_key_id": "AKIAEXAMPLEKEY0001", "secret_access_key": "SeCrEt"}),
                           "s3://halton-exports")
    gcs = parse_credentials("gcs", service_account_json("x@p.iam.gserviceaccount.com"), "gs://halton-exports")
    assert isinstance(s3, S3Credentials) and isinstance(gcs, GcsServiceAccount)
    assert repr(s3) == "S3Credentials('…0001')" and "SeCrEt" not in f"{s3} {[s3]}"
    assert repr(gcs) == "GcsServiceAccount('x@p.iam.gserviceaccount.com')" and "PRIVATE" not in f"{gcs} {[gcs]}"
    for holder in (s3, gcs):
        with pytest.raises(TypeError, match="never pickled"):
            pickle.dumps(holder)
        assert copy.deepcopy(holder) is holder


@pytest.mark.parametrize(("kind", "stored", "says"), [
    ("s3", "not json", "are not JSON"),
    ("s3", "[1]", "are not a JSON object"),
    ("s3", '{"access_key_id": "AKIA"}', "lack access_key_id or secret_access_key"),
    ("gcs", '{"type": "authorized_user", "refresh_token": "r-SECRET"}', "are not a service-account key"),
    ("gcs", json.dumps({"type": "service_account", "client_email": "x@p", "private_key_id": "k",
                        "private_key": "-----BEGIN PRIVATE KEY-----\nSECRETGARBAGE\n-----END PRIVATE KEY-----\n"}),
     "the private key stored for gs://b does not load"),
])
def test_malformed_credentials_are_refused_without_quoting_them(kind: str, stored: str, says: str) -> None:
    with pytest.raises(StoreRefused) as refused:
        parse_credentials(kind, stored, "gs://b" if kind == "gcs" else "s3://b")
    assert says in str(refused.value) and "again in the dashboard" in str(refused.value)
    assert "SECRET" not in str(refused.value) and "AKIA" not in str(refused.value)
