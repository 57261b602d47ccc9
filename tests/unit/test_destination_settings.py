"""HALTON_ALLOW_PRIVATE_DESTINATIONS: a setting of its own, read at each delivery, refused in production."""

from __future__ import annotations

import pytest

from core.errors import ConfigError
from workers.alert_delivery_jobs import default_outbound
from workers.settings import destination_settings


def test_deliveries_are_held_to_public_https_unless_the_setting_says_otherwise(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HALTON_ALLOW_PRIVATE_DESTINATIONS", raising=False)
    monkeypatch.delenv("HALTON_ENV", raising=False)
    assert default_outbound().policy.allow_private is False
    monkeypatch.setenv("HALTON_ALLOW_PRIVATE_DESTINATIONS", "true")
    assert default_outbound().policy.allow_private is True


def test_the_setting_is_refused_in_production_and_when_it_is_not_a_boolean(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HALTON_ALLOW_PRIVATE_DESTINATIONS", "true")
    monkeypatch.setenv("HALTON_ENV", "production")
    with pytest.raises(ConfigError, match=r"^HALTON_ALLOW_PRIVATE_DESTINATIONS=true is for tests and the demo only; "
                                          r"unset it \(HALTON_ENV is production\)$"):
        destination_settings()
    monkeypatch.setenv("HALTON_ALLOW_PRIVATE_DESTINATIONS", "sometimes")
    monkeypatch.setenv("HALTON_ENV", "development")
    with pytest.raises(ConfigError, match=r"^HALTON_ALLOW_PRIVATE_DESTINATIONS: Input should be a valid boolean"):
        destination_settings()
