"""The fleet's settings, read from the environment (pydantic-settings), by area:

    __init__   Settings: what every process needs (DATABASE_URL, REDIS_URL, the environment, the pool,
               the queues, Sentry, the encryption key), the nested areas, and the readers below
    limits     TimeLimits: soft and hard limits per task family (HALTON_LIMIT_*)
    reports    SigningSettings, ReportSettings: signing the executive summary, the docs the PDFs link to
    billing    BillingSettings: the billing pulls' bounds and HTTP policy (HALTON_BILLING_*)
    analysis   ClusteringSettings, RollupSettings: the stages' own thresholds (HALTON_CLUSTER_*, HALTON_ROLLUP_*)
    schedule   parse_schedule, last_fire_time: the nightly schedule's text

A new setting goes in the area it belongs to, with a HALTON_ prefix and a README line.
"""

from __future__ import annotations

import os
from functools import lru_cache
from ipaddress import IPv4Address
from typing import Annotated, Literal

from pydantic import (
    AliasChoices,
    Field,
    IPvAnyAddress,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.errors import ConfigError
from store.roles import Roles
from workers.app.broker_url import production_broker_problem
from workers.settings.analysis import ClusteringSettings, RollupSettings, clustering_settings, rollup_settings
from workers.settings.billing import BillingSettings
from workers.settings.destinations import DestinationSettings
from workers.settings.keys import check_fernet_key, split_keys
from workers.settings.limits import TimeLimits
from workers.settings.reports import ReportSettings, SigningSettings
from workers.settings.schedule import last_fire_time, parse_schedule

__all__ = [
    "BillingSettings",
    "ClusteringSettings",
    "DestinationSettings",
    "ReportSettings",
    "RollupSettings",
    "Settings",
    "SigningSettings",
    "TimeLimits",
    "billing_settings",
    "clustering_settings",
    "command_settings",
    "database_url_only",
    "describe_validation_error",
    "get_report_settings",
    "get_settings",
    "get_signing_settings",
    "last_fire_time",
    "owner_database_url",
    "parse_schedule",
    "role_names",
    "rollup_settings",
]


def get_report_settings() -> ReportSettings:
    try:
        return ReportSettings()
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error)) from None


