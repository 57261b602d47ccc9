"""The report task's routing and the signing settings: a malformed path is one line naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ConfigError
from workers.app.config import FamilyRouter
from workers.settings import Settings, get_signing_settings


def test_render_report_routes_to_the_pdf_queue() -> None:
    settings = Settings(database_url="postgresql://x@db/h", redis_url="redis://r:6379/0", queue_pdf="halton-pdf")
    assert FamilyRouter(settings)("halton.render_report", (), {}, {}) == {"queue": "halton-pdf"}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("HALTON_SIGNING_CERT", "HALTON_SIGNING_KEY", "HALTON_SIGNING_CHAIN", "HALTON_REQUIRE_SIGNED"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_no_signing_settings_means_unsigned(clean_env: pytest.MonkeyPatch) -> None:
    signing = get_signing_settings()
    assert not signing.configured and not signing.require_signed


def test_a_path_that_is_not_a_file_is_one_line(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("HALTON_SIGNING_CERT", str(tmp_path / "nope.pem"))
    clean_env.setenv("HALTON_SIGNING_KEY", str(tmp_path))
    with pytest.raises(ConfigError) as caught:
        get_signing_settings()
    assert str(caught.value).startswith("HALTON_SIGNING_CERT: ") and "\n" not in str(caught.value)


def test_a_certificate_without_its_key_is_refused(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cert = tmp_path / "c.pem"
    cert.write_text("x")
    clean_env.setenv("HALTON_SIGNING_CERT", str(cert))
    with pytest.raises(ConfigError, match="HALTON_SIGNING_KEY is missing"):
        get_signing_settings()


def test_the_worker_settings_refuse_a_bad_signing_path_too(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("DATABASE_URL", "postgresql://x@db/h")
    clean_env.setenv("REDIS_URL", "redis://r:6379/0")
    clean_env.setenv("HALTON_SIGNING_CHAIN", str(tmp_path / "chain.pem"))
    from workers.settings import get_settings

    get_settings.cache_clear()
    try:
        with pytest.raises(ConfigError, match=r"^HALTON_SIGNING_CHAIN: "):
            get_settings()
    finally:
        get_settings.cache_clear()


def test_the_methodology_link_points_at_the_docs_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    from pdf import DEFAULT_DOCS_BASE_URL
    from workers.settings import get_report_settings

    monkeypatch.delenv("HALTON_DOCS_BASE_URL", raising=False)
    assert get_report_settings().docs_base_url == DEFAULT_DOCS_BASE_URL.rstrip("/")
    monkeypatch.setenv("HALTON_DOCS_BASE_URL", "https://docs.example.test/halton/")
    assert get_report_settings().docs_base_url == "https://docs.example.test/halton"
    monkeypatch.setenv("HALTON_DOCS_BASE_URL", "/docs")
    with pytest.raises(ConfigError, match=r"^HALTON_DOCS_BASE_URL: must be an http\(s\) URL"):
        get_report_settings()
