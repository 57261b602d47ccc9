"""The checks an export destination's bucket name, prefix, object keys and region pass before anything is sent
(issue 19 item 5; the endpoint is checked like an alert destination: adapters/destinations.py).

Bucket names follow the stores' own rules, so a typo is refused here with a sentence rather than by the store
with an error code: S3's general-purpose bucket naming rules
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html) and Cloud Storage's
(https://cloud.google.com/storage/docs/buckets#naming). A prefix or key never holds `..`, a leading `/`, `//`,
`%` or a control character: a store takes them literally, but the tools that read the bucket do not (a
consumer that joins paths, a console that decodes `%2F`), so an object could land or be read elsewhere.
Every refusal is a `DestinationRefused` (a person must fix the destination in the dashboard).
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata

from adapters.destinations import DestinationRefused

KINDS = ("s3", "gcs")
SCHEMES = {"s3": "s3", "gcs": "gs"}

_S3_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_S3_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_S3_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
_GCS_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*[a-z0-9]")
_GCS_COMPONENT = re.compile(r"[a-z0-9_-]{1,63}")
_REGION = re.compile(r"[a-z]{2,}(-[a-z0-9]+)*-[0-9]+")
MAX_KEY_BYTES = 1024  # both stores' limit on an object name, the prefix included


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise DestinationRefused(f"export destination refused: its kind is {kind!r}; it must be 's3' or 'gcs'")
    return kind


def check_bucket(kind: str, bucket: str) -> str:
    """`bucket` if it is a valid name for that store, else a refusal saying which rule it breaks."""
    check_kind(kind)
    store = "S3" if kind == "s3" else "Cloud Storage"
    shown = repr(bucket[:80])

    def refuse(rule: str) -> DestinationRefused:
        return DestinationRefused(f"export destination refused: the bucket name {shown} is not a valid {store} "
                                  f"bucket name ({rule}); correct it in the dashboard")

    if kind == "s3":
        if not 3 <= len(bucket) <= 63:
            raise refuse("it must be 3 to 63 characters long")
        if not _S3_NAME.fullmatch(bucket):
            raise refuse("only lowercase letters, digits, dots and hyphens, beginning and ending with a letter or "
                         "digit")
        if ".." in bucket or ".-" in bucket or "-." in bucket:
            raise refuse("no two adjacent dots, and no dot next to a hyphen")
        if bucket.startswith(_S3_RESERVED_PREFIXES) or bucket.endswith(_S3_RESERVED_SUFFIXES):
            raise refuse("it begins or ends with a form S3 reserves")
    else:
        if not 3 <= len(bucket) <= 222:
            raise refuse("it must be 3 to 63 characters long, or up to 222 with dots")
        if not _GCS_NAME.fullmatch(bucket):
            raise refuse("only lowercase letters, digits, dashes, underscores and dots, beginning and ending with "
                         "a letter or digit")
        if not all(_GCS_COMPONENT.fullmatch(part) for part in bucket.split(".")):
            raise refuse("each dot-separated part must be 1 to 63 characters long")
        if bucket.startswith("goog") or "google" in bucket or "g00gle" in bucket:
            raise refuse("it must not begin with 'goog' or contain 'google'")
    try:
        ipaddress.ip_address(bucket)
    except ValueError:
        return bucket
    raise refuse("it must not look like an IP address")


def check_prefix(prefix: str, what: str = "prefix") -> str:
    """The prefix without a trailing `/` ('' for none), or a refusal naming the character or sequence."""
    if not prefix:
        return ""
    trimmed = prefix[:-1] if prefix.endswith("/") and not prefix.endswith("//") else prefix
    _check_path(trimmed or prefix, what)
    return trimmed


def check_key(key: str) -> str:
    """An object key relative to the destination's prefix: the same rules, and never empty."""
    if not key:
        raise DestinationRefused("export refused: an object key is empty")
    _check_path(key, "object key")
    return key


def _check_path(path: str, what: str) -> None:
    shown = repr(path[:120])

    def refuse(rule: str) -> DestinationRefused:
        return DestinationRefused(f"export destination refused: the {what} {shown} {rule}; correct it in the "
                                  "dashboard (or on the command line)")

    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in path):
        raise refuse("holds a control character")
    if path.startswith("/"):
        raise refuse("begins with '/': give it relative to the bucket, e.g. 'exports/halton'")
    if "//" in path:
        raise refuse("holds '//' (an empty path segment)")
    if ".." in path:
        raise refuse("holds '..'")
    if "%" in path:
        raise refuse("holds '%' (percent-encoding is not decoded: write the characters themselves)")
    if len(path.encode("utf-8")) > MAX_KEY_BYTES:
        raise refuse(f"is longer than {MAX_KEY_BYTES} bytes")


def check_region(region: str | None) -> str | None:
    if region is None or region == "":
        return None
    if not _REGION.fullmatch(region) or len(region) > 32:
        raise DestinationRefused(f"export destination refused: the region {region[:40]!r} is not a region name "
                                 "like 'eu-west-1'; correct it in the dashboard")
    return region


def parse_bucket_url(url: str) -> tuple[str, str, str]:
    """(kind, bucket, prefix) of `s3://bucket/prefix` or `gs://bucket/prefix`, each checked."""
    scheme, sep, rest = url.partition("://")
    kinds = {v: k for k, v in SCHEMES.items()}
    if not sep or scheme not in kinds:
        raise DestinationRefused(f"export destination refused: {url[:80]!r} is not an s3://bucket/prefix or "
                                 "gs://bucket/prefix URL")
    bucket, _, prefix = rest.partition("/")
    kind = kinds[scheme]
    return kind, check_bucket(kind, bucket), check_prefix(prefix)
