"""Business hours: is the practice open, when does it open next, and business-time arithmetic.

All arguments are aware datetimes (any zone) and all results are UTC. Opening hours are
local wall-clock times in the practice's zone, so a 08:00-17:00 day is 9 real hours on
either side of a DST change, and a day whose hours span the change is longer or shorter.

Internally each local day is turned once into UTC microsecond intervals and cached by
date ordinal, so the hot path (ingest calls it for every message) is integer arithmetic
and dictionary look-ups. The caches only ever gain entries that are equal whoever
computes them, so one instance is safe to share between threads.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from omnidesk.rules.practice import PracticeConfig, Target, TargetKind, holiday_base_name

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = _EPOCH.date().toordinal()
_ONE_US = timedelta(microseconds=1)
_US = 1_000_000
_DAY_US = 86_400 * _US
_MAX_DAYS = 3 * 366  # give up looking for an open day after three years

# (UTC start of the local day, ((open, close), ...)) in microseconds since the epoch.
_Day = tuple[int, tuple[tuple[int, int], ...]]


@dataclass(frozen=True, slots=True)
class BusinessDays:
    """An amount of business time counted in whole business days (see :meth:`BusinessHours.add_business_days`)."""

    days: int


class HolidayCalendar:
    """The dates the practice is closed all day: public holidays (minus ignored ones) and extra closures."""

    def __init__(
        self,
        country: str | None,
        subdivision: str | None = None,
        *,
        ignore: Iterable[str] = (),
        closed: Iterable[date] = (),
        opened: Iterable[date] = (),
    ) -> None:
        self.country = country
        self.subdivision = subdivision
        self._ignore = frozenset(holiday_base_name(n) for n in ignore)
        self._closed = frozenset(closed)
        self._opened = frozenset(opened)
        self._years: dict[int, dict[date, str]] = {}

    def _holidays(self, year: int) -> dict[date, str]:
        found = self._years.get(year)
        if found is None:
            found = {}
            if self.country:
                import holidays

                cal = holidays.country_holidays(self.country, subdiv=self.subdivision, years=year)
                for day, names in cal.items():
                    kept = [n for n in names.split("; ") if holiday_base_name(n) not in self._ignore]
                    if kept:
                        found[day] = "; ".join(kept)
            self._years[year] = found
        return found

    def is_closed(self, day: date) -> bool:
        """True when the practice is closed all of ``day`` (a holiday or an extra closed date)."""
        if day in self._opened:
            return False
        return day in self._closed or day in self._holidays(day.year)

    def holiday_name(self, day: date) -> str | None:
        """The holiday's name when ``day`` is a public holiday the practice observes."""
        if day in self._opened:
            return None
        return self._holidays(day.year).get(day)


