"""Soft and hard time limits per task family (HALTON_LIMIT_*)."""

from __future__ import annotations

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class TimeLimits(BaseSettings):
    """Soft and hard limits per task family, in seconds."""

    model_config = SettingsConfigDict(env_prefix="HALTON_LIMIT_", extra="ignore")

    analysis_soft: int = 25 * 60
    analysis_hard: int = 30 * 60
    billing_soft: int = 4 * 60
    billing_hard: int = 5 * 60
    pdf_soft: int = 8 * 60
    pdf_hard: int = 10 * 60
    fanout_soft: int = 60
    fanout_hard: int = 90

    def longest_hard(self) -> int:
        return max(self.analysis_hard, self.billing_hard, self.pdf_hard, self.fanout_hard)

    @model_validator(mode="after")
    def _soft_before_hard(self) -> TimeLimits:
        for family in ("analysis", "billing", "pdf", "fanout"):
            soft, hard = getattr(self, f"{family}_soft"), getattr(self, f"{family}_hard")
            if not 0 < soft < hard:
                raise ValueError(f"HALTON_LIMIT_{family.upper()}_SOFT ({soft}s) must be positive and below "
                                 f"HALTON_LIMIT_{family.upper()}_HARD ({hard}s)")
        return self
