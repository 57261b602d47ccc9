"""Writing export objects to a customer's S3 or Cloud Storage bucket (issue 19 item 6), with their credentials
only.

The client library is pyarrow's filesystems (`pyarrow.fs.S3FileSystem`, `pyarrow.fs.GcsFileSystem`):
- it is already a dependency of the fleet (the exports write Parquet with it), so the production image gains
  no library, and one API covers both stores, kept by the Arrow project;
- every setting that says where requests go and with which credentials can be given explicitly, and is
  given explicitly here: the endpoint (the store's own, or the destination's checked one), the region, static
  credentials. With those set the AWS SDK never walks its default credential chain (environment, profile
  files, the container or instance metadata service) and ignores AWS_ENDPOINT_URL, AWS_SESSION_TOKEN and
  proxy variables (tests/store/test_export_sinks.py sets them all and sees no request follow them);
- the Cloud Storage client takes an access token, not a key: the token is a self-signed JWT made here from
  the service-account key (the way Google documents for service accounts without OAuth, and what Arrow's own
  object_store does), so no request goes to a token endpoint, least of all to the `token_uri` a key file names.
Not obstore: it reads AWS_* and GOOGLE_* variables at construction with no way to turn that off (seen here:
AWS_ENDPOINT, AWS_SESSION_TOKEN and AWS_ALLOW_HTTP from the worker's environment applied to a store built
with explicit settings), and no Cloud Storage emulator on PyPI accepts its XML-API uploads. Not fsspec:
s3fs and gcsfs are two more libraries (aiobotocore, google-auth) and google-auth follows the key's token_uri.

How the connection is pinned to the checked address (issue 19 item 5, as an alert webhook's is):
- an https endpoint (production's only kind): pyarrow takes no resolver, so the S3 client is given a proxy,
  `adapters/pinned_tunnel.PinnedTunnel` on 127.0.0.1, one per sink and closed with it; the AWS SDK tunnels
  every request through it (`CONNECT host:port`, TLS end to end, the certificate verified for the host
  name), and the tunnel connects to the checked addresses only, never resolving again;
- an http endpoint (admitted only with HALTON_ALLOW_PRIVATE_DESTINATIONS=true: tests, the demo): the client
  is given the checked address itself as its endpoint (the Host header then names the address; without TLS
  there is no name to verify), so there is nothing left to resolve;
- a Cloud Storage https endpoint could not be pinned (pyarrow's GcsFileSystem takes no proxy; google-cloud-cpp
  reads one only from the process's environment, refused below), so `check_target` admits only Google's own
  (a host under googleapis.com: regional, Private Service Connect). The stores' own endpoints (AWS's,
  Google's) are checked but not pinned: the provider's DNS.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import os
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow.fs as pafs
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from adapters.bucket_rules import SCHEMES, check_bucket, check_key, check_prefix, check_region
from adapters.destinations import CheckedDestination, DestinationPolicy, DestinationRefused, Resolve, check_destination
from adapters.pinned_tunnel import Connect, PinnedTunnel
from adapters.store_errors import StoreRefused, classify, redacted
from core.errors import ConfigError

log = logging.getLogger(__name__)

GCS_HOST = "storage.googleapis.com"
GCS_AUDIENCE = "https://storage.googleapis.com/"
TOKEN_SECONDS = 3600  # the longest a self-signed JWT may live; one sink serves one export run


@dataclass(frozen=True)
class StoreOptions:
    """Timeouts and retries. A 5xx, a throttle or a timeout is retried by the client itself (the AWS SDK's
    standard strategy, google-cloud-cpp's retry loop); what still fails is a StoreUnavailable, which the
    task's own backoff retries later."""

    connect_timeout: float = 10.0
    request_timeout: float = 60.0
    attempts: int = 5  # S3: tries per request, the first included
    retry_seconds: float = 120.0  # Cloud Storage: how long the client keeps retrying one request
    ca_file: str | None = None  # S3: trust only the roots in this PEM file, not the system's (tests' own CA)


class S3Credentials:
    """An access key pair that never prints, pickles or logs itself (only the key id's last four show)."""

    __slots__ = ("_key_id", "_secret")

    def __init__(self, key_id: str, secret: str) -> None:
        self._key_id, self._secret = key_id, secret

    def reveal(self) -> tuple[str, str]:
        return self._key_id, self._secret

    @property
    def hint(self) -> str:
        return f"…{self._key_id[-4:]}" if len(self._key_id) >= 12 else "…"

    def __repr__(self) -> str:
        return f"S3Credentials({self.hint!r})"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("S3 credentials are never pickled or sent anywhere")

    def __copy__(self) -> S3Credentials:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> S3Credentials:
        return self


class GcsServiceAccount:
    """A service-account key that never prints, pickles or logs itself (its e-mail shows: not a secret)."""

    __slots__ = ("_email", "_key", "_key_id")

    def __init__(self, email: str, key_id: str, key: rsa.RSAPrivateKey) -> None:
        self._email, self._key_id, self._key = email, key_id, key

    @property
    def email(self) -> str:
        return self._email

    def access_token(self, now: float | None = None) -> tuple[str, dt.datetime]:
        """A self-signed JWT for Cloud Storage and when it expires."""
        issued = int(now if now is not None else time.time())
        header = {"alg": "RS256", "typ": "JWT", "kid": self._key_id}
        claims = {"iss": self._email, "sub": self._email, "aud": GCS_AUDIENCE, "iat": issued,
                  "exp": issued + TOKEN_SECONDS}
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64(signature)}", dt.datetime.fromtimestamp(issued + TOKEN_SECONDS, dt.UTC)

    def __repr__(self) -> str:
        return f"GcsServiceAccount({self._email!r})"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("a service-account key is never pickled or sent anywhere")

    def __copy__(self) -> GcsServiceAccount:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> GcsServiceAccount:
        return self


