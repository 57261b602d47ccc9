"""One typed settings object, read from the environment once per process."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from celery.schedules import crontab, schedule
from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.errors import ConfigError
from pdf import DEFAULT_DOCS_BASE_URL
from reconciliation.limits import BASE_URLS, CSV_FIELD_LIMIT, BillingLimits, HttpPolicy, checked_base_url
from store.roles import Roles
from store.rollup import DEFAULT_HISTORY_YEARS
from workers.broker_url import production_broker_problem


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


def get_report_settings() -> ReportSettings:
    try:
        return ReportSettings()
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error)) from None


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


def billing_settings() -> BillingSettings:
    """Read at each pull or import (not cached: cheap, and a test may change the environment)."""
    try:
        return BillingSettings()
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error)) from None


class DestinationSettings(BaseSettings):
    """Where alert deliveries may go (adapters/destinations.py). HALTON_ALLOW_PRIVATE_DESTINATIONS=true admits
    http and loopback or private addresses, for tests and the demo (local receivers); link-local and metadata
    addresses stay refused. Refused in production, like HALTON_ALLOW_INSECURE_HTTP."""

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


def destination_settings() -> DestinationSettings:
    """Read at each delivery (not cached: cheap, and a test may change the environment)."""
    try:
        return DestinationSettings()
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error)) from None


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
    # scikit-learn's k-means random_state for the request shapes: same data, same seed, same shapes
    shape_seed: int = Field(default=0, ge=0)
    # repeated hashes fetched per COPY (each a prefix range on the prompt_hash index): bounds memory
    fetch_batch: int = Field(default=20_000, gt=0)
    # when the repeated hashes hold more than this share of the window's rows, one scan of the window
    # finds their rows faster than an index probe per hash (measured: 1M rows of 10k hashes among 10M,
    # 3 s by scan against 15 s by index)
    index_share: float = Field(default=0.02, ge=0, le=1)
    # at most this many rows of repeated hashes per scan (memory); more make several scans
    scan_rows: int = Field(default=4_000_000, gt=0)


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
    sentry_dsn: Annotated[SecretStr | None, Field(validation_alias=AliasChoices("SENTRY_DSN"))] = None
    sentry_environment: Annotated[str, Field(validation_alias=AliasChoices("SENTRY_ENVIRONMENT"))] = "production"
    # Fernet keys (urlsafe base64 of 32 bytes), comma-separated, newest first: the first seals, every one
    # opens (workers/stored_secrets.py); `keys rotate` re-seals everything under the first
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
    db_pool_max: Annotated[int, Field(validation_alias=AliasChoices("HALTON_DB_POOL_MAX"), gt=0)] = 4
    limits: TimeLimits = Field(default_factory=TimeLimits)
    signing: SigningSettings = Field(default_factory=SigningSettings)
    billing: BillingSettings = Field(default_factory=BillingSettings)
    destinations: DestinationSettings = Field(default_factory=DestinationSettings)

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: str) -> str:
        if not value.startswith(("postgresql://", "postgres://")):
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

    @field_validator("nightly_schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        parse_schedule(value)
        return value

    @field_validator("encryption_key")
    @classmethod
    def _fernet_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            _check_fernet_key(value.get_secret_value(), "must be a Fernet key (urlsafe base64 of 32 bytes)")
        return value

    @field_validator("encryption_keys")
    @classmethod
    def _fernet_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None  # set but empty (compose's ${HALTON_ENCRYPTION_KEYS:-}): not set
        keys = _split_keys(value.get_secret_value())
        if not keys:
            raise ValueError("is empty: give one Fernet key or more, comma-separated, newest first")
        for position, key in enumerate(keys, 1):  # the position, never the key, in the message
            _check_fernet_key(key, f"key {position} of the list is not a Fernet key (urlsafe base64 of 32 bytes)")
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
            return _split_keys(self.encryption_keys.get_secret_value())
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


def _split_keys(text: str) -> list[str]:
    return [key.strip() for key in text.split(",") if key.strip()]


def _check_fernet_key(key: str, problem: str) -> None:
    try:
        raw = base64.urlsafe_b64decode(key.strip().encode())
    except (binascii.Error, ValueError):
        raise ValueError(problem) from None
    if len(raw) != 32:
        raise ValueError(problem)


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
    "nightly_schedule": "HALTON_NIGHTLY_SCHEDULE",
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


def parse_schedule(text: str) -> schedule | crontab:
    """'m h dom mon dow' (UTC) or 'every:N' seconds; ValueError with a readable message otherwise."""
    if text.startswith("every:"):
        seconds = text.removeprefix("every:")
        if not seconds.isdigit() or int(seconds) <= 0:
            raise ValueError("'every:N' needs a whole, positive number of seconds")
        return schedule(timedelta(seconds=int(seconds)))
    fields = text.split()
    if len(fields) != 5:
        raise ValueError("must be a 5-field crontab like '0 2 * * *' or 'every:N'")
    minute, hour, day_of_month, month_of_year, day_of_week = fields
    try:
        return crontab(minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month_of_year,
                       day_of_week=day_of_week)
    except ValueError as error:
        raise ValueError(f"'{text}' is not a valid crontab: {error}") from None


def last_fire_time(text: str, now: datetime) -> datetime:
    """The latest moment at or before `now` (UTC) at which the schedule fires.

    Celery beat cannot pass its scheduled time to the task, so the fan-out works it out: a retry or a
    redelivery of the same fan-out then gets the same as_of. Walks back minute by minute; a nightly
    schedule needs at most a day of steps."""
    now = now.astimezone(UTC)
    if text.startswith("every:"):
        seconds = int(text.removeprefix("every:"))
        epoch = int(now.timestamp())
        return datetime.fromtimestamp(epoch - epoch % seconds, UTC)
    cron = parse_schedule(text)
    assert isinstance(cron, crontab)
    moment = now.replace(second=0, microsecond=0)
    for _ in range(366 * 24 * 60):
        if (moment.minute in cron.minute and moment.hour in cron.hour  # type: ignore[attr-defined]
                and moment.day in cron.day_of_month and moment.month in cron.month_of_year  # type: ignore[attr-defined]
                and moment.isoweekday() % 7 in cron.day_of_week):  # type: ignore[attr-defined]  # 0 = Sunday
            return moment
        moment -= timedelta(minutes=1)
    return now


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
    import os

    # pydantic-settings has no per-call "this field is optional": stand in a well-formed URL for a
    # missing REDIS_URL, so the rest (and the checks across fields) is validated exactly as for a worker.
    try:
        return Settings() if os.environ.get("REDIS_URL") else Settings(redis_url=_UNUSED_BROKER)
    except ValidationError as error:
        raise ConfigError(describe_validation_error(error)) from None


def owner_database_url() -> str:
    """`migrate` and `seed` write as the schemas' owner: HALTON_OWNER_DATABASE_URL, else DATABASE_URL.

    Workers connect with DATABASE_URL as the fleet's role, which may not create tables or write meter."""
    import os

    fleet_url = database_url_only()  # every setting checked, as for any database command
    url = os.environ.get("HALTON_OWNER_DATABASE_URL")
    if url is None:
        return fleet_url
    if not url.startswith(("postgresql://", "postgres://")):
        raise ConfigError("HALTON_OWNER_DATABASE_URL: must be a postgresql:// URL")
    return url


def role_names() -> Roles:
    """The database roles `migrate` creates and grants (HALTON_FLEET_ROLE, HALTON_DASHBOARD_ROLE)."""
    import os

    return Roles(fleet=os.environ.get("HALTON_FLEET_ROLE", "halton_fleet"),
                 dashboard=os.environ.get("HALTON_DASHBOARD_ROLE", "halton_dashboard"))
