"""Which days a seed writes, and the errors a person gets for a wrong slug or range."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from store.seed_writes import ExistingWorkspace
from synthetic import PLANTS, SeedOptions
from synthetic.seed import monthly_budget, resolve_target

TODAY = dt.date(2026, 11, 26)
EXISTING = ExistingWorkspace(id=7, timezone="Europe/Berlin", first_day=dt.date(2026, 10, 1),
                             last_day=dt.date(2026, 10, 30))


def test_a_new_workspace_ends_yesterday_by_default() -> None:
    target = resolve_target(SeedOptions(slug="acme", days=30), None, TODAY)
    assert target.days[0] == dt.date(2026, 10, 27) and target.days[-1] == dt.date(2026, 11, 25)
    assert target.first_day == target.days[0] and len(target.days) == 30


def test_end_date_is_the_first_day_not_seeded() -> None:
    target = resolve_target(SeedOptions(slug="acme", days=2, end_date=dt.date(2026, 1, 1)), None, TODAY)
    assert target.days == (dt.date(2025, 12, 30), dt.date(2025, 12, 31))


def test_an_existing_slug_without_append_is_refused_with_a_hint() -> None:
    with pytest.raises(ValueError, match="workspace 'acme' already exists; pass --append to add days"):
        resolve_target(SeedOptions(slug="acme"), EXISTING, TODAY)


def test_append_to_a_missing_slug_is_refused_with_a_hint() -> None:
    with pytest.raises(ValueError, match=r"workspace 'ghost' does not exist.*drop --append"):
        resolve_target(SeedOptions(slug="ghost", append=True), None, TODAY)


def test_append_continues_after_the_last_seeded_day_and_keeps_the_first_day() -> None:
    target = resolve_target(SeedOptions(slug="acme", days=1, append=True), EXISTING, TODAY)
    assert target.days == (dt.date(2026, 10, 31),)
    assert target.first_day == dt.date(2026, 10, 1)
    assert target.timezone == "Europe/Berlin"


def test_append_overlapping_seeded_days_is_refused() -> None:
    options = SeedOptions(slug="acme", days=3, append=True, end_date=dt.date(2026, 11, 1))
    with pytest.raises(ValueError, match="already has days up to 2026-10-30"):
        resolve_target(options, EXISTING, TODAY)


def test_options_refuse_unknown_plants_and_empty_ranges() -> None:
    with pytest.raises(ValueError, match="unknown plant"):
        SeedOptions(slug="acme", plants=frozenset({"moon_landing"}))
    with pytest.raises(ValueError, match="days must be at least 1"):
        SeedOptions(slug="acme", days=0)
    assert SeedOptions(slug="acme").plants == frozenset(PLANTS)


def test_options_refuse_unknown_providers_and_timezones() -> None:
    with pytest.raises(ValueError, match="unknown provider"):
        SeedOptions(slug="acme", billing_variance={"mistral": Decimal("0.01")})
    with pytest.raises(ValueError, match="unknown timezone 'Mars/Olympus'"):
        SeedOptions(slug="acme", timezone="Mars/Olympus")


def test_budget_is_a_little_above_the_pace_in_hundreds() -> None:
    assert monthly_budget(1_000 * 10**9, 30) == 1_200 * 10**9
    assert monthly_budget(0, 30) == 100 * 10**9


def test_an_append_stops_at_today_and_writes_no_future_day() -> None:
    target = resolve_target(SeedOptions(slug="acme", days=60, append=True), EXISTING, TODAY)
    assert target.days[0] == dt.date(2026, 10, 31) and target.days[-1] == TODAY - dt.timedelta(days=1)


def test_an_append_to_a_workspace_seeded_up_to_yesterday_is_refused() -> None:
    current = ExistingWorkspace(id=7, timezone="UTC", first_day=dt.date(2026, 10, 1),
                                last_day=TODAY - dt.timedelta(days=1))
    with pytest.raises(ValueError, match=r"already has days up to 2026-11-25.*no rows in the future"):
        resolve_target(SeedOptions(slug="acme", days=1, append=True), current, TODAY)


@pytest.mark.parametrize("append", [False, True])
def test_an_end_date_after_today_is_refused(append: bool) -> None:
    options = SeedOptions(slug="acme", days=3, append=append, end_date=TODAY + dt.timedelta(days=1))
    with pytest.raises(ValueError, match=r"end date 2026-11-27 is after today.*no rows in the future"):
        resolve_target(options, EXISTING if append else None, TODAY)