class BusinessHours:
    """The practice's clock: weekly hours in its zone, minus holidays and closures."""

    def __init__(
        self,
        tz: ZoneInfo,
        weekly_hours: tuple[tuple[tuple[int, int], ...], ...],
        calendar: HolidayCalendar | None = None,
    ) -> None:
        if len(weekly_hours) != 7:
            raise ValueError("weekly_hours needs seven days, Monday first")
        if not any(weekly_hours):
            raise ValueError("the practice has no opening hours on any weekday")
        self.tz = tz
        self.weekly_hours = weekly_hours
        self.calendar = calendar or HolidayCalendar(None)
        self._days: dict[int, _Day] = {}
        self._following: dict[int, int] = {}  # local day -> the next day with opening hours
        # Any fixed offset near the zone's works as a first guess; _ordinal corrects it.
        self._guess_us = int(datetime(2000, 1, 1, tzinfo=tz).utcoffset().total_seconds()) * _US  # type: ignore[union-attr]

    @classmethod
    def from_config(cls, config: PracticeConfig) -> BusinessHours:
        """The clock described by a practice's settings."""
        calendar = HolidayCalendar(
            config.holiday_country,
            config.holiday_subdivision,
            ignore=config.holiday_ignore,
            closed=config.closed_dates,
            opened=config.open_dates,
        )
        return cls(config.tz, config.weekly_hours, calendar)

    # ------------------------------------------------------------------ public API

    def is_open(self, t: datetime) -> bool:
        """True when ``t`` falls inside opening hours (opening time included, closing time excluded)."""
        ts = _to_us(t)
        return any(s <= ts < e for s, e in self._day(self._ordinal(ts))[1])

    def next_open(self, t: datetime) -> datetime:
        """``t`` itself when the practice is open then, else the next moment it opens."""
        ts = _to_us(t)
        return _from_us(self._advance(ts, self._ordinal(ts), 0))

    def add_business_time(self, start: datetime, amount: timedelta | BusinessDays) -> datetime:
        """The moment ``amount`` of opening hours has passed since ``start``.

        A ``timedelta`` counts only time inside opening hours (from the next opening when
        ``start`` is outside them); a :class:`BusinessDays` is handled by :meth:`add_business_days`.
        The result is the earliest such moment, so it can be a closing time.
        """
        if isinstance(amount, BusinessDays):
            return self.add_business_days(start, amount.days)
        if not isinstance(amount, timedelta):
            raise TypeError("amount must be a timedelta or BusinessDays")
        rem = amount // _ONE_US
        if rem < 0:
            raise ValueError("business time cannot be negative")
        ts = _to_us(start)
        return _from_us(self._advance(ts, self._ordinal(ts), rem))

    def add_business_days(self, start: datetime, days: int) -> datetime:
        """The same point of the opening hours ``days`` business days later.

        One business day is one day's opening hours: the result lies as far into the opening
        hours of the ``days``-th next business day as ``start`` lay into its own day's
        (16:30 Friday + 1 → 16:30 Monday with 08:00-17:00 days; clamped to that day's close
        when it is shorter). A message before opening, after closing or on a closed day
        counts from the next opening, so it is due at the close of the ``days``-th business
        day (22:00 Friday + 1 → 17:00 Monday). ``days=0`` gives :meth:`next_open`.
        """
        if days < 0:
            raise ValueError("business days cannot be negative")
        ts = _to_us(start)
        return _from_us(self._add_days(ts, self._ordinal(ts), days))

    def response_clock(
        self, received_at: datetime, targets: Iterable[Target]
    ) -> tuple[datetime | None, bool, datetime | None]:
        """For a message received at ``received_at``: (due time, after hours?, next opening if after hours).

        The due time is the earliest of ``targets`` (None when there are none). One pass
        over the cached day table; this is what triage calls for every message.
        """
        ts = _to_us(received_at)
        o = self._ordinal(ts)
        opens = self._advance(ts, o, 0)
        due: int | None = None
        for target in targets:
            kind = target.kind
            if kind is TargetKind.WALL:
                d = ts + target.units
            elif kind is TargetKind.BUSINESS:
                d = self._advance(ts, o, target.units)
            else:
                d = self._add_days(ts, o, target.units)
            if due is None or d < due:
                due = d
        after = opens != ts
        return (None if due is None else _from_us(due)), after, (_from_us(opens) if after else None)

    def business_time_between(self, start: datetime, end: datetime) -> timedelta:
        """How much opening time lies between ``start`` and ``end`` (zero when ``end`` is not later)."""
        a, b = _to_us(start), _to_us(end)
        if b <= a:
            return timedelta(0)
        o, last = self._ordinal(a), self._ordinal(b)
        total = 0
        while o <= last:
            for s, e in self._day(o)[1]:
                lo, hi = max(s, a), min(e, b)
                if hi > lo:
                    total += hi - lo
            o += 1
        return timedelta(microseconds=total)

    def open_intervals(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The opening intervals of the local ``day`` as UTC datetimes (empty when closed)."""
        return tuple((_from_us(s), _from_us(e)) for s, e in self._day(day.toordinal())[1])

    # ------------------------------------------------------------------ internals

    def _day(self, o: int) -> _Day:
        found = self._days.get(o)
        if found is None:
            found = self._build(o)
            self._days[o] = found
        return found

    def _build(self, o: int) -> _Day:
        d = date.fromordinal(o)
        tz = self.tz
        start = _local_us(d, 0, tz)
        if self.calendar.is_closed(d):
            return start, ()
        out: list[tuple[int, int]] = []
        for s, e in self.weekly_hours[d.weekday()]:
            us, ue = _local_us(d, s, tz), _local_us(d, e, tz)
            if ue > us:  # an interval inside a skipped DST hour has no length
                out.append((us, ue))
        return start, tuple(out)

    def _ordinal(self, ts: int) -> int:
        """The practice-local date ordinal containing the UTC instant ``ts``."""
        o = (ts + self._guess_us) // _DAY_US + _EPOCH_ORDINAL
        days = self._days
        today = days.get(o) or self._day(o)
        if ts < today[0]:
            while ts < self._day(o)[0]:
                o -= 1
            return o
        tomorrow = days.get(o + 1) or self._day(o + 1)
        if ts >= tomorrow[0]:
            o += 1
            while ts >= self._day(o + 1)[0]:
                o += 1
        return o

    def _advance(self, ts: int, o: int, rem: int) -> int:
        """Walk opening intervals from ``ts`` (in local day ``o``) until ``rem`` µs of them have passed."""
        days, following = self._days, self._following
        for _ in range(_MAX_DAYS):
            for s, e in (days.get(o) or self._day(o))[1]:
                if e <= ts:
                    continue
                if s < ts:
                    s = ts
                if rem <= e - s:
                    return s + rem
                rem -= e - s
            o = following.get(o) or self._next_business_day(o)
        raise ValueError(f"no opening hours within {_MAX_DAYS} days; check the practice's hours and closures")

    def _add_days(self, ts: int, o: int, days: int) -> int:
        """:meth:`add_business_days` on µs timestamps (``o`` is the local day of ``ts``)."""
        if days == 0:
            return self._advance(ts, o, 0)
        following = self._following
        elapsed = total = 0
        for s, e in (self._days.get(o) or self._day(o))[1]:
            if ts >= e:
                elapsed += e - s
            elif ts > s:
                elapsed += ts - s
            total += e - s
        if elapsed == total:  # closed today, or after today's last close
            o = following.get(o) or self._next_business_day(o)
            elapsed = 0
        if elapsed == 0:  # counts from an opening: due at the close of the days-th business day
            days -= 1
        for _ in range(days):
            o = following.get(o) or self._next_business_day(o)
        intervals = self._day(o)[1]
        if elapsed:
            for s, e in intervals:
                if elapsed <= e - s:
                    return s + elapsed
                elapsed -= e - s
        return intervals[-1][1]

    def _next_business_day(self, o: int) -> int:
        """The next local day after ``o`` with opening hours (cached in ``_following``)."""
        n = o
        for _ in range(_MAX_DAYS):
            n += 1
            if self._day(n)[1]:
                self._following[o] = n
                return n
        raise ValueError(f"no opening hours within {_MAX_DAYS} days; check the practice's hours and closures")


def _to_us(t: datetime) -> int:
    if t.tzinfo is None:
        raise ValueError("a naive datetime has no time zone; pass an aware (UTC) datetime")
    return (t - _EPOCH) // _ONE_US


def _from_us(us: int) -> datetime:
    # A double holds any µs timestamp of this era to ±0.12 µs, so rounding in fromtimestamp is exact.
    return datetime.fromtimestamp(us / _US, UTC)


def _local_us(d: date, seconds: int, tz: ZoneInfo) -> int:
    """UTC µs of local wall time ``seconds`` after midnight of ``d`` (86400 = the next midnight).

    A wall time inside a skipped DST hour maps with the earlier offset (PEP 495 ``fold=0``).
    """
    if seconds >= 86_400:
        d, seconds = d + timedelta(days=1), seconds - 86_400
    h, rest = divmod(seconds, 3600)
    local = datetime(d.year, d.month, d.day, h, rest // 60, rest % 60, tzinfo=tz)
    return (local - _EPOCH) // _ONE_US
