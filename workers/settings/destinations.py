"""Where alert deliveries may go (HALTON_ALLOW_PRIVATE_DESTINATIONS; adapters/destinations.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class DestinationSettings(BaseSettings):
    """HALTON_ALLOW_PRIVATE_DESTINATIONS=true admits http and loopback or private addresses, for tests and the
    demo (local receivers); link-local and metadata addresses stay refused. Refused in production, like
    HALTON_ALLOW_INSECURE_HTTP."""

    model_config = SettingsConfigDict(env_prefix="HALTON_", extra="ignore")

    environment: Annotated[
        Literal["development", "production"], Field(validation_alias=AliasChoices("HALTON_ENV"))
    ] = "development"
    allow_private_destinations: bool = False

    @model_validator(mode="after")
    def _not_in_production(self) -> DestinationSettings:
        if self.allow_private_destinations and self.environment == "production":
            raise ValueError("HALTON_ALLOW_PRIVATE_DESTINATIONS=true is for tests and the demo only; unset it "
                             "(HALTON_ENV is production)")
        return self
