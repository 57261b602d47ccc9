"""Sentry, when SENTRY_DSN is set: errors and Celery beat monitors, with secrets scrubbed."""

from __future__ import annotations

import re
from typing import Any

from workers.settings import Settings

SECRET_KEYS = [
    "admin_key", "admin_key_ciphertext", "database_url", "redis_url", "encryption_key", "halton_encryption_key",
    "sentry_dsn", "authorization", "x-api-key", "api_key", "password", "secret", "token",
]
_URL_PASSWORD = re.compile(r"(//[^:/@\s]*):[^@\s]*@")
_PROVIDER_KEY = re.compile(r"\b(sk-(?:ant-)?[A-Za-z0-9_-]{6})[A-Za-z0-9_-]+")


def scrub_text(text: str) -> str:
    """Remove URL passwords and provider keys from free text (messages, exception values)."""
    return _PROVIDER_KEY.sub(r"\1…", _URL_PASSWORD.sub(r"\1:***@", text))


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {key: _scrub(item) for key, item in value.items()}
    if isinstance(value, list):
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
        event_scrubber=EventScrubber(denylist=[*DEFAULT_DENYLIST, *SECRET_KEYS], recursive=True),
        before_send=before_send,  # type: ignore[arg-type]
    )
    return True