Credentials = S3Credentials | GcsServiceAccount


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def parse_credentials(kind: str, plaintext: str, where: str) -> Credentials:
    """The stored JSON as typed credentials; a refusal that never quotes it (`where`: "s3://bucket")."""
    remedy = f"enter the credentials of {where} again in the dashboard"
    try:
        document = json.loads(plaintext)
    except ValueError:
        raise StoreRefused(f"the credentials stored for {where} are not JSON; {remedy}") from None
    if not isinstance(document, dict):
        raise StoreRefused(f"the credentials stored for {where} are not a JSON object; {remedy}")
    if kind == "s3":
        key_id, secret = document.get("access_key_id"), document.get("secret_access_key")
        if not (isinstance(key_id, str) and key_id and isinstance(secret, str) and secret):
            raise StoreRefused(f"the credentials stored for {where} lack access_key_id or secret_access_key; "
                               f"{remedy}")
        return S3Credentials(key_id, secret)
    email, key_id, pem = document.get("client_email"), document.get("private_key_id"), document.get("private_key")
    if document.get("type") != "service_account" or not all(isinstance(v, str) and v for v in (email, key_id, pem)):
        raise StoreRefused(f"the credentials stored for {where} are not a service-account key (JSON with type "
                           f"'service_account', client_email, private_key_id and private_key); {remedy}")
    try:
        key = serialization.load_pem_private_key(str(pem).encode(), password=None)
    except (ValueError, TypeError):
        raise StoreRefused(f"the private key stored for {where} does not load; {remedy}") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise StoreRefused(f"the private key stored for {where} is not an RSA key; {remedy}")
    return GcsServiceAccount(str(email), str(key_id), key)


@dataclass(frozen=True)
class StoreTarget:
    """A checked bucket: where objects go, never with a credential."""

    kind: str
    bucket: str
    prefix: str
    region: str | None
    endpoint: CheckedDestination | None  # None: the store's own public endpoint

    @property
    def url(self) -> str:
        return f"{SCHEMES[self.kind]}://{self.bucket}/{self.prefix}".rstrip("/")

    def describe(self) -> str:
        where = self.url
        return where if self.endpoint is None else f"{where} at {self.endpoint.authority}"


def check_target(kind: str, bucket: str, prefix: str, region: str | None, endpoint_url: str | None,
                 policy: DestinationPolicy, *, resolve: Resolve | None = None) -> StoreTarget:
    """Every check of issue 19 item 5, before a credential is opened or a request sent."""
    bucket = check_bucket(kind, bucket)
    prefix = check_prefix(prefix)
    region = check_region(region)
    endpoint = None
    if endpoint_url:
        endpoint = check_destination(endpoint_url, policy, label="export endpoint", resolve=resolve)
        path = endpoint.url.reveal().split("://", 1)[1].partition("/")[2]
        if path.strip("/") or "?" in endpoint_url or "#" in endpoint_url:
            raise DestinationRefused("export endpoint refused: give the store's address only (scheme, host and "
                                     "port), without a path or query; the bucket has its own field")
        if kind == "gcs" and endpoint.scheme == "https" and not _google_host(endpoint.host):
            # the Cloud Storage client takes no proxy, so an https endpoint could not be pinned to its checked
            # address (module docstring): only Google's own (regional, Private Service Connect) are admitted
            raise DestinationRefused("export endpoint refused: a Cloud Storage endpoint must be one of Google's "
                                     "(a host under googleapis.com), or left empty for storage.googleapis.com")
    return StoreTarget(kind, bucket, prefix, region, endpoint)


