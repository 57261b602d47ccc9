"""Sentry, when SENTRY_DSN is set: errors and Celery beat monitors, with secrets scrubbed (issue 16 item 4).

Three layers, because each misses what the next catches: no local variables are sent at all (a frame's
`conninfo` or decrypted key would otherwise travel); the SDK's EventScrubber drops known names; and
`before_send` walks the whole event, dropping the value of any key whose name says secret
(workers/runtime/scrub.py::secret_name: conninfo, dsn, password, *_secret, *_key, …) and scrubbing every string
(workers/runtime/scrub.py::scrub_text: key=value secrets, URL passwords, Slack webhooks, AWS and GCS credentials,
provider keys).
"""

from __future__ import annotations

from typing import Any

from workers.runtime.scrub import scrub_text, secret_name
from workers.settings import Settings

__all__ = ["SECRET_KEYS", "before_send", "init_sentry", "scrub_text"]

SECRET_KEYS = [
    "admin_key", "admin_key_ciphertext", "database_url", "redis_url", "encryption_key", "encryption_keys",
    "halton_encryption_key", "halton_encryption_keys", "halton_owner_database_url", "sentry_dsn", "dsn",
    "conninfo", "authorization", "x-api-key", "api_key", "password", "secret", "token", "private_key",
    "client_secret", "aws_secret_access_key", "url_ciphertext", "secret_ciphertext", "signing_secret",
]
FILTERED = "[Filtered]"


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {key: FILTERED if isinstance(key, str) and secret_name(key) and item is not None else _scrub(item)
                for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(item) for item in value]
    return value


def before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    scrubbed = _scrub(event)
    if not isinstance(scrubbed, dict):  # _scrub keeps a value's type
        raise TypeError(f"scrubbing turned a Sentry event into a {type(scrubbed).__name__}")
    return scrubbed


def init_sentry(settings: Settings, component: str) -> bool:
    if settings.sentry_dsn is None:
        return False
    import sentry_sdk  # heavy: sentry_sdk, if configured
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.scrubber import DEFAULT_DENYLIST, EventScrubber

    sentry_sdk.init(
        dsn=settings.sentry_dsn.get_secret_value(),
        environment=settings.sentry_environment,
        server_name=component,
        integrations=[CeleryIntegration(monitor_beat_tasks=True)],
        include_local_variables=False,  # a frame's variables are where decrypted secrets and conninfo live
        event_scrubber=EventScrubber(denylist=[*DEFAULT_DENYLIST, *SECRET_KEYS], recursive=True),
        before_send=before_send,  # type: ignore[arg-type]
        before_send_transaction=before_send,  # type: ignore[arg-type]
        before_breadcrumb=_scrub_breadcrumb,
    )
    return True


def _scrub_breadcrumb(crumb: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    scrubbed = _scrub(crumb)
    return scrubbed if isinstance(scrubbed, dict) else {}  # a dict scrubs to a dict
