"""The analysis stages' own settings: clustering thresholds (HALTON_CLUSTER_*) and the rollup's history
(HALTON_ROLLUP_*). Only those stages read them, so they need neither DATABASE_URL nor REDIS_URL."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.errors import ConfigError
from store.rollup import DEFAULT_HISTORY_YEARS


class ClusteringSettings(BaseSettings):
    """Thresholds of the clustering stage (issue 7). Only the stage reads them, and it needs neither
    DATABASE_URL nor REDIS_URL from here, so they live apart from Settings.

    Loop defaults (why): an agent stuck in a loop re-sends as soon as an answer is back, and even a
    200k-token prompt answers within a minute or two, so a gap over 120 s ends a burst; SDK retry
    policies try 2 to 10 times, so a loop needs at least 20 successful answers (a retried failure is
    not one); twenty identical requests inside a minute are a parallel fan-out, so a loop lasts at
    least 60 s. The seed's planted loop (300-500 calls about a second apart) clears all three.
    """

    model_config = SettingsConfigDict(env_prefix="HALTON_CLUSTER_", extra="ignore")

    loop_max_gap_seconds: float = Field(default=120.0, gt=0)
    loop_min_requests: int = Field(default=20, ge=2)
    loop_min_duration_seconds: float = Field(default=60.0, ge=0)
    # the request shapes' k-means seed (clustering/kmeans.py): same data, same seed, same shapes
    shape_seed: int = Field(default=0, ge=0)
    # at most this many repeated hashes fetched per COPY (each a prefix range on the prompt_hash index)
    fetch_batch: int = Field(default=20_000, gt=0)
    # when the repeated hashes hold more than this share of the window's rows, one scan of the window
    # finds their rows faster than an index probe per hash (measured: 1M rows of 10k hashes among 10M,
    # 3 s by scan against 15 s by index)
    index_share: float = Field(default=0.02, ge=0, le=1)
    # at most this many rows of repeated hashes per scan (the prefix list and the server's sort; they reach
    # this process chunk_rows at a time); more make several scans
    scan_rows: int = Field(default=4_000_000, gt=0)
    # rows of repeated hashes clustered at once, whole hashes only (a hash with more rows is a chunk alone):
    # what bounds the stage's memory, whatever the workspace's size
    chunk_rows: int = Field(default=100_000, gt=0)


@lru_cache(maxsize=1)
def clustering_settings() -> ClusteringSettings:
    try:
        return ClusteringSettings()
    except ValidationError as error:
        first = error.errors()[0]
        name = f"HALTON_CLUSTER_{str(first['loc'][0]).upper()}" if first["loc"] else "HALTON_CLUSTER_*"
        raise ConfigError(f"{name}: {str(first['msg']).removeprefix('Value error, ')}") from None


class RollupSettings(BaseSettings):
    """How much history the daily rollup keeps (analysis.daily_spend, daily_totals). Only the rollup stage
    and the report jobs read it, so it lives apart from Settings, like the clustering thresholds."""

    model_config = SettingsConfigDict(env_prefix="HALTON_ROLLUP_", extra="ignore")

    # whole calendar years kept before the current one: the rollup covers every day from 1 January of
    # (this year - history_years); a report reading a day before that is refused. The default (4) keeps a
    # report of any period in the last two years together with the period it is compared with.
    history_years: int = Field(default=DEFAULT_HISTORY_YEARS, ge=1, le=100)


@lru_cache(maxsize=1)
def rollup_settings() -> RollupSettings:
    try:
        return RollupSettings()
    except ValidationError as error:
        first = error.errors()[0]
        name = f"HALTON_ROLLUP_{str(first['loc'][0]).upper()}" if first["loc"] else "HALTON_ROLLUP_*"
        raise ConfigError(f"{name}: {str(first['msg']).removeprefix('Value error, ')}") from None
