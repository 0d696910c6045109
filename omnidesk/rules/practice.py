"""The practice's settings file: name, time zone, hours, holidays, queues, routing and response targets.

The shipped ``default_practice.toml`` is read first; each override file given to
:func:`load_practice` changes only the keys it sets (tables merge key by key, lists
are replaced). Every value is checked, and a problem raises :class:`PracticeConfigError`
naming the file and the dotted key.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from importlib import resources
from itertools import pairwise
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from omnidesk.model import QUEUE_UNMATCHED, Intent, Urgency

DEFAULT_SOURCE = "default_practice.toml"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY_ALIASES = {name[:3]: name for name in WEEKDAYS} | {"tues": "tuesday", "thurs": "thursday"}
DEFAULT_TARGET_KEY = "default"

# Top-level sections and their keys (``None``: free keys, validated per section).
_SCHEMA: dict[str, frozenset[str] | None] = {
    "practice": frozenset({"name", "timezone"}),
    "hours": None,
    "holidays": frozenset({"country", "subdivision", "ignore", "closed", "open"}),
    "queues": None,
    "routing": frozenset({"default", "consent", "urgency", "intent"}),
    "targets": frozenset({"urgency", "intent"}),
}
_SUBTABLES = {("routing", "urgency"), ("routing", "intent"), ("targets", "urgency"), ("targets", "intent")}
_QUEUE_ID = re.compile(r"[a-z][a-z0-9_]{0,31}")
_INTERVAL = re.compile(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*")
_DURATION = re.compile(
    r"\s*(\d+(?:\.\d+)?)\s*(business\s+|working\s+)?(minutes?|mins?|m|hours?|hrs?|h|days?|d)\s*", re.IGNORECASE
)
_OBSERVED = re.compile(r"\s*\((?:observed|estimated)[^)]*\)\s*$", re.IGNORECASE)


class PracticeConfigError(ValueError):
    """A practice settings file is unreadable or has a bad value; the message names the file and key."""

    def __init__(self, source: str, key: str, problem: str) -> None:
        self.source = source
        self.key = key
        self.problem = problem
        super().__init__(f"{source}: {key}: {problem}" if key else f"{source}: {problem}")


class TargetKind(StrEnum):
    """How a response target counts time."""

    WALL = "wall"  # wall-clock time, day and night
    BUSINESS = "business"  # only time inside opening hours
    BUSINESS_DAYS = "business_days"  # the same point of the n-th next business day


@dataclass(frozen=True, slots=True)
class Target:
    """A response target, e.g. ``5 minutes`` (wall clock) or ``2 business days``."""

    kind: TargetKind
    amount: timedelta | int  # timedelta for WALL/BUSINESS, whole days for BUSINESS_DAYS
    text: str
    units: int = field(init=False, repr=False, compare=False)  # µs, or days for BUSINESS_DAYS

    def __post_init__(self) -> None:
        amount = self.amount
        units = amount // timedelta(microseconds=1) if isinstance(amount, timedelta) else int(amount)
        object.__setattr__(self, "units", units)

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class PracticeConfig:
    """Everything the router and the business-hours clock need, validated.

    ``weekly_hours[d]`` holds the opening intervals of weekday ``d`` (0 = Monday) as
    (start, end) seconds since local midnight (end may be 86400 for "24:00").
    ``queues`` is the display order, with the emergency queue first.
    """

    name: str
    timezone: str
    tz: ZoneInfo
    weekly_hours: tuple[tuple[tuple[int, int], ...], ...]
    holiday_country: str | None
    holiday_subdivision: str | None
    holiday_ignore: tuple[str, ...]
    closed_dates: frozenset[date]
    open_dates: frozenset[date]
    queues: tuple[tuple[str, str], ...]
    default_queue: str
    consent_queue: str
    urgency_queues: Mapping[str, str]
    intent_queues: Mapping[str, str]
    urgency_targets: Mapping[str, Target]
    intent_targets: Mapping[str, Target]
    default_target: Target
    sources: tuple[str, ...] = (DEFAULT_SOURCE,)

    @property
    def emergency_queue(self) -> str:
        """The queue pinned above every other one."""
        return self.urgency_queues[Urgency.EMERGENCY.value]

    def queue_label(self, queue: str) -> str:
        """The label staff see for ``queue`` (the id itself if it is not configured)."""
        for qid, label in self.queues:
            if qid == queue:
                return label
        return queue

    def target_for(self, urgency: str, intent: str | None) -> tuple[Target, ...]:
        """The targets that apply to a message: its urgency's (if any) and its primary intent's."""
        out: list[Target] = []
        ut = self.urgency_targets.get(urgency)
        if ut is not None:
            out.append(ut)
        it = self.intent_targets.get(intent, self.default_target) if intent is not None else self.default_target
        out.append(it)
        return tuple(out)


# ---------------------------------------------------------------------------------------------- loading


def load_practice(overrides: Iterable[Path] = ()) -> PracticeConfig:
    """Read the shipped defaults, then each override file in order; validate and return the result."""
    leaves = _default_leaves()
    sources = [DEFAULT_SOURCE]
    for path in overrides:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise PracticeConfigError(source, "", f"cannot read the file ({type(exc).__name__})") from None
        except UnicodeDecodeError:
            raise PracticeConfigError(source, "", "the file is not UTF-8 text") from None
        _merge(leaves, _flatten(_parse_toml(text, source), source))
        sources.append(source)
    return _build(leaves, tuple(sources))


def parse_practice(text: str, source: str = "practice.toml") -> PracticeConfig:
    """The defaults overridden by the TOML ``text`` (for tests and tools holding the file in memory)."""
    leaves = _default_leaves()
    _merge(leaves, _flatten(_parse_toml(text, source), source))
    return _build(leaves, (DEFAULT_SOURCE, source))


def _default_leaves() -> dict[tuple[str, ...], _Leaf]:
    text = resources.files("omnidesk.rules").joinpath(DEFAULT_SOURCE).read_text(encoding="utf-8")
    return _flatten(_parse_toml(text, DEFAULT_SOURCE), DEFAULT_SOURCE)


def _merge(leaves: dict[tuple[str, ...], _Leaf], override: Mapping[tuple[str, ...], _Leaf]) -> None:
    """Apply one file over the merged result so far; ``queue_id = false`` removes a queue."""
    for key, leaf in override.items():
        if key[0] == "queues" and leaf.value is False:
            leaves.pop(key, None)
        else:
            leaves[key] = leaf


@dataclass(frozen=True, slots=True)
class _Leaf:
    value: Any
    source: str


def _parse_toml(text: str, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PracticeConfigError(source, "", f"not valid TOML ({exc})") from None


def _dotted(key: tuple[str, ...]) -> str:
    return ".".join(key)


def _flatten(data: Mapping[str, Any], source: str) -> dict[tuple[str, ...], _Leaf]:
    """Turn one file into {dotted key: value}; unknown tables and keys are errors here, with the file named."""
    out: dict[tuple[str, ...], _Leaf] = {}
    for table, body in data.items():
        if table not in _SCHEMA:
            known = ", ".join(f"[{t}]" for t in _SCHEMA)
            raise PracticeConfigError(source, table, f"unknown section (known: {known})")
        if not isinstance(body, dict):
            raise PracticeConfigError(source, table, f"must be a section [{table}], not a single value")
        allowed = _SCHEMA[table]
        for key, value in body.items():
            path = (table, key)
            if table == "hours":
                path = ("hours", _weekday(key, source))
            elif allowed is not None and key not in allowed:
                raise PracticeConfigError(
                    source, _dotted(path), f"unknown key (known: {', '.join(sorted(k for k in allowed))})"
                )
            if path in _SUBTABLES:
                if not isinstance(value, dict):
                    raise PracticeConfigError(source, _dotted(path), f"must be a section [{_dotted(path)}]")
                for sub, subvalue in value.items():
                    out[(*path, sub)] = _Leaf(subvalue, source)
            elif isinstance(value, dict):
                raise PracticeConfigError(source, _dotted(path), "must be a single value, not a section")
            else:
                if path in out:
                    raise PracticeConfigError(source, _dotted(path), "is set twice")
                out[path] = _Leaf(value, source)
    return out


def _weekday(key: str, source: str) -> str:
    k = key.strip().lower()
    if k in WEEKDAYS:
        return k
    if k in _WEEKDAY_ALIASES:
        return _WEEKDAY_ALIASES[k]
    raise PracticeConfigError(source, f"hours.{key}", "unknown weekday (use monday, tuesday, … sunday)")


# ---------------------------------------------------------------------------------------------- validation


def _build(leaves: dict[tuple[str, ...], _Leaf], sources: tuple[str, ...]) -> PracticeConfig:
    def get(*key: str) -> _Leaf | None:
        return leaves.get(key)

    def err(key: tuple[str, ...], problem: str) -> PracticeConfigError:
        leaf = leaves.get(key)
        return PracticeConfigError(leaf.source if leaf else sources[-1], _dotted(key), problem)

    name = _string(get("practice", "name"), ("practice", "name"), err, default="")
    tz_name = _string(get("practice", "timezone"), ("practice", "timezone"), err, default="America/New_York")
    tz = _zone(tz_name, err)

    weekly = tuple(_day_hours(get("hours", day), ("hours", day), err) for day in WEEKDAYS)
    if not any(weekly):
        raise err(("hours",), "the practice is closed every day; give opening hours for at least one weekday")

    country = _string(get("holidays", "country"), ("holidays", "country"), err, default="").strip().upper() or None
    subdivision = _string(get("holidays", "subdivision"), ("holidays", "subdivision"), err, default="").strip()
    subdivision = subdivision.upper() or None
    ignore = _string_list(get("holidays", "ignore"), ("holidays", "ignore"), err)
    _check_holidays(country, subdivision, ignore, err)
    closed = _dates(get("holidays", "closed"), ("holidays", "closed"), err)
    opened = _dates(get("holidays", "open"), ("holidays", "open"), err)

    queues = _queues(leaves, err)
    queue_ids = {q for q, _ in queues}

    def queue_ref(key: tuple[str, ...], required_default: str | None = None) -> str:
        leaf = leaves.get(key)
        if leaf is None:
            if required_default is None:
                raise err(key, "must name a queue")
            value = required_default
        else:
            value = leaf.value
        if not isinstance(value, str) or not value.strip():
            raise err(key, 'must name a queue, e.g. "front_desk"')
        value = value.strip()
        if value not in queue_ids:
            raise err(key, f"queue {value!r} is not defined under [queues] (defined: {', '.join(sorted(queue_ids))})")
        return value

    default_queue = queue_ref(("routing", "default"))
    consent_queue = queue_ref(("routing", "consent"), default_queue)
    urgency_values = {u.value for u in Urgency}
    intent_values = {i.value for i in Intent}
    urgency_queues: dict[str, str] = {}
    intent_queues: dict[str, str] = {}
    for key in leaves:
        if key[:2] == ("routing", "urgency"):
            if key[2] not in urgency_values:
                raise err(key, f"unknown urgency (known: {', '.join(sorted(urgency_values))})")
            urgency_queues[key[2]] = queue_ref(key)
        elif key[:2] == ("routing", "intent"):
            if key[2] not in intent_values:
                raise err(key, f"unknown intent (known: {', '.join(sorted(intent_values))})")
            intent_queues[key[2]] = queue_ref(key)
    if Urgency.EMERGENCY.value not in urgency_queues:
        raise err(("routing", "urgency", "emergency"), "emergencies must be routed to a queue")

    urgency_targets: dict[str, Target] = {}
    intent_targets: dict[str, Target] = {}
    default_target: Target | None = None
    for key, leaf in leaves.items():
        if key[:2] == ("targets", "urgency"):
            if key[2] not in urgency_values:
                raise err(key, f"unknown urgency (known: {', '.join(sorted(urgency_values))})")
            urgency_targets[key[2]] = _target(leaf.value, key, err)
        elif key[:2] == ("targets", "intent"):
            if key[2] == DEFAULT_TARGET_KEY:
                default_target = _target(leaf.value, key, err)
            elif key[2] not in intent_values:
                raise err(key, f"unknown intent (known: default, {', '.join(sorted(intent_values))})")
            else:
                intent_targets[key[2]] = _target(leaf.value, key, err)
    if default_target is None:
        raise err(("targets", "intent", "default"), "a default response target is required")

    # The emergency queue is pinned above everything, whatever its position in the file.
    emergency = urgency_queues[Urgency.EMERGENCY.value]
    queues = tuple(sorted(queues, key=lambda q: q[0] != emergency))
    return PracticeConfig(
        name=name.strip(),
        timezone=tz_name,
        tz=tz,
        weekly_hours=weekly,
        holiday_country=country,
        holiday_subdivision=subdivision,
        holiday_ignore=ignore,
        closed_dates=closed,
        open_dates=opened,
        queues=queues,
        default_queue=default_queue,
        consent_queue=consent_queue,
        urgency_queues=MappingProxyType(urgency_queues),
        intent_queues=MappingProxyType(intent_queues),
        urgency_targets=MappingProxyType(urgency_targets),
        intent_targets=MappingProxyType(intent_targets),
        default_target=default_target,
        sources=sources,
    )


def _string(leaf: _Leaf | None, key: tuple[str, ...], err: Any, *, default: str) -> str:
    if leaf is None:
        return default
    if not isinstance(leaf.value, str):
        raise err(key, "must be text in quotes")
    return leaf.value


def _string_list(leaf: _Leaf | None, key: tuple[str, ...], err: Any) -> tuple[str, ...]:
    if leaf is None:
        return ()
    if not isinstance(leaf.value, list) or not all(isinstance(v, str) for v in leaf.value):
        raise err(key, 'must be a list of text, e.g. ["Columbus Day"]')
    return tuple(v.strip() for v in leaf.value)


def _zone(name: str, err: Any) -> ZoneInfo:
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        problem = f"unknown time zone {name!r} (use an IANA name like America/New_York)"
        raise err(("practice", "timezone"), problem) from None


def _day_hours(leaf: _Leaf | None, key: tuple[str, ...], err: Any) -> tuple[tuple[int, int], ...]:
    if leaf is None:
        return ()
    value = leaf.value
    if isinstance(value, str):
        value = [] if value.strip().lower() in {"closed", ""} else [value]
    if not isinstance(value, list):
        raise err(key, 'must be a list of "HH:MM-HH:MM" intervals, or "closed"')
    out: list[tuple[int, int]] = []
    for i, item in enumerate(value):
        ikey = (*key[:-1], f"{key[-1]}[{i}]")
        m = _INTERVAL.fullmatch(item) if isinstance(item, str) else None
        if m is None:
            raise err(ikey, f'{item!r} is not an interval like "08:00-17:00"')
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2 != 0):
            raise err(ikey, f"{item!r} has an impossible time of day")
        start, end = h1 * 3600 + m1 * 60, h2 * 3600 + m2 * 60
        if end <= start:
            raise err(ikey, f"{item!r}: the end must be after the start (intervals cannot cross midnight)")
        out.append((start, end))
    out.sort()
    for (_, e1), (s2, _) in pairwise(out):
        if s2 < e1:
            raise err(key, "intervals overlap")
    # Merge touching intervals ("08:00-12:00", "12:00-17:00") into one.
    merged: list[tuple[int, int]] = []
    for s, e in out:
        if merged and merged[-1][1] == s:
            merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return tuple(merged)


def _dates(leaf: _Leaf | None, key: tuple[str, ...], err: Any) -> frozenset[date]:
    if leaf is None:
        return frozenset()
    if not isinstance(leaf.value, list):
        raise err(key, 'must be a list of dates, e.g. ["2026-12-24", "2026-12-28..2026-12-31"]')
    out: set[date] = set()
    for i, item in enumerate(leaf.value):
        ikey = (*key[:-1], f"{key[-1]}[{i}]")
        if isinstance(item, datetime):
            raise err(ikey, "must be a date without a time")
        if isinstance(item, date):
            out.add(item)
            continue
        if not isinstance(item, str):
            raise err(ikey, f"{item!r} is not a date like 2026-12-24")
        first, sep, last = item.partition("..")
        try:
            d1 = date.fromisoformat(first.strip())
            d2 = date.fromisoformat(last.strip()) if sep else d1
        except ValueError:
            raise err(ikey, f"{item!r} is not a date like 2026-12-24 or a range like 2026-12-28..2026-12-31") from None
        if d2 < d1:
            raise err(ikey, f"{item!r}: the range ends before it starts")
        if (d2 - d1).days > 366:
            raise err(ikey, f"{item!r}: a closure longer than a year is not allowed")
        out.update(d1 + timedelta(days=n) for n in range((d2 - d1).days + 1))
    return frozenset(out)


def _check_holidays(country: str | None, subdivision: str | None, ignore: Sequence[str], err: Any) -> None:
    if country is None:
        if subdivision:
            raise err(("holidays", "subdivision"), "a subdivision needs a country")
        if ignore:
            raise err(("holidays", "ignore"), "there is no holiday calendar to ignore entries of (no country)")
        return
    import holidays

    try:
        holidays.country_holidays(country)
    except NotImplementedError:
        raise err(("holidays", "country"), f"{country!r} is not a country the holidays package knows") from None
    if subdivision is not None:
        try:
            holidays.country_holidays(country, subdiv=subdivision)
        except NotImplementedError:
            raise err(("holidays", "subdivision"), f"{country} has no subdivision {subdivision!r}") from None
    if ignore:
        year = date.today().year
        cal = holidays.country_holidays(country, subdiv=subdivision, years=range(year - 2, year + 3))
        known = {holiday_base_name(n) for names in cal.values() for n in names.split("; ")}
        for i, name in enumerate(ignore):
            if holiday_base_name(name) not in known:
                raise err(
                    ("holidays", f"ignore[{i}]"),
                    f"{name!r} is not a holiday in this calendar (known: {', '.join(sorted(known))})",
                )


def holiday_base_name(name: str) -> str:
    """A holiday's name without the "(observed)" suffix, case-folded, for matching ``ignore`` entries."""
    return _OBSERVED.sub("", name).strip().casefold()


