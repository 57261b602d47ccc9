"""The PDF reports' settings: signing the executive summary (HALTON_SIGNING_*), the docs they link to."""

from __future__ import annotations

from pathlib import Path

from pydantic import field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from pdf import DEFAULT_DOCS_BASE_URL


class SigningSettings(BaseSettings):
    """PEM files that sign the executive summary (PAdES). Both or neither; the chain is optional."""

    model_config = SettingsConfigDict(env_prefix="HALTON_", extra="ignore")

    signing_cert: Path | None = None
    signing_key: Path | None = None
    signing_chain: Path | None = None
    # refuse to produce an unsigned summary: the job fails saying what to configure
    require_signed: bool = False

    @field_validator("signing_cert", "signing_key", "signing_chain")
    @classmethod
    def _readable_file(cls, value: Path | None) -> Path | None:
        if value is None or str(value) == "":
            return None
        if not value.is_file():
            raise ValueError(f"{value} is not a readable file (a PEM file path)")
        return value

    @model_validator(mode="after")
    def _both_or_neither(self) -> SigningSettings:
        if (self.signing_cert is None) != (self.signing_key is None):
            missing = "HALTON_SIGNING_KEY" if self.signing_key is None else "HALTON_SIGNING_CERT"
            raise ValueError(f"{missing} is missing: the signing certificate and key are set together")
        if self.signing_chain is not None and self.signing_cert is None:
            raise ValueError("HALTON_SIGNING_CHAIN is set without HALTON_SIGNING_CERT and HALTON_SIGNING_KEY")
        return self

    @property
    def configured(self) -> bool:
        return self.signing_cert is not None and self.signing_key is not None


class ReportSettings(BaseSettings):
    """What the PDF reports link to: HALTON_DOCS_BASE_URL, the docs site their methodology note points into."""

    model_config = SettingsConfigDict(env_prefix="HALTON_", extra="ignore")

    docs_base_url: str = DEFAULT_DOCS_BASE_URL

    @field_validator("docs_base_url")
    @classmethod
    def _web_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")) or len(value.split("/")[2]) == 0 or any(
                c.isspace() for c in value):
            raise ValueError("must be an http(s) URL like https://docs.example.com (the reports link to it)")
        return value.rstrip("/")
