"""How much of a billing export or a billing API answer the fleet reads before refusing it (issue 16).

An export file and an API answer are input from outside: the bounds keep a hostile or broken one from
stalling the billing queue or taking the worker's memory. Each refusal names the limit it met, as a
quantity a person can act on ("split it by month"); workers/settings/billing.py reads them from HALTON_BILLING_*.

The defaults let a 1 GiB pod read the largest export allowed (bench/bench_exports.py measures it): the
reader streams, so memory follows the days and line items kept, not the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from core.errors import ConfigError

OPENAI_BASE_URL = "https://api.openai.com"
ANTHROPIC_BASE_URL = "https://api.anthropic.com"
BASE_URLS = {"openai": OPENAI_BASE_URL, "anthropic": ANTHROPIC_BASE_URL}
CSV_FIELD_LIMIT = 131_072  # Python's csv module refuses longer fields itself (csv.field_size_limit())


@dataclass(frozen=True)
class BillingLimits:
    max_export_bytes: int = 50_000_000  # an export file, as uploaded (a month of a busy account is a few MB)
    max_rows: int = 1_000_000  # data rows of an export, or results of a pull across its pages
    max_field_chars: int = 16_384  # one CSV field or one JSON string (a label, a credits list)
    max_json_depth: int = 32  # nesting of a JSON answer or of an export's credits (the documented ones: 6)
    max_response_bytes: int = 16 * 2**20  # one page of a billing API's answer, decompressed

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if value <= 0:
                raise ValueError(f"{name} must be positive")
        if self.max_field_chars > CSV_FIELD_LIMIT:
            raise ValueError(f"max_field_chars may be at most {CSV_FIELD_LIMIT:,} (the csv module's own limit)")


@dataclass(frozen=True)
class HttpPolicy:
    """How the billing clients talk HTTP: https only (unless allowed, for tests and the demo), no proxy or
    certificate settings from the environment, and a timeout on every step."""

    allow_insecure_http: bool = False
    connect_timeout: float = 10.0  # seconds to open the TCP and TLS connection
    read_timeout: float = 30.0  # seconds between two reads of the answer
    write_timeout: float = 30.0  # seconds between two writes of the request
    pool_timeout: float = 10.0  # seconds to wait for a free connection of the client's pool
    deadline: float = 120.0  # seconds for a whole answer, however slowly it trickles in


def checked_base_url(provider: str, base_url: str, allow_insecure_http: bool = False) -> str:
    """The base URL of a billing API if it is https (or http, when allowed); ConfigError otherwise. The
    message shows the scheme, host and port only: never a user or password the URL may hold."""
    try:
        url = urlsplit(base_url)
        shown = f"{url.scheme}://{url.hostname or ''}{f':{url.port}' if url.port else ''}"
    except ValueError:
        raise ConfigError(f"the {provider} billing API's base URL is not a URL") from None
    if url.scheme == "https" and url.hostname:
        return base_url
    if url.scheme == "http" and url.hostname:
        if allow_insecure_http:
            return base_url
        raise ConfigError(f"the {provider} billing API's base URL {shown} is not https: the admin key would cross "
                          "the network in clear (HALTON_ALLOW_INSECURE_HTTP=true allows http for tests and the "
                          "demo, never in production)")
    raise ConfigError(f"the {provider} billing API's base URL {shown} is not an https:// URL")
