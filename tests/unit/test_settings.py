"""Settings: a missing or malformed variable stops start-up with one line naming it."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from core.errors import ConfigError
from workers.settings import get_settings

GOOD = {"DATABASE_URL": "postgresql://fleet@db/halton", "REDIS_URL": "redis://broker:6379/0"}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "REDIS_URL", "SENTRY_DSN", "HALTON_ENCRYPTION_KEY", "HALTON_ENCRYPTION_KEYS",
                 "HALTON_VISIBILITY_TIMEOUT",
                 "HALTON_NIGHTLY_SCHEDULE", "HALTON_LIMIT_ANALYSIS_HARD", "HALTON_LIMIT_ANALYSIS_SOFT",
                 "HALTON_ENV", "HALTON_ALLOW_PRIVILEGED_WORKER", "HALTON_METRICS_PORT",
                 "HALTON_METRICS_ADDR"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()


def load(monkeypatch: pytest.MonkeyPatch, **env: str) -> str:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    with pytest.raises(ConfigError) as caught:
        get_settings()
    return str(caught.value)


def test_good_settings_load_with_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in GOOD.items():
        monkeypatch.setenv(name, value)
    settings = get_settings()
    assert settings.queue_analysis == "analysis" and settings.queue_pdf == "pdf"
    assert settings.visibility_timeout > settings.limits.longest_hard()


def test_missing_database_url_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load(monkeypatch, REDIS_URL=GOOD["REDIS_URL"]) == "DATABASE_URL is missing: set it in the environment"


def test_malformed_redis_url_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    message = load(monkeypatch, DATABASE_URL=GOOD["DATABASE_URL"], REDIS_URL="http://nope")
    assert message == "REDIS_URL: must be a redis://, rediss:// or redis+socket:// URL"


def test_a_tls_redis_url_must_say_how_to_check_certificates(monkeypatch: pytest.MonkeyPatch) -> None:
    message = load(monkeypatch, DATABASE_URL=GOOD["DATABASE_URL"], REDIS_URL="rediss://broker:6380/0")
    assert message.startswith("REDIS_URL: a rediss:// URL needs ?ssl_cert_reqs=required")


def test_a_bad_encryption_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    message = load(monkeypatch, **GOOD, HALTON_ENCRYPTION_KEY="not-a-key")
    assert message.startswith("HALTON_ENCRYPTION_KEY: must be a Fernet key")


def test_a_real_fernet_key_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {**GOOD, "HALTON_ENCRYPTION_KEY": Fernet.generate_key().decode()}.items():
        monkeypatch.setenv(name, value)
    assert get_settings().encryption_key is not None


def test_the_key_list_is_newest_first_and_the_single_key_alone_is_a_list_of_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    new, old = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    for name, value in {**GOOD, "HALTON_ENCRYPTION_KEY": old}.items():
        monkeypatch.setenv(name, value)
    assert get_settings().fernet_keys() == [old]
    monkeypatch.setenv("HALTON_ENCRYPTION_KEYS", f" {new} , {old} ")  # the old single key may stay, if listed
    get_settings.cache_clear()
    assert get_settings().fernet_keys() == [new, old]


@pytest.mark.parametrize(("keys", "says"), [
    ("{new},not-a-key", "HALTON_ENCRYPTION_KEYS: key 2 of the list is not a Fernet key"),
    ("{new},{new}", "HALTON_ENCRYPTION_KEYS: names a key twice"),
    (" , ", "HALTON_ENCRYPTION_KEYS: is empty"),
    ("{new}", "HALTON_ENCRYPTION_KEY is set and is not in HALTON_ENCRYPTION_KEYS"),
])
def test_a_bad_key_list_is_refused_without_repeating_a_key(monkeypatch: pytest.MonkeyPatch, keys: str,
                                                           says: str) -> None:
    new, old = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    message = load(monkeypatch, **GOOD, HALTON_ENCRYPTION_KEY=old, HALTON_ENCRYPTION_KEYS=keys.format(new=new))
    assert message.startswith(says) and new not in message and old not in message


def test_visibility_timeout_must_exceed_every_hard_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    message = load(monkeypatch, **GOOD, HALTON_VISIBILITY_TIMEOUT="600")
    assert "HALTON_VISIBILITY_TIMEOUT (600s) must exceed the longest hard time limit" in message


def test_a_non_numeric_limit_names_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    message = load(monkeypatch, **GOOD, HALTON_LIMIT_ANALYSIS_HARD="soon")
    assert message.startswith("HALTON_LIMIT_ANALYSIS_HARD:")


def test_a_malformed_schedule_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    message = load(monkeypatch, **GOOD, HALTON_NIGHTLY_SCHEDULE="at two")
    assert message.startswith("HALTON_NIGHTLY_SCHEDULE: must be a 5-field crontab")


def test_a_crontab_with_impossible_values_is_refused_at_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    message = load(monkeypatch, **GOOD, HALTON_NIGHTLY_SCHEDULE="99 2 * * *")
    assert message.startswith("HALTON_NIGHTLY_SCHEDULE: '99 2 * * *' is not a valid crontab")


def test_a_soft_limit_at_or_above_its_hard_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    message = load(monkeypatch, **GOOD, HALTON_LIMIT_ANALYSIS_HARD="600", HALTON_LIMIT_ANALYSIS_SOFT="900")
    assert "HALTON_LIMIT_ANALYSIS_SOFT (900s) must be positive and below HALTON_LIMIT_ANALYSIS_HARD (600s)" in message


def test_the_metrics_port_is_off_unless_set_and_must_be_a_port(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in GOOD.items():
        monkeypatch.setenv(name, value)
    assert get_settings().metrics_port is None
    monkeypatch.setenv("HALTON_METRICS_PORT", "9808")
    get_settings.cache_clear()
    assert get_settings().metrics_port == 9808
    assert load(monkeypatch, HALTON_METRICS_PORT="70000").startswith("HALTON_METRICS_PORT: ")


def test_the_metrics_address_is_every_interface_unless_named_and_must_be_an_ip(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in GOOD.items():
        monkeypatch.setenv(name, value)
    assert str(get_settings().metrics_addr) == "0.0.0.0"
    for named in ("127.0.0.1", "10.0.3.7", "::1"):
        monkeypatch.setenv("HALTON_METRICS_ADDR", named)
        get_settings.cache_clear()
        assert str(get_settings().metrics_addr) == named
    assert load(monkeypatch, HALTON_METRICS_ADDR="metrics.internal").startswith("HALTON_METRICS_ADDR: ")
