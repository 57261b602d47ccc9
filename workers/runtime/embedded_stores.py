"""An S3-protocol server and a Cloud Storage emulator as local processes, for the tests and the demo (issue 19).

Both come from the `local` extra (never the production image), run as children of this process on
127.0.0.1 and are stopped by process id:
- S3: moto's server (`python -m moto.server`), with its authentication on: the first three requests (made
  here) create an IAM user with a policy allowing s3:* and an access key, and from then on a request signed
  with any other key is refused (InvalidAccessKeyId) as AWS would;
- Cloud Storage: gcp-storage-emulator (the JSON API, which pyarrow's GcsFileSystem speaks). It accepts any
  token: it cannot check credentials, so a wrong key is tested against the S3 server only.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from core.errors import ConfigError
from workers.runtime.embedded import free_port, stop_process

log = logging.getLogger(__name__)

# moto counts requests without authentication from its start: these three create the user and its key
_NO_AUTH_REQUESTS = 3
_S3_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}


@dataclass
class EmbeddedS3:
    process: subprocess.Popen[bytes]
    port: int
    access_key_id: str = field(repr=False)
    secret_access_key: str = field(repr=False)
    region: str = "us-east-1"

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def credentials_json(self) -> str:
        """What the dashboard stores (sealed) for a destination on this server."""
        return json.dumps({"access_key_id": self.access_key_id, "secret_access_key": self.secret_access_key})

    def client(self) -> Any:
        """A boto3 client with this server's key: for tests and the demo to look at what was written."""
        import boto3  # the local extra (moto's dependency)

        return boto3.client("s3", endpoint_url=self.endpoint_url, region_name=self.region,
                            aws_access_key_id=self.access_key_id, aws_secret_access_key=self.secret_access_key)

    def create_bucket(self, name: str) -> None:
        self.client().create_bucket(Bucket=name)

    def stop(self) -> None:
        stop_process(self.process.pid, self.process, grace=2.0)


@dataclass
class EmbeddedGcs:
    process: subprocess.Popen[bytes]
    port: int
    project: str = "halton-local"

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def create_bucket(self, name: str) -> None:
        answer = httpx.post(f"{self.endpoint_url}/storage/v1/b", params={"project": self.project},
                            json={"name": name}, timeout=10, trust_env=False)
        answer.raise_for_status()

    def read(self, bucket: str, key: str) -> bytes | None:
        """An object's bytes straight from the emulator (what a consumer of the bucket reads), or None."""
        answer = httpx.get(f"{self.endpoint_url}/download/storage/v1/b/{bucket}/o/{_quoted(key)}",
                           params={"alt": "media"}, timeout=10, trust_env=False)
        if answer.status_code == 404:
            return None
        answer.raise_for_status()
        return answer.content

    def stop(self) -> None:
        stop_process(self.process.pid, self.process, grace=2.0)


def _quoted(key: str) -> str:
    return httpx.URL("http://h/").copy_with(path="/" + key).raw_path.decode()[1:].replace("/", "%2F")


def service_account_json(email: str = "exports@halton-local.iam.gserviceaccount.com") -> str:
    """A service-account key made here (a fresh RSA key), in Google's JSON form: the emulator's credentials."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return json.dumps({"type": "service_account", "project_id": "halton-local", "private_key_id": "local-key",
                       "private_key": pem, "client_email": email, "client_id": "1",
                       "token_uri": "https://oauth2.googleapis.com/token"})


def start_s3(port: int | None = None, log_dir: Path | None = None) -> EmbeddedS3:
    """moto's S3 server on 127.0.0.1, with authentication on and one IAM user allowed s3:*."""
    try:
        import boto3  # noqa: F401  the local extra
        import moto.server  # noqa: F401
    except ImportError:
        raise ConfigError("the embedded S3 server is not installed (a development extra: pip install "
                          "'halton-workers[local]', or make demo)") from None
    port = port or free_port()
    env = {"INITIAL_NO_AUTH_ACTION_COUNT": str(_NO_AUTH_REQUESTS), "MOTO_CALL_RESET_API": "false",
           "PATH": "/usr/bin:/bin", "PYTHONUNBUFFERED": "1"}
    process = _spawn([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], env, log_dir,
                     "moto-s3.log")
    _wait_for(process, lambda: httpx.get(f"http://127.0.0.1:{port}/moto-api/", timeout=1, trust_env=False),
              "the embedded S3 server")
    try:
        key_id, secret = _iam_user(port)
    except Exception:
        stop_process(process.pid, process, grace=5.0)
        raise
    return EmbeddedS3(process, port, key_id, secret)


def _iam_user(port: int) -> tuple[str, str]:
    import boto3

    iam = boto3.client("iam", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                       aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
    iam.create_user(UserName="halton-exports")
    iam.put_user_policy(UserName="halton-exports", PolicyName="s3", PolicyDocument=json.dumps(_S3_POLICY))
    key = iam.create_access_key(UserName="halton-exports")["AccessKey"]
    return str(key["AccessKeyId"]), str(key["SecretAccessKey"])


def start_gcs(port: int | None = None, log_dir: Path | None = None) -> EmbeddedGcs:
    """gcp-storage-emulator on 127.0.0.1, in memory."""
    try:
        import gcp_storage_emulator  # noqa: F401  the local extra
    except ImportError:
        raise ConfigError("the embedded Cloud Storage emulator is not installed (a development extra: pip "
                          "install 'halton-workers[local]', or make demo)") from None
    port = port or free_port()
    process = _spawn([sys.executable, "-m", "gcp_storage_emulator", "start", "--host", "127.0.0.1", "--port",
                      str(port), "--in-memory", "--quiet"], {"PATH": "/usr/bin:/bin"}, log_dir, "gcs.log")
    _wait_for(process, lambda: httpx.get(f"http://127.0.0.1:{port}/storage/v1/b", params={"project": "x"},
                                         timeout=1, trust_env=False), "the embedded Cloud Storage emulator")
    return EmbeddedGcs(process, port)


def _spawn(argv: list[str], env: dict[str, str], log_dir: Path | None, name: str) -> subprocess.Popen[bytes]:
    """A child in its own session, its output to `log_dir`/`name` (or nowhere); no AWS_*/GOOGLE_* variable
    of ours reaches it."""
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True)
        with open(log_dir / name, "ab") as out:
            return subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    return subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def _wait_for(process: subprocess.Popen[bytes], probe: Callable[[], httpx.Response], what: str,
              seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        if process.poll() is not None:
            raise ConfigError(f"{what} exited at start (code {process.returncode})")
        try:
            if probe().status_code < 500:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            stop_process(process.pid, process, grace=5.0)
            raise ConfigError(f"{what} did not answer within {seconds:g}s")
        time.sleep(0.1)
