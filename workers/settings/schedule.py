"""The nightly schedule's text (HALTON_NIGHTLY_SCHEDULE): parsed for beat, and its latest fire time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from celery.schedules import crontab, schedule

from core.errors import ConfigError


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
    if not isinstance(cron, crontab):  # parse_schedule gives a crontab for anything but every:N
        raise ConfigError(f"schedule '{text}' is neither every:SECONDS nor a crontab")
    moment = now.replace(second=0, microsecond=0)
    for _ in range(366 * 24 * 60):
        if (moment.minute in cron.minute and moment.hour in cron.hour  # type: ignore[attr-defined]
                and moment.day in cron.day_of_month and moment.month in cron.month_of_year  # type: ignore[attr-defined]
                and moment.isoweekday() % 7 in cron.day_of_week):  # type: ignore[attr-defined]  # 0 = Sunday
            return moment
        moment -= timedelta(minutes=1)
    return now
