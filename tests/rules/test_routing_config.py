"""The practice settings file: defaults, overrides, holidays, and clear errors naming the key."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from omnidesk.rules.hours import BusinessHours
from omnidesk.rules.practice import PracticeConfigError, TargetKind, load_practice, parse_practice

NY = ZoneInfo("America/New_York")


def test_defaults() -> None:
    config = load_practice()
    assert config.timezone == "America/New_York"
    assert config.weekly_hours[0] == ((8 * 3600, 17 * 3600),)
    assert config.weekly_hours[5] == () and config.weekly_hours[6] == ()
    assert [q for q, _ in config.queues] == ["emergency", "nurse", "billing", "front_desk", "unmatched"]
    assert config.urgency_targets["emergency"].kind is TargetKind.WALL
    assert config.urgency_targets["emergency"].amount == timedelta(minutes=5)
    assert config.urgency_targets["urgent"].amount == timedelta(hours=1)
    assert (config.intent_targets["refill"].kind, config.intent_targets["refill"].amount) == (
        TargetKind.BUSINESS_DAYS,
        2,
    )
    assert str(config.default_target) == "1 business day"
    assert config.holiday_country == "US"


def test_override_file_changes_only_what_it_sets(tmp_path: Path) -> None:
    path = tmp_path / "practice.toml"
    path.write_text(
        """
[practice]
name = "Maple Street Family Medicine"

[hours]
mon = ["07:30-12:00", "13:00-18:30"]
saturday = ["09:00-12:00"]

[holidays]
subdivision = "NY"
closed = ["2026-12-24", "2026-12-28..2026-12-31", 2027-01-02]
open = ["2026-11-11"]
ignore = ["Lincoln's Birthday", "election day"]