def _queues(leaves: Mapping[tuple[str, ...], _Leaf], err: Any) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    for key, leaf in leaves.items():
        if key[0] != "queues":
            continue
        qid = key[1]
        if not _QUEUE_ID.fullmatch(qid):
            raise err(key, "a queue id is lowercase letters, digits and _ (at most 32), starting with a letter")
        if not isinstance(leaf.value, str) or not leaf.value.strip():
            raise err(key, 'must be the label staff see, e.g. "Front desk"')
        out.append((qid, leaf.value.strip()))
    ids = {q for q, _ in out}
    if QUEUE_UNMATCHED not in ids:
        raise err(("queues", QUEUE_UNMATCHED), "the unmatched queue is required (senders no patient matches)")
    return tuple(out)


def _target(value: Any, key: tuple[str, ...], err: Any) -> Target:
    m = _DURATION.fullmatch(value) if isinstance(value, str) else None
    if m is None:
        raise err(key, f'{value!r} is not a duration like "5 minutes", "1 hour" or "2 business days"')
    number, business, unit = float(m.group(1)), m.group(2), m.group(3).lower()
    if number <= 0:
        raise err(key, "must be more than zero")
    text = " ".join(value.split())
    if unit.startswith("d"):
        if business:
            if number != int(number):
                raise err(key, "business days must be a whole number (use business hours for parts of a day)")
            return Target(TargetKind.BUSINESS_DAYS, int(number), text)
        delta = timedelta(days=number)
    elif unit.startswith("h"):
        delta = timedelta(hours=number)
    else:
        delta = timedelta(minutes=number)
    return Target(TargetKind.BUSINESS if business else TargetKind.WALL, delta, text)