def _google_host(host: str) -> bool:
    return host.lower().rstrip(".").endswith(".googleapis.com")


def open_bucket(target: StoreTarget, credentials: Credentials, options: StoreOptions | None = None, *,
                connect: Connect | None = None) -> BucketSink:
    """A sink writing under `target`'s prefix with `credentials`; nothing is sent until the first put/get.
    Close it when done (an S3 sink to an https endpoint holds its pinning tunnel; it is also closed when
    the sink is garbage-collected). `connect` replaces the tunnel's TCP connect (tests route an address)."""
    chosen = options or StoreOptions()
    if target.kind == "s3":
        if not isinstance(credentials, S3Credentials):
            raise TypeError("an S3 destination needs S3Credentials")
        keys = credentials
        endpoint = target.endpoint
        tunnel = None
        if endpoint is not None and endpoint.scheme == "https":
            tunnel = PinnedTunnel(endpoint, connect_timeout=chosen.connect_timeout,
                                  idle_timeout=chosen.connect_timeout + chosen.request_timeout, connect=connect)
        try:
            return BucketSink(target, lambda: _s3_filesystem(target, keys, chosen, tunnel), tunnel)
        except BaseException:
            if tunnel is not None:
                tunnel.close()
            raise
    if not isinstance(credentials, GcsServiceAccount):
        raise TypeError("a Cloud Storage destination needs a GcsServiceAccount")
    _refuse_gcs_environment()
    account = credentials
    return BucketSink(target, lambda: _gcs_filesystem(target, account, chosen))


# a filesystem, the secrets its errors must not show, and when to build it again (a token's end), if ever
Opened = tuple[pafs.FileSystem, tuple[str, ...], float | None]
RENEW_BEFORE_SECONDS = 600  # a Cloud Storage token is replaced ten minutes before it expires


def _s3_filesystem(target: StoreTarget, credentials: S3Credentials, options: StoreOptions,
                   tunnel: PinnedTunnel | None) -> Opened:
    endpoint = target.endpoint
    key_id, secret = credentials.reveal()
    region = target.region or "us-east-1"
    filesystem = pafs.S3FileSystem(
        access_key=key_id, secret_key=secret, session_token=None, region=region,
        scheme=endpoint.scheme if endpoint else "https",
        endpoint_override=_pinned_authority(endpoint) if endpoint else f"s3.{region}.amazonaws.com",
        connect_timeout=options.connect_timeout, request_timeout=options.request_timeout,
        background_writes=False, allow_bucket_creation=False, allow_bucket_deletion=False,
        retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=options.attempts),
        # AWS itself: virtual-hosted addressing (a dotted name keeps path style, its TLS name would not
        # match); an S3-compatible endpoint or emulator: path style, which they all speak
        force_virtual_addressing=endpoint is None and "." not in target.bucket,
        # every request of an https endpoint tunnelled to its checked address (adapters/pinned_tunnel.py)
        proxy_options=tunnel.proxy_options if tunnel is not None else None,
        tls_ca_file_path=options.ca_file)
    return filesystem, (secret,), None


def _pinned_authority(endpoint: CheckedDestination) -> str:
    """host:port for the client. https: the host name (ASCII), which the tunnel pins and TLS verifies;
    http (tests and the demo only): the first checked address itself, so the client resolves nothing."""
    host = endpoint.host if endpoint.scheme == "https" else str(endpoint.addresses[0])
    return f"[{host}]:{endpoint.port}" if ":" in host else f"{host}:{endpoint.port}"


def _gcs_filesystem(target: StoreTarget, account: GcsServiceAccount, options: StoreOptions) -> Opened:
    endpoint = target.endpoint
    token, expires = account.access_token()
    filesystem = pafs.GcsFileSystem(
        access_token=token, credential_token_expiration=expires,
        scheme=endpoint.scheme if endpoint else "https",
        endpoint_override=_pinned_authority(endpoint) if endpoint else GCS_HOST,
        retry_time_limit=dt.timedelta(seconds=options.retry_seconds))
    return filesystem, (token,), expires.timestamp() - RENEW_BEFORE_SECONDS