[targets.intent]
billing = "3 business days"
""",
        encoding="utf-8",
    )
    config = load_practice([path])
    assert config.name == "Maple Street Family Medicine"
    assert config.timezone == "America/New_York"  # kept
    assert config.weekly_hours[0] == ((27000, 43200), (46800, 66600))
    assert config.weekly_hours[1] == ((28800, 61200),)  # kept
    assert config.weekly_hours[5] == ((32400, 43200),)
    assert config.holiday_subdivision == "NY"
    assert date(2026, 12, 30) in config.closed_dates and date(2027, 1, 2) in config.closed_dates
    assert config.intent_targets["billing"].amount == 3
    assert config.intent_targets["refill"].amount == 2  # kept
    assert config.sources == ("default_practice.toml", str(path))

    clock = BusinessHours.from_config(config)
    assert not clock.is_open(datetime(2026, 12, 24, 10, tzinfo=NY))  # extra closed date
    assert not clock.is_open(datetime(2026, 12, 29, 10, tzinfo=NY))  # inside the closed range
    assert not clock.is_open(datetime(2027, 1, 2, 10, tzinfo=NY))  # a closed Saturday
    assert clock.is_open(datetime(2027, 1, 9, 10, tzinfo=NY))  # an ordinary Saturday
    assert clock.is_open(datetime(2026, 11, 11, 10, tzinfo=NY))  # Veterans Day, opened explicitly
    assert clock.is_open(datetime(2026, 11, 3, 10, tzinfo=NY))  # NY Election Day, ignored by name
    assert clock.is_open(datetime(2026, 2, 12, 10, tzinfo=NY))  # Lincoln's Birthday, ignored by name
    assert not clock.is_open(datetime(2026, 2, 16, 10, tzinfo=NY))  # Washington's Birthday still observed
    assert clock.calendar.holiday_name(date(2026, 11, 26)) == "Thanksgiving Day"
    assert clock.calendar.holiday_name(date(2026, 11, 3)) is None


def test_ignore_matches_observed_days() -> None:
    config = parse_practice('[holidays]\nignore = ["Independence Day"]\n')
    clock = BusinessHours.from_config(config)
    assert clock.is_open(datetime(2026, 7, 3, 10, tzinfo=NY))  # "Independence Day (observed)"


def test_no_holiday_calendar() -> None:
    clock = BusinessHours.from_config(parse_practice('[holidays]\ncountry = ""\n'))
    assert clock.is_open(datetime(2026, 11, 26, 10, tzinfo=NY))


def test_later_files_win_and_queues_can_be_removed(tmp_path: Path) -> None:
    a = tmp_path / "a.toml"
    b = tmp_path / "b.toml"
    a.write_text('[queues]\npharmacy = "Pharmacy"\n[routing.intent]\nrefill = "pharmacy"\n', encoding="utf-8")
    b.write_text('[queues]\nbilling = false\n[routing.intent]\nbilling = "front_desk"\ninsurance = "front_desk"\n')
    config = load_practice([a, b])
    assert [q for q, _ in config.queues] == ["emergency", "nurse", "front_desk", "unmatched", "pharmacy"]
    assert config.intent_queues["refill"] == "pharmacy"


def test_closed_string_and_24h_day() -> None:
    config = parse_practice('[hours]\nmonday = "closed"\nsunday = ["00:00-24:00"]\n')
    assert config.weekly_hours[0] == ()
    assert config.weekly_hours[6] == ((0, 86400),)
    clock = BusinessHours.from_config(config)
    assert clock.is_open(datetime(2026, 5, 17, 23, 59, tzinfo=NY))
    assert not clock.is_open(datetime(2026, 5, 18, 0, 0, tzinfo=NY))  # Monday, closed


def test_touching_intervals_merge() -> None:
    assert parse_practice('[hours]\nmonday = ["08:00-12:00", "12:00-17:00"]\n').weekly_hours[0] == ((28800, 61200),)


# ------------------------------------------------------------------ errors naming the key


@pytest.mark.parametrize(
    ("toml", "key", "words"),
    [
        ('[practice]\ntimezone = "America/New_Yrok"\n', "practice.timezone", "unknown time zone"),
        ('[practice]\ntimezone = "EST5EDT/../x"\n', "practice.timezone", "unknown time zone"),
        ("[practice]\ntimezone = 5\n", "practice.timezone", "text"),
        ('[hours]\nfunday = ["08:00-17:00"]\n', "hours.funday", "unknown weekday"),
        ('[hours]\nmonday = ["8am-5pm"]\n', "hours.monday[0]", "not an interval"),
        ('[hours]\nmonday = ["08:00-17:00", "17:00-07:00"]\n', "hours.monday[1]", "end must be after"),
        ('[hours]\nmonday = ["08:00-25:00"]\n', "hours.monday[0]", "impossible time"),
        ('[hours]\nmonday = ["08:00-13:00", "12:00-17:00"]\n', "hours.monday", "overlap"),
        ("[hours]\nmonday = 8\n", "hours.monday", "list"),
        ('[hours]\nmon = ["08:00-12:00"]\nmonday = ["08:00-12:00"]\n', "hours.monday", "set twice"),
        (
            "[hours]\nmonday = []\ntuesday = []\nwednesday = []\nthursday = []\nfriday = []\n",
            "hours",
            "closed every day",
        ),
        ('[routing.intent]\nrefill = "pharmacy"\n', "routing.intent.refill", "'pharmacy' is not defined"),
        ('[routing]\ndefault = "desk"\n', "routing.default", "'desk' is not defined"),
        ('[routing.urgency]\nemergency = "er"\n', "routing.urgency.emergency", "not defined"),
        ('[routing.intent]\nrefills = "nurse"\n', "routing.intent.refills", "unknown intent"),
        ('[routing.urgency]\ncritical = "nurse"\n', "routing.urgency.critical", "unknown urgency"),
        ("[queues]\nunmatched = false\n", "queues.unmatched", "required"),
        ('[queues]\n"Front Desk" = "x"\n', "queues.Front Desk", "lowercase"),
        ('[queues]\nnurse = ""\n', "queues.nurse", "label"),
        ('[targets.intent]\nrefill = "2 bizdays"\n', "targets.intent.refill", "not a duration"),
        ('[targets.intent]\nrefill = "1.5 business days"\n', "targets.intent.refill", "whole number"),
        ('[targets.urgency]\nemergency = "0 minutes"\n', "targets.urgency.emergency", "more than zero"),
        ('[targets.intent]\nnope = "1 hour"\n', "targets.intent.nope", "unknown intent"),
        ('[holidays]\ncountry = "XX"\n', "holidays.country", "not a country"),
        ('[holidays]\nsubdivision = "ZZ"\n', "holidays.subdivision", "no subdivision"),
        ('[holidays]\nignore = ["Colombus Day"]\n', "holidays.ignore[0]", "not a holiday"),
        ('[holidays]\nclosed = ["2026-13-01"]\n', "holidays.closed[0]", "not a date"),
        ('[holidays]\nclosed = ["2026-12-31..2026-12-01"]\n', "holidays.closed[0]", "ends before"),
        ('[holiday]\ncountry = "US"\n', "holiday", "unknown section"),
        ('[practice]\nzone = "UTC"\n', "practice.zone", "unknown key"),
        ('practice = "x"\n', "practice", "must be a section"),
    ],
)
def test_validation_errors_name_the_key(toml: str, key: str, words: str) -> None:
    with pytest.raises(PracticeConfigError) as info:
        parse_practice(toml, source="practice.toml")
    err = info.value
    assert err.key == key
    assert err.source == "practice.toml"
    assert words in str(err)
    assert str(err).startswith(f"practice.toml: {key}: ")


def test_toml_syntax_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "practice.toml"
    path.write_text("[hours\nmonday = 1\n", encoding="utf-8")
    with pytest.raises(PracticeConfigError, match=r"practice\.toml: not valid TOML"):
        load_practice([path])


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(PracticeConfigError, match="cannot read"):
        load_practice([tmp_path / "nope.toml"])


def test_error_in_a_second_file_names_that_file(tmp_path: Path) -> None:
    a = tmp_path / "a.toml"
    b = tmp_path / "b.toml"
    a.write_text('[queues]\npharmacy = "Pharmacy"\n', encoding="utf-8")
    b.write_text('[routing.intent]\nrefill = "pharmcy"\n', encoding="utf-8")
    with pytest.raises(PracticeConfigError) as info:
        load_practice([a, b])
    assert info.value.source == str(b)
    assert info.value.key == "routing.intent.refill"
