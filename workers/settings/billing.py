"""The billing pulls' and imports' bounds and HTTP policy (HALTON_BILLING_*, provider base URLs)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.errors import ConfigError
from reconciliation.limits import BASE_URLS, CSV_FIELD_LIMIT, BillingLimits, HttpPolicy, checked_base_url

_LIMITS, _HTTP = BillingLimits(), HttpPolicy()


class BillingSettings(BaseSettings):
    """What a billing pull or an export import may read, and how the billing clients use HTTP (issue 16;
    reconciliation/limits.py says what each bound is for). Settings checks them at a worker's start-up;
    billing_settings() reads them alone for commands without a broker (import-billing)."""

    model_config = SettingsConfigDict(env_prefix="HALTON_BILLING_", extra="ignore")

    environment: Annotated[
        Literal["development", "production"], Field(validation_alias=AliasChoices("HALTON_ENV"))
    ] = "development"
    # http:// base URLs for the billing APIs (local test servers); refused in production
    allow_insecure_http: Annotated[bool, Field(validation_alias=AliasChoices("HALTON_ALLOW_INSECURE_HTTP"))] = False
    openai_base_url: Annotated[str, Field(validation_alias=AliasChoices("HALTON_OPENAI_BASE_URL"))] = ""
    anthropic_base_url: Annotated[str, Field(validation_alias=AliasChoices("HALTON_ANTHROPIC_BASE_URL"))] = ""
    max_export_bytes: int = Field(default=_LIMITS.max_export_bytes, gt=0)
    max_rows: int = Field(default=_LIMITS.max_rows, gt=0)
    max_field_chars: int = Field(default=_LIMITS.max_field_chars, gt=0, le=CSV_FIELD_LIMIT)
    # the documented answers nest 6 deep; far below Python's recursion limit, which json.loads meets first
    max_json_depth: int = Field(default=_LIMITS.max_json_depth, ge=8, le=200)
    max_response_bytes: int = Field(default=_LIMITS.max_response_bytes, gt=0)
    connect_timeout: float = Field(default=_HTTP.connect_timeout, gt=0)
    read_timeout: float = Field(default=_HTTP.read_timeout, gt=0)
    write_timeout: float = Field(default=_HTTP.write_timeout, gt=0)
    pool_timeout: float = Field(default=_HTTP.pool_timeout, gt=0)
    deadline: float = Field(default=_HTTP.deadline, gt=0)

    @model_validator(mode="after")
    def _https(self) -> BillingSettings:
        if self.allow_insecure_http and self.environment == "production":
            raise ValueError("HALTON_ALLOW_INSECURE_HTTP=true is for tests and the demo; unset it and give the "
                             "billing APIs https:// base URLs (HALTON_ENV is production)")
        for provider in BASE_URLS:
            try:
                checked_base_url(provider, self.base_url(provider), self.allow_insecure_http)
            except ConfigError as error:
                raise ValueError(f"HALTON_{provider.upper()}_BASE_URL: {error}") from None
        return self

    def base_url(self, provider: str) -> str:
        given = {"openai": self.openai_base_url, "anthropic": self.anthropic_base_url}.get(provider, "")
        return given or BASE_URLS[provider]

    def limits(self) -> BillingLimits:
        return BillingLimits(max_export_bytes=self.max_export_bytes, max_rows=self.max_rows,
                             max_field_chars=self.max_field_chars, max_json_depth=self.max_json_depth,
                             max_response_bytes=self.max_response_bytes)

    def http(self) -> HttpPolicy:
        return HttpPolicy(allow_insecure_http=self.allow_insecure_http, connect_timeout=self.connect_timeout,
                          read_timeout=self.read_timeout, write_timeout=self.write_timeout,
                          pool_timeout=self.pool_timeout, deadline=self.deadline)
