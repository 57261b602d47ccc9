"""What a failed request to an export bucket means, in words a person can act on (issue 19 item 6).

- `StoreRefused` (a UserError): the bucket does not exist, refuses the credentials, lies in another region, or
  the credentials are malformed. The export run fails with this sentence (stored on its run row, shown in the
  dashboard); nothing is retried now, and the next night tries again, after someone fixed the destination.
- `StoreUnavailable` (a TransientError): the store kept answering 5xx, throttling or timing out after the
  client's own retries; the task's backoff retries it later.
- `StoreFailed` (a FleetError, not for customers): an error code not recognised here, quoted for the operators.

The client's text (pyarrow's, which carries the store's error code) goes to the operators' log only, with any
credential the caller names replaced; the sentences here name the bucket, never a credential.
"""

from __future__ import annotations

import re

from core.errors import FleetError, TransientError, UserError


class StoreRefused(UserError):
    """The destination refuses the export: a person must fix the bucket, its credentials or its region."""


class StoreUnavailable(TransientError):
    """The store did not answer in time or kept answering with a server error: try again later."""


class StoreFailed(FleetError):
    """The store answered with an error this module does not recognise: the run fails saying so, as a fault
    for the operators to look at (its text quotes the store's error code, so it is not for customers)."""


_MISSING_BUCKET = re.compile(r"NO_SUCH_BUCKET|NoSuchBucket|bucket does not exist|The specified bucket", re.I)
_CREDENTIALS = re.compile(r"INVALID_ACCESS_KEY_ID|InvalidAccessKeyId|SIGNATURE_DOES_NOT_MATCH|SignatureDoesNotMatch|"
                          r"UNAUTHENTICATED|HTTP status code: 401|INVALID_CLIENT_TOKEN_ID|EXPIRED_TOKEN|"
                          r"InvalidToken|Invalid Credentials", re.I)
_DENIED = re.compile(r"ACCESS_DENIED|AccessDenied|PERMISSION_DENIED|HTTP status code: 403|Forbidden", re.I)
_REGION = re.compile(r"PermanentRedirect|AuthorizationHeaderMalformed|IllegalLocationConstraint|"
                     r"HTTP response code: 301|wrong region|region", re.I)
_TRANSIENT = re.compile(r"SERVICE_UNAVAILABLE|SLOW_DOWN|SlowDown|INTERNAL_FAILURE|InternalError|"
                        r"NETWORK_CONNECTION|REQUEST_TIME_TOO_SKEWED|THROTTLING|curlCode|timed? ?out|timeout|"
                        r"UNAVAILABLE|DEADLINE_EXCEEDED|RESOURCE_EXHAUSTED|HTTP status code: 5\d\d|"
                        r"HTTP response code: 5\d\d|Connection refused|connection reset|Couldn't connect", re.I)


def redacted(text: str, secrets: tuple[str, ...]) -> str:
    """`text` with every secret (and any run of it long enough to matter) replaced by '…'."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "…")
    return text


def classify(text: str, action: str, kind: str, bucket: str, where: str, key: str) -> Exception:
    """The error to raise for a failed `action` ('write', 'read') of `key`, from the client's (redacted) text."""
    store = "S3" if kind == "s3" else "Cloud Storage"
    if _MISSING_BUCKET.search(text):
        return StoreRefused(f"export to {where} failed: the bucket {bucket} does not exist on {store}; create it, "
                            "or correct the destination's bucket in the dashboard")
    if _CREDENTIALS.search(text):
        return StoreRefused(f"export to {where} failed: {store} did not accept the destination's credentials for "
                            f"bucket {bucket} (unknown or revoked key); enter valid credentials in the dashboard")
    if _DENIED.search(text):
        return StoreRefused(f"export to {where} failed: {store} refused the destination's credentials to {action} "
                            f"in bucket {bucket} (an unknown or revoked key, or one without permission); give them "
                            f"{_permission(kind, action)} on the bucket, or enter other credentials in the "
                            "dashboard")
    if _TRANSIENT.search(text):
        return StoreUnavailable(f"export to {where}: {store} is unavailable ({action} of {key} kept failing with "
                                "a server error or timeout); it is tried again later")
    if kind == "s3" and _REGION.search(text):
        return StoreRefused(f"export to {where} failed: bucket {bucket} is in another region than the "
                            "destination's; set the destination's region to the bucket's in the dashboard")
    return StoreFailed(f"export to {where} failed: {store} refused to {action} {key} ({_code(text)}); check the "
                       "bucket's settings, or ask the operators to look at the worker's log")


def _permission(kind: str, action: str) -> str:
    if kind == "s3":
        return "s3:PutObject and s3:GetObject" if action == "write" else "s3:GetObject and s3:ListBucket"
    return "storage.objects.create, storage.objects.delete and storage.objects.get"


def _code(text: str) -> str:
    """The store's error code in the client's text (e.g. 'INVALID_BUCKET_NAME'), or a generic phrase."""
    match = re.search(r"AWS Error ([A-Z_]+)|google::cloud::Status\(([A-Z_]+)", text)
    return (match.group(1) or match.group(2)) if match else "an unrecognised error"