def billing_settings() -> BillingSettings:
    """Read at each pull or import (not cached: cheap, and a test may change the environment)."""
    try:
        return BillingSettings()
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error)) from None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    # production (the image sets it) holds the fleet to the hardening rules: a broker with a password and
    # checked TLS certificates, and no privileged worker; development (the default: the demo, the tests,
    # a laptop) lets them go
    environment: Annotated[
        Literal["development", "production"], Field(validation_alias=AliasChoices("HALTON_ENV"))
    ] = "development"
    # a worker may connect as a superuser or a role that can write meter (development only)
    allow_privileged_worker: Annotated[
        bool, Field(validation_alias=AliasChoices("HALTON_ALLOW_PRIVILEGED_WORKER"))
    ] = False
    database_url: Annotated[str, Field(validation_alias=AliasChoices("DATABASE_URL"))]
    redis_url: Annotated[str, Field(validation_alias=AliasChoices("REDIS_URL"))]
    # a streaming replica for the heavy reads, used only once it has replayed past a job's start
    # (workers/runtime/replica.py reads it from the environment; checked here at start-up)
    database_read_url: Annotated[str | None, Field(validation_alias=AliasChoices("DATABASE_READ_URL"))] = None
    sentry_dsn: Annotated[SecretStr | None, Field(validation_alias=AliasChoices("SENTRY_DSN"))] = None
    sentry_environment: Annotated[str, Field(validation_alias=AliasChoices("SENTRY_ENVIRONMENT"))] = "production"
    # Fernet keys (urlsafe base64 of 32 bytes), comma-separated, newest first: the first seals, every one
    # opens (workers/runtime/stored_secrets.py); `keys rotate` re-seals everything under the first
    encryption_keys: Annotated[
        SecretStr | None, Field(validation_alias=AliasChoices("HALTON_ENCRYPTION_KEYS"))
    ] = None
    # the single key of before rotation, still read: alone it is the list; with the list it must be in it
    encryption_key: Annotated[
        SecretStr | None, Field(validation_alias=AliasChoices("HALTON_ENCRYPTION_KEY"))
    ] = None
    # refuse stored secrets encrypted before they were sealed for their row (set once `keys rotate` has run)
    require_sealed_secrets: Annotated[
        bool, Field(validation_alias=AliasChoices("HALTON_REQUIRE_SEALED_SECRETS"))
    ] = False
    queue_analysis: Annotated[str, Field(validation_alias=AliasChoices("HALTON_QUEUE_ANALYSIS"))] = "analysis"
    queue_billing: Annotated[str, Field(validation_alias=AliasChoices("HALTON_QUEUE_BILLING"))] = "billing"
    queue_pdf: Annotated[str, Field(validation_alias=AliasChoices("HALTON_QUEUE_PDF"))] = "pdf"
    # the nightly refreshes of large workspaces (docs/DESIGN.md, "Fairness"): a queue of their own, sent at
    # the lowest priority, so a worker that consumes every queue takes them only when no other task waits
    queue_heavy: Annotated[str, Field(validation_alias=AliasChoices("HALTON_QUEUE_HEAVY"))] = "analysis_heavy"
    # a workspace with at least this many requests in the refresh's 30-day window is large (the rollup's
    # counts, or a bounded count of meter.requests before its first rollup)
    heavy_workspace_requests: Annotated[
        int, Field(validation_alias=AliasChoices("HALTON_HEAVY_WORKSPACE_REQUESTS"), gt=0)
    ] = 250_000
    # a pool child whose peak resident memory passed this many KiB is replaced after its task (which
    # finishes and is acknowledged first); 0: never
    worker_max_memory_per_child: Annotated[
        int, Field(validation_alias=AliasChoices("HALTON_WORKER_MAX_MEMORY_PER_CHILD"), ge=0)
    ] = 1_048_576
    # Redis redelivers an unacknowledged task after this long; it must exceed every hard limit
    visibility_timeout: Annotated[
        int, Field(validation_alias=AliasChoices("HALTON_VISIBILITY_TIMEOUT"), gt=0)
    ] = 2 * 60 * 60
    # how often a worker sweeps Redis for tasks whose worker died (older than the visibility timeout)
    unacked_restore_interval: Annotated[
        int, Field(validation_alias=AliasChoices("HALTON_UNACKED_RESTORE_INTERVAL"), gt=0)
    ] = 10
    # crontab "m h dom mon dow" in UTC, or "every:N" seconds (the demo uses that to fire at once)
    nightly_schedule: Annotated[str, Field(validation_alias=AliasChoices("HALTON_NIGHTLY_SCHEDULE"))] = "0 2 * * *"
    # the pulse (issue 17): today's rollup and the month-end forecasts of every workspace with new requests
    pulse_schedule: Annotated[str, Field(validation_alias=AliasChoices("HALTON_PULSE_SCHEDULE"))] = "*/10 * * * *"
    db_pool_max: Annotated[int, Field(validation_alias=AliasChoices("HALTON_DB_POOL_MAX"), gt=0)] = 4
    # a worker serves Prometheus metrics on this port (workers/runtime/metrics.py); unset: no metrics server
    metrics_port: Annotated[
        int | None, Field(validation_alias=AliasChoices("HALTON_METRICS_PORT"), gt=0, lt=65536)
    ] = None
    # the address the metrics server listens on: all interfaces by default (a pod's IP is what Prometheus
    # scrapes); a host on a shared or public network names its private interface, or 127.0.0.1 behind an agent
    metrics_addr: Annotated[IPvAnyAddress, Field(validation_alias=AliasChoices("HALTON_METRICS_ADDR"))] = (
        IPv4Address("0.0.0.0"))
    limits: TimeLimits = Field(default_factory=TimeLimits)
    signing: SigningSettings = Field(default_factory=SigningSettings)
    billing: BillingSettings = Field(default_factory=BillingSettings)
    destinations: DestinationSettings = Field(default_factory=DestinationSettings)

    @field_validator("database_url", "database_read_url")
    @classmethod
    def _postgres_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("postgresql://", "postgres://")):
            raise ValueError("must be a postgresql:// URL")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "redis+socket://")):
            raise ValueError("must be a redis://, rediss:// or redis+socket:// URL")
        if value.startswith("rediss://") and "ssl_cert_reqs=" not in value:
            raise ValueError("a rediss:// URL needs ?ssl_cert_reqs=required (or optional, none) for Celery")
        return value

    @field_validator("nightly_schedule", "pulse_schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        parse_schedule(value)
        return value

    @field_validator("encryption_key")
    @classmethod
    def _fernet_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            check_fernet_key(value.get_secret_value(), "must be a Fernet key (urlsafe base64 of 32 bytes)")
        return value

    @field_validator("encryption_keys")
    @classmethod
    def _fernet_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None  # set but empty (compose's ${HALTON_ENCRYPTION_KEYS:-}): not set
        keys = split_keys(value.get_secret_value())
        if not keys:
            raise ValueError("is empty: give one Fernet key or more, comma-separated, newest first")
        for position, key in enumerate(keys, 1):  # the position, never the key, in the message
            check_fernet_key(key, f"key {position} of the list is not a Fernet key (urlsafe base64 of 32 bytes)")
        if len(set(keys)) != len(keys):
            raise ValueError("names a key twice")
        return value

    @model_validator(mode="after")
    def _single_key_in_the_list(self) -> Settings:
        if self.encryption_keys is not None and self.encryption_key is not None and (
                self.encryption_key.get_secret_value().strip() not in self.fernet_keys()):
            raise ValueError("HALTON_ENCRYPTION_KEY is set and is not in HALTON_ENCRYPTION_KEYS: put it in the list "
                             "(last, to keep opening what it sealed) or unset it")
        return self

    def fernet_keys(self) -> list[str]:
        """The keys, newest first: HALTON_ENCRYPTION_KEYS, else HALTON_ENCRYPTION_KEY alone, else none."""
        if self.encryption_keys is not None:
            return split_keys(self.encryption_keys.get_secret_value())
        return [self.encryption_key.get_secret_value().strip()] if self.encryption_key is not None else []

    @model_validator(mode="after")
    def _hardened_in_production(self) -> Settings:
        if self.environment != "production":
            return self
        if self.allow_privileged_worker:
            raise ValueError("HALTON_ALLOW_PRIVILEGED_WORKER=true is for development only; unset it and point "
                             "DATABASE_URL at the fleet's role (HALTON_ENV is production)")
        problem = production_broker_problem(self.redis_url)
        if problem is not None:
            raise ValueError(problem)
        return self

    @model_validator(mode="after")
    def _visibility_exceeds_limits(self) -> Settings:
        if self.visibility_timeout <= self.limits.longest_hard():
            raise ValueError(
                f"HALTON_VISIBILITY_TIMEOUT ({self.visibility_timeout}s) must exceed the longest hard "
                f"time limit ({self.limits.longest_hard()}s), or Redis redelivers tasks that are still running"
            )
        return self


_ENV_NAMES = {
    "environment": "HALTON_ENV",
    "allow_privileged_worker": "HALTON_ALLOW_PRIVILEGED_WORKER",
    "database_url": "DATABASE_URL",
    "redis_url": "REDIS_URL",
    "sentry_dsn": "SENTRY_DSN",
    "encryption_key": "HALTON_ENCRYPTION_KEY",
    "encryption_keys": "HALTON_ENCRYPTION_KEYS",
    "require_sealed_secrets": "HALTON_REQUIRE_SEALED_SECRETS",
    "visibility_timeout": "HALTON_VISIBILITY_TIMEOUT",
    "db_pool_max": "HALTON_DB_POOL_MAX",
    "metrics_port": "HALTON_METRICS_PORT",
    "metrics_addr": "HALTON_METRICS_ADDR",
    "queue_heavy": "HALTON_QUEUE_HEAVY",
    "heavy_workspace_requests": "HALTON_HEAVY_WORKSPACE_REQUESTS",
    "worker_max_memory_per_child": "HALTON_WORKER_MAX_MEMORY_PER_CHILD",
    "nightly_schedule": "HALTON_NIGHTLY_SCHEDULE",
    "pulse_schedule": "HALTON_PULSE_SCHEDULE",
    "unacked_restore_interval": "HALTON_UNACKED_RESTORE_INTERVAL",
}


def describe_validation_error(error: ValidationError) -> str:
    """One line naming the variable, e.g. 'DATABASE_URL is missing'."""
    first = error.errors()[0]
    loc = [str(part) for part in first["loc"]]
    field = loc[0] if loc else ""
    if field == "limits" and len(loc) > 1:
        name = f"HALTON_LIMIT_{loc[1].upper()}"
    elif field in TimeLimits.model_fields:  # raised by the nested settings' own default factory
        name = f"HALTON_LIMIT_{field.upper()}"
    elif field == "signing" and len(loc) > 1:
        name = f"HALTON_{loc[1].upper()}"
    elif field in SigningSettings.model_fields or field in ReportSettings.model_fields:
        name = f"HALTON_{field.upper()}"
    elif field == "billing" and len(loc) > 1:
        name = loc[1] if loc[1].startswith("HALTON_") else f"HALTON_BILLING_{loc[1].upper()}"
    elif field in BillingSettings.model_fields and field != "environment":
        name = f"HALTON_BILLING_{field.upper()}"
    elif field in DestinationSettings.model_fields and field != "environment":
        name = f"HALTON_{field.upper()}"
    else:
        name = _ENV_NAMES.get(field, field.upper() or "settings")
    if first["type"] == "missing":
        return f"{name} is missing: set it in the environment"
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"{name}: {message}" if field else message


def destination_settings() -> DestinationSettings:
    """Read at each delivery (not cached: cheap, and a test may change the environment)."""
    try:
        return DestinationSettings()
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings of this process; raises ConfigError with one clear line."""
    try:
        return Settings()  # filled from the environment
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error)) from None



def get_signing_settings() -> SigningSettings:
    """The signing settings alone: commands that render without a broker need no REDIS_URL."""
    try:
        return SigningSettings()
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error)) from None


# stands in for a REDIS_URL that a command without a broker does not need; it passes production's checks
_UNUSED_BROKER = "redis://:unused@unused:6379/0"


def database_url_only() -> str:
    """DATABASE_URL for commands that need only Postgres (migrate, seed, refresh in this process)."""
    return command_settings().database_url


def command_settings() -> Settings:
    """The settings of a command that needs no broker (migrate, seed, refresh in this process, keys rotate).

    Every setting is checked as a worker checks it at start-up, so a malformed one (a pool size
    that is not a number, a negative time limit) stops the command with one line naming it; only
    REDIS_URL may be absent, since these commands never reach the broker.
    """
    # pydantic-settings has no per-call "this field is optional": stand in a well-formed URL for a
    # missing REDIS_URL, so the rest (and the checks across fields) is validated exactly as for a worker.
    try:
        return Settings() if os.environ.get("REDIS_URL") else Settings(redis_url=_UNUSED_BROKER)
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error)) from None


def owner_database_url() -> str:
    """`migrate` and `seed` write as the schemas' owner: HALTON_OWNER_DATABASE_URL, else DATABASE_URL.

    Workers connect with DATABASE_URL as the fleet's role, which may not create tables or write meter."""
    fleet_url = database_url_only()  # every setting checked, as for any database command
    url = os.environ.get("HALTON_OWNER_DATABASE_URL")
    if url is None:
        return fleet_url
    if not url.startswith(("postgresql://", "postgres://")):
        raise ConfigError("HALTON_OWNER_DATABASE_URL: must be a postgresql:// URL")
    return url


def role_names() -> Roles:
    """The database roles `migrate` creates and grants (HALTON_FLEET_ROLE, HALTON_DASHBOARD_ROLE)."""
    return Roles(fleet=os.environ.get("HALTON_FLEET_ROLE", "halton_fleet"),
                 dashboard=os.environ.get("HALTON_DASHBOARD_ROLE", "halton_dashboard"))

