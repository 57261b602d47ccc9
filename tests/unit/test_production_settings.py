"""HALTON_ENV=production holds the broker and the worker's role to the hardening rules; development does not."""

from __future__ import annotations

import pytest

from core.errors import ConfigError
from workers.settings import Settings, database_url_only, get_settings

DATABASE_URL = "postgresql://halton_fleet:pw@db/halton"
SECURE = "rediss://:s3cret@broker:6380/0?ssl_cert_reqs=required"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "REDIS_URL", "SENTRY_DSN", "HALTON_ENCRYPTION_KEY", "HALTON_VISIBILITY_TIMEOUT",
                 "HALTON_NIGHTLY_SCHEDULE", "HALTON_ENV", "HALTON_ALLOW_PRIVILEGED_WORKER",
                 "HALTON_OWNER_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", DATABASE_URL)
    get_settings.cache_clear()


def settings_with(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    return get_settings()


def refusal(monkeypatch: pytest.MonkeyPatch, **env: str) -> str:
    with pytest.raises(ConfigError) as caught:
        settings_with(monkeypatch, **env)
    return str(caught.value)


def test_development_is_the_default_and_takes_a_bare_local_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_with(monkeypatch, REDIS_URL="redis://127.0.0.1:6379/0")
    assert settings.environment == "development"
    assert settings.allow_privileged_worker is False


@pytest.mark.parametrize("url", [
    "rediss://broker:6380/0?ssl_cert_reqs=none",
    "rediss://broker:6380/0?ssl_cert_reqs=optional",
    "redis://127.0.0.1:6379/0",
])
def test_development_lets_a_broker_go_without_password_or_certificate_checks(
        monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    assert settings_with(monkeypatch, REDIS_URL=url, HALTON_ENV="development").redis_url == url


@pytest.mark.parametrize("url", [
    SECURE,
    "rediss://fleet:s3cret@broker:6380/0?ssl_cert_reqs=CERT_REQUIRED&ssl_ca_certs=/etc/ssl/ca.pem",
    "redis://:s3cret@redis.halton.svc:6379/0",  # in-cluster, no TLS: a password is what production asks
])
def test_production_takes_a_broker_with_a_password_and_checked_certificates(
        monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    assert settings_with(monkeypatch, REDIS_URL=url, HALTON_ENV="production").environment == "production"


@pytest.mark.parametrize("url", [
    "redis://broker:6379/0",
    "redis://fleet@broker:6379/0",  # a user without a password
    "redis://:@broker:6379/0",
    "rediss://broker:6380/0?ssl_cert_reqs=required",
])
def test_production_refuses_a_broker_without_a_password(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    message = refusal(monkeypatch, REDIS_URL=url, HALTON_ENV="production")
    assert message.startswith("REDIS_URL carries no password: outside development (HALTON_ENV=production)")
    assert "\n" not in message


@pytest.mark.parametrize(("query", "shown"), [
    ("ssl_cert_reqs=none", "none"),
    ("ssl_cert_reqs=optional", "optional"),
    ("ssl_cert_reqs=CERT_NONE", "CERT_NONE"),
    ("ssl_cert_reqs=required&ssl_cert_reqs=none", "required, none"),  # a second value must not slip through
])
def test_production_refuses_tls_that_does_not_check_the_certificate(
        monkeypatch: pytest.MonkeyPatch, query: str, shown: str) -> None:
    message = refusal(monkeypatch, REDIS_URL=f"rediss://:s3cret@broker:6380/0?{query}", HALTON_ENV="production")
    assert message.startswith(f"REDIS_URL has ssl_cert_reqs={shown}: outside development (HALTON_ENV=production)")
    assert "ssl_cert_reqs=required" in message


def test_a_refusal_never_shows_the_broker_password(monkeypatch: pytest.MonkeyPatch) -> None:
    message = refusal(monkeypatch, REDIS_URL="rediss://:hunter2@broker:6380/0?ssl_cert_reqs=none",
                      HALTON_ENV="production")
    assert "hunter2" not in message


def test_an_unknown_environment_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    message = refusal(monkeypatch, REDIS_URL=SECURE, HALTON_ENV="prod")
    assert message.startswith("HALTON_ENV: ") and "'development' or 'production'" in message


def test_a_privileged_worker_may_be_allowed_in_development(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_with(monkeypatch, REDIS_URL=SECURE, HALTON_ALLOW_PRIVILEGED_WORKER="true")
    assert settings.allow_privileged_worker is True


def test_a_privileged_worker_is_never_allowed_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    message = refusal(monkeypatch, REDIS_URL=SECURE, HALTON_ENV="production", HALTON_ALLOW_PRIVILEGED_WORKER="true")
    assert message.startswith("HALTON_ALLOW_PRIVILEGED_WORKER=true is for development only")


def test_a_database_command_in_production_needs_no_broker(monkeypatch: pytest.MonkeyPatch) -> None:
    """The migrate Job holds the owner's URL and nothing else: no REDIS_URL, so no broker rules to meet."""
    monkeypatch.setenv("HALTON_ENV", "production")
    assert database_url_only() == DATABASE_URL