# google-cloud-cpp (under pyarrow's GcsFileSystem) lets these variables of the worker's environment override
# the endpoint given to it, and libcurl sends its requests through a proxy they name: an export would go
# where the operator's environment says, with the customer's token. Refused rather than followed.
GCS_ENVIRONMENT = ("CLOUD_STORAGE_EMULATOR_ENDPOINT", "CLOUD_STORAGE_GRPC_ENDPOINT", "http_proxy", "HTTP_PROXY",
                   "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY")


def _refuse_gcs_environment() -> None:
    found = [name for name in GCS_ENVIRONMENT if os.environ.get(name)]
    if found:
        raise ConfigError(f"{', '.join(found)} set in the worker's environment would redirect exports to Cloud "
                          "Storage (the client library reads them); unset them for the workers")


class BucketSink:
    """`put`, `get` and `describe` of the exports' ObjectSink protocol over one bucket and prefix.

    Keys are relative to the prefix and checked (adapters/bucket_rules.py); a put replaces the object whole
    (the upload is committed only when complete). Errors: StoreRefused (a person must act: the bucket, the
    credentials, the region), StoreUnavailable (retried later), each naming the bucket, never a credential."""

    __slots__ = ("__weakref__", "_close_tunnel", "_connect", "_fs_now", "_renew_at", "_secrets", "_target",
                 "_tunnel")

    def __init__(self, target: StoreTarget, connect: Callable[[], Opened], tunnel: PinnedTunnel | None = None) -> None:
        self._target, self._connect, self._tunnel = target, connect, tunnel
        self._fs_now, self._secrets, self._renew_at = connect()
        # the tunnel (its listener and threads) ends with the sink, whether or not close() is called
        self._close_tunnel = weakref.finalize(self, tunnel.close) if tunnel is not None else None

    def close(self) -> None:
        """Close the pinning tunnel, if any (an S3 sink to an https endpoint sends nothing after it)."""
        if self._close_tunnel is not None:
            self._close_tunnel()

    def __enter__(self) -> BucketSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def tunnel(self) -> PinnedTunnel | None:
        """The pinning tunnel of an https S3 endpoint (what tests look at)."""
        return self._tunnel

    @property
    def _fs(self) -> pafs.FileSystem:
        """The filesystem, built again with a fresh token when the one it has is about to expire."""
        if self._renew_at is not None and time.time() >= self._renew_at:
            self._fs_now, self._secrets, self._renew_at = self._connect()
        return self._fs_now

    @property
    def target(self) -> StoreTarget:
        return self._target

    def describe(self) -> str:
        return self._target.url

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        try:
            with self._fs.open_output_stream(path, metadata={"Content-Type": content_type}) as out:
                out.write(data)
        except FileNotFoundError as error:  # Cloud Storage: the upload could not start (no such bucket?)
            self._check_bucket("write", key)
            raise self._failure(error, "write", key) from None
        except OSError as error:
            raise self._failure(error, "write", key) from None
        log.debug("wrote %s bytes to %s/%s", len(data), self.describe(), key)

    def get(self, key: str) -> bytes | None:
        path = self._path(key)
        try:
            with self._fs.open_input_stream(path) as source:
                return bytes(source.read())
        except FileNotFoundError:
            pass
        except OSError as error:
            raise self._failure(error, "read", key) from None
        self._check_bucket("read", key)  # a missing object and a missing bucket look alike to a read
        return None

    def _check_bucket(self, action: str, key: str) -> None:
        try:
            info = self._fs.get_file_info(self._target.bucket)
        except OSError as error:
            raise self._failure(error, action, key) from None
        if info.type == pafs.FileType.NotFound:
            raise self._failure(FileNotFoundError("NO_SUCH_BUCKET"), action, key)

    def _path(self, key: str) -> str:
        key = check_key(key)
        prefix = self._target.prefix
        return f"{self._target.bucket}/{prefix}/{key}" if prefix else f"{self._target.bucket}/{key}"

    def _failure(self, error: OSError, action: str, key: str) -> Exception:
        text = redacted(str(error), self._secrets)
        log.warning("export %s of %s/%s failed: %s", action, self.describe(), key, text)
        return classify(text, action, self._target.kind, self._target.bucket, self._target.describe(), key)

    def __repr__(self) -> str:
        return f"BucketSink({self._target.describe()!r})"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("a bucket sink holds credentials: it is opened where it is used, never pickled")
