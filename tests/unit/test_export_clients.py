"""The clients an export sink builds (issue 19 item 1): for a destination on the store's own service (no
endpoint_url), every option that says where requests go and with which credentials is explicit, so nothing
is left for the AWS SDK or google-cloud-cpp to look up (environment, profile files, a metadata service).
Building a sink sends nothing: these run without any server. What the requests then carry is tested against
real stores in tests/store/test_export_sinks.py."""

from __future__ import annotations

import base64
import json
import pickle
from typing import Any

import pytest

from adapters.destinations import DestinationPolicy
from adapters.object_stores import GCS_ENVIRONMENT, BucketSink, check_target, open_bucket, parse_credentials
from workers.runtime.embedded_stores import service_account_json

KEYS = json.dumps({"access_key_id": "AKIAEXAMPLEKEY0001", "secret_access_key": "EXAMPLE-secret-0001"})


def options(sink: BucketSink) -> dict[str, Any]:
    """The options pyarrow's filesystem was built with (what it would pickle: never sent anywhere here)."""
    reduced = sink._fs_now.__reduce__()
    return dict(reduced[1][0])


@pytest.mark.parametrize(("region", "bucket", "virtual"), [("eu-west-1", "halton-exports", True),
                                                           (None, "halton.exports", False)])
def test_an_s3_sink_on_aws_names_its_endpoint_region_and_static_keys(region: str | None, bucket: str,
                                                                     virtual: bool) -> None:
    target = check_target("s3", bucket, "exports", region, None, DestinationPolicy())
    sink = open_bucket(target, parse_credentials("s3", KEYS, target.url))
    built = options(sink)
    expected_region = region or "us-east-1"
    assert built["region"] == expected_region and built["scheme"] == "https"
    assert built["endpoint_override"] == f"s3.{expected_region}.amazonaws.com"
    assert built["force_virtual_addressing"] is virtual  # a dotted bucket keeps path style (TLS names)
    assert (built["access_key"], built["secret_key"]) == ("AKIAEXAMPLEKEY0001", "EXAMPLE-secret-0001")
    assert built["session_token"] == "" and built["role_arn"] == "" and built["anonymous"] is False
    assert built["proxy_options"]["host"] == "" and built["allow_bucket_creation"] is False
    assert sink.describe() == f"s3://{bucket}/exports"
    assert "EXAMPLE-secret" not in repr(sink)
    with pytest.raises(TypeError, match="never pickled"):
        pickle.dumps(sink)


def test_a_cloud_storage_sink_names_googles_endpoint_and_carries_a_self_signed_token(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in GCS_ENVIRONMENT:  # a machine's proxy settings would make the sink refuse to open
        monkeypatch.delenv(name, raising=False)
    key = service_account_json("exports@acme.iam.gserviceaccount.com")
    target = check_target("gcs", "halton-exports", "", None, None, DestinationPolicy())
    sink = open_bucket(target, parse_credentials("gcs", key, target.url))
    built = options(sink)
    assert built["endpoint_override"] == "storage.googleapis.com" and built["scheme"] == "https"
    assert built["anonymous"] is False and built["target_service_account"] == ""
    header, claims, signature = built["access_token"].split(".")
    assert json.loads(base64.urlsafe_b64decode(header + "==")) == {"alg": "RS256", "typ": "JWT", "kid": "local-key"}
    decoded = json.loads(base64.urlsafe_b64decode(claims + "=="))
    assert decoded["iss"] == decoded["sub"] == "exports@acme.iam.gserviceaccount.com"
    assert decoded["aud"] == "https://storage.googleapis.com/" and decoded["exp"] - decoded["iat"] == 3600
    assert built["credential_token_expiration"].timestamp() == decoded["exp"]
    assert json.loads(key)["private_key"] not in repr(sink) and signature
    assert sink.describe() == "gs://halton-exports"
