"""Business hours: opening, next opening and business-time arithmetic in the practice's zone."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from omnidesk.rules.hours import BusinessDays, BusinessHours
from omnidesk.rules.practice import load_practice, parse_practice

NY = ZoneInfo("America/New_York")


def ny(y: int, m: int, d: int, h: int = 0, mi: int = 0, s: int = 0, us: int = 0, fold: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, s, us, tzinfo=NY, fold=fold)


def utc(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=UTC)


@pytest.fixture(scope="module")
def clock() -> BusinessHours:
    """The shipped defaults: Mon-Fri 08:00-17:00 America/New_York, US federal holidays."""
    return BusinessHours.from_config(load_practice())


def hours_of(toml: str) -> BusinessHours:
    return BusinessHours.from_config(parse_practice(toml))


# ------------------------------------------------------------------ is_open / next_open


def test_open_includes_opening_and_excludes_closing(clock: BusinessHours) -> None:
    assert not clock.is_open(ny(2026, 5, 13, 7, 59, 59))
    assert clock.is_open(ny(2026, 5, 13, 8, 0))
    assert clock.is_open(ny(2026, 5, 13, 16, 59, 59))
    assert not clock.is_open(ny(2026, 5, 13, 17, 0))


def test_weekend_and_holidays_are_closed(clock: BusinessHours) -> None:
    assert not clock.is_open(ny(2026, 5, 16, 10))  # Saturday
    assert not clock.is_open(ny(2026, 5, 17, 10))  # Sunday
    assert not clock.is_open(ny(2026, 11, 26, 10))  # Thanksgiving
    assert not clock.is_open(ny(2026, 12, 25, 10))  # Christmas
    assert not clock.is_open(ny(2026, 7, 3, 10))  # Independence Day observed (July 4 is a Saturday)
    assert clock.is_open(ny(2026, 11, 27, 10))  # the Friday after Thanksgiving is a normal day


def test_is_open_accepts_any_zone_and_uses_the_practice_zone(clock: BusinessHours) -> None:
    # 12:30 UTC on a May Wednesday is 08:30 in New York (EDT, UTC-4).
    assert clock.is_open(utc(2026, 5, 13, 12, 30))
    assert not clock.is_open(utc(2026, 5, 13, 11, 30))
    # 20:30 UTC is 16:30 in New York (open); 21:30 UTC is 17:30 (closed).
    assert clock.is_open(utc(2026, 5, 13, 20, 30))
    assert not clock.is_open(utc(2026, 5, 13, 21, 30))


def test_next_open(clock: BusinessHours) -> None:
    t = ny(2026, 5, 13, 10)
    assert clock.next_open(t) == t
    assert clock.next_open(ny(2026, 5, 15, 17)) == ny(2026, 5, 18, 8)  # Friday close -> Monday
    assert clock.next_open(ny(2026, 5, 13, 6)) == ny(2026, 5, 13, 8)
    assert clock.next_open(ny(2026, 11, 25, 18)) == ny(2026, 11, 27, 8)  # skips Thanksgiving
    assert clock.next_open(ny(2026, 12, 24, 18)) == ny(2026, 12, 28, 8)  # skips Christmas + weekend
    assert clock.next_open(ny(2026, 12, 31, 18)) == ny(2027, 1, 4, 8)  # skips New Year's Day + weekend


def test_results_are_utc(clock: BusinessHours) -> None:
    got = clock.next_open(ny(2026, 5, 15, 17))
    assert got.tzinfo is UTC
    assert got == utc(2026, 5, 18, 12)


def test_naive_datetimes_are_refused(clock: BusinessHours) -> None:
    with pytest.raises(ValueError, match="naive"):
        clock.is_open(datetime(2026, 5, 13, 10))
    with pytest.raises(ValueError, match="naive"):
        clock.add_business_time(datetime(2026, 5, 13, 10), timedelta(hours=1))


# ------------------------------------------------------------------ business days


def test_friday_afternoon_plus_one_business_day_is_monday_same_time(clock: BusinessHours) -> None:
    assert clock.add_business_days(ny(2026, 5, 15, 16, 30), 1) == ny(2026, 5, 18, 16, 30)
    assert clock.add_business_time(ny(2026, 5, 15, 16, 30), BusinessDays(1)) == ny(2026, 5, 18, 16, 30)


def test_after_hours_counts_from_next_opening(clock: BusinessHours) -> None:
    # 22:00 Friday: the clock starts Monday 08:00, one business day = Monday's hours.
    assert clock.add_business_days(ny(2026, 5, 15, 22), 1) == ny(2026, 5, 18, 17)
    assert clock.add_business_days(ny(2026, 5, 16, 11), 1) == ny(2026, 5, 18, 17)  # Saturday
    assert clock.add_business_days(ny(2026, 5, 18, 6, 45), 1) == ny(2026, 5, 18, 17)  # before opening
    assert clock.add_business_days(ny(2026, 5, 15, 22), 2) == ny(2026, 5, 19, 17)


def test_two_business_days_midweek(clock: BusinessHours) -> None:
    assert clock.add_business_days(ny(2026, 5, 13, 10, 15), 2) == ny(2026, 5, 15, 10, 15)
    assert clock.add_business_days(ny(2026, 5, 14, 10, 15), 2) == ny(2026, 5, 18, 10, 15)


def test_business_days_skip_thanksgiving_and_christmas(clock: BusinessHours) -> None:
    assert clock.add_business_days(ny(2026, 11, 25, 16, 30), 1) == ny(2026, 11, 27, 16, 30)
    assert clock.add_business_days(ny(2026, 11, 26, 10), 1) == ny(2026, 11, 27, 17)  # on the holiday
    assert clock.add_business_days(ny(2026, 12, 24, 16, 30), 1) == ny(2026, 12, 28, 16, 30)
    assert clock.add_business_days(ny(2026, 12, 24, 9), 2) == ny(2026, 12, 29, 9)


def test_business_day_clamps_to_a_shorter_day() -> None:
    clock = hours_of('[hours]\nfriday = ["08:00-12:00"]\n')
    # 16:30 Thursday is 8.5 h into the day; Friday has only 4 h, so due at Friday's close.
    assert clock.add_business_days(ny(2026, 5, 14, 16, 30), 1) == ny(2026, 5, 15, 12)
    assert clock.add_business_days(ny(2026, 5, 14, 9, 30), 1) == ny(2026, 5, 15, 9, 30)


def test_business_day_with_a_lunch_break() -> None:
    clock = hours_of('[hours]\nmonday = ["08:00-12:00", "13:00-17:00"]\ntuesday = ["08:00-12:00", "13:00-17:00"]\n')
    # 12:30 is in the lunch break: 4 h of Monday have passed, 4 h into Tuesday is 12:00.
    assert clock.add_business_days(ny(2026, 5, 18, 12, 30), 1) == ny(2026, 5, 19, 12)
    assert clock.add_business_days(ny(2026, 5, 18, 14), 1) == ny(2026, 5, 19, 14)
    assert clock.add_business_time(ny(2026, 5, 18, 11, 30), timedelta(hours=1)) == ny(2026, 5, 18, 13, 30)
    assert not clock.is_open(ny(2026, 5, 18, 12, 30))
    assert clock.next_open(ny(2026, 5, 18, 12, 30)) == ny(2026, 5, 18, 13)


def test_zero_business_days_is_next_open(clock: BusinessHours) -> None:
    assert clock.add_business_days(ny(2026, 5, 16, 9), 0) == ny(2026, 5, 18, 8)
    with pytest.raises(ValueError):
        clock.add_business_days(ny(2026, 5, 16, 9), -1)


# ------------------------------------------------------------------ business time (timedelta)


def test_business_hours_carry_over_the_weekend(clock: BusinessHours) -> None:
    assert clock.add_business_time(ny(2026, 5, 15, 16), timedelta(hours=2)) == ny(2026, 5, 18, 9)
    assert clock.add_business_time(ny(2026, 5, 15, 16), timedelta(hours=1)) == ny(2026, 5, 15, 17)
    assert clock.add_business_time(ny(2026, 5, 16, 3), timedelta(minutes=30)) == ny(2026, 5, 18, 8, 30)
    # Five 9-hour days from Wednesday's opening end at Tuesday's close (the earliest such moment).
    assert clock.add_business_time(ny(2026, 5, 13, 8), timedelta(hours=45)) == ny(2026, 5, 19, 17)


def test_microseconds_are_kept(clock: BusinessHours) -> None:
    t = ny(2026, 5, 13, 10, 0, 0, 123457)
    assert clock.add_business_time(t, timedelta(minutes=5, microseconds=3)) == ny(2026, 5, 13, 10, 5, 0, 123460)


# ------------------------------------------------------------------ DST (America/New_York)


def test_spring_forward_weekend_keeps_local_wall_times(clock: BusinessHours) -> None:
    # DST starts Sunday 2026-03-08. Friday is EST (UTC-5), Monday EDT (UTC-4).
    due = clock.add_business_days(ny(2026, 3, 6, 16, 30), 1)
    assert due == utc(2026, 3, 9, 20, 30)  # 16:30 EDT, not 21:30 UTC (= 17:30 EDT)
    assert clock.add_business_time(ny(2026, 3, 6, 16), timedelta(hours=2)) == utc(2026, 3, 9, 13)
    assert clock.next_open(ny(2026, 3, 6, 18)) == utc(2026, 3, 9, 12)


def test_fall_back_weekend_keeps_local_wall_times(clock: BusinessHours) -> None:
    # DST ends Sunday 2026-11-01. Friday is EDT (UTC-4), Monday EST (UTC-5).
    assert clock.add_business_days(ny(2026, 10, 30, 16, 30), 1) == utc(2026, 11, 2, 21, 30)
    assert clock.next_open(ny(2026, 10, 30, 18)) == utc(2026, 11, 2, 13)


def test_open_hours_across_spring_forward_are_an_hour_shorter() -> None:
    clock = hours_of('[hours]\nsunday = ["01:00-04:00"]\n')
    day = date(2026, 3, 8)
    ((opens, closes),) = clock.open_intervals(day)
    assert (opens, closes) == (utc(2026, 3, 8, 6), utc(2026, 3, 8, 8))  # 01:00 EST .. 04:00 EDT
    assert clock.business_time_between(opens, closes) == timedelta(hours=2)
    # 1.5 h after 01:00 EST is 03:30 EDT: the skipped hour is not business time.
    assert clock.add_business_time(ny(2026, 3, 8, 1), timedelta(minutes=90)) == ny(2026, 3, 8, 3, 30)
    assert clock.is_open(utc(2026, 3, 8, 7, 30))  # 03:30 EDT


def test_open_hours_across_fall_back_are_an_hour_longer() -> None:
    clock = hours_of('[hours]\nsunday = ["01:00-04:00"]\n')
    ((opens, closes),) = clock.open_intervals(date(2026, 11, 1))
    assert (opens, closes) == (utc(2026, 11, 1, 5), utc(2026, 11, 1, 9))  # 01:00 EDT .. 04:00 EST
    # One hour after the first 01:30 (EDT) is the second 01:30 (EST).
    first = ny(2026, 11, 1, 1, 30, fold=0)
    later = clock.add_business_time(first, timedelta(hours=1))
    assert later == utc(2026, 11, 1, 6, 30)
    local = later.astimezone(NY)
    assert (local.hour, local.minute, local.fold) == (1, 30, 1)


def test_other_time_zone() -> None:
    clock = hours_of('[practice]\ntimezone = "America/Los_Angeles"\n')
    la = ZoneInfo("America/Los_Angeles")
    assert clock.is_open(datetime(2026, 5, 13, 8, 0, tzinfo=la))
    assert not clock.is_open(ny(2026, 5, 13, 8, 0))  # 05:00 in Los Angeles
    assert clock.add_business_days(datetime(2026, 5, 15, 16, 30, tzinfo=la), 1) == datetime(
        2026, 5, 18, 16, 30, tzinfo=la
    )


# ------------------------------------------------------------------ cross-checks against a slow reference


def _reference_open(t: datetime) -> bool:
    """Straight from the definition: local weekday 08:00-17:00, Mon-Fri, not a US federal holiday."""
    import holidays

    local = t.astimezone(NY)
    return (
        local.weekday() < 5
        and time(8) <= local.time() < time(17)
        and local.date() not in holidays.country_holidays("US", years=local.year)
    )


def test_is_open_matches_reference_over_random_instants(clock: BusinessHours) -> None:
    rng = random.Random(3)
    start = utc(2025, 1, 1).timestamp()
    span = utc(2028, 1, 1).timestamp() - start
    for _ in range(3000):
        t = datetime.fromtimestamp(start + rng.random() * span, UTC)
        assert clock.is_open(t) == _reference_open(t), t


def test_business_time_is_additive_and_consistent_with_between(clock: BusinessHours) -> None:
    rng = random.Random(11)
    start = utc(2026, 1, 1).timestamp()
    for _ in range(500):
        t = datetime.fromtimestamp(start + rng.random() * 3.2e7, UTC)
        a = timedelta(minutes=rng.randrange(0, 3000))
        b = timedelta(minutes=rng.randrange(1, 3000))
        t_ab = clock.add_business_time(t, a + b)
        assert clock.add_business_time(clock.add_business_time(t, a), b) == t_ab
        assert clock.business_time_between(t, t_ab) == a + b
        assert clock.is_open(t_ab - timedelta(microseconds=1))
        assert t_ab - t >= a + b


def test_business_days_land_on_open_time_in_a_later_business_day(clock: BusinessHours) -> None:
    rng = random.Random(5)
    start = utc(2026, 1, 1).timestamp()
    for _ in range(500):
        t = datetime.fromtimestamp(start + rng.random() * 3.2e7, UTC)
        n = rng.randrange(1, 4)
        due = clock.add_business_days(t, n)
        # Either inside opening hours or exactly at a closing time.
        assert clock.is_open(due - timedelta(microseconds=1))
        # Every open day here is 9 h long, so n business days are 9n business hours ...
        assert clock.business_time_between(t, due) == timedelta(hours=9 * n)
        # ... and a message inside opening hours is due at the same local time n days on.
        if clock.is_open(t):
            assert due.astimezone(NY).time() == t.astimezone(NY).time()
            assert (due.astimezone(NY).date() - t.astimezone(NY).date()).days >= n
