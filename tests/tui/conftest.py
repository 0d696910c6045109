"""A small practice seeded through the real services (init, CSV import, ingest with the real rules).

``NOW`` is the console's frozen clock: every message is a few minutes to a few days before
it, and appointments are after it, so ages, due times and the patient card do not drift.
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from omnidesk.app import OmnideskApp
from omnidesk.model import (
    QUEUE_EMERGENCY,
    QUEUE_FRONT_DESK,
    QUEUE_NURSE,
    Channel,
    Classification,
    InboundMessage,
    Intent,
    RuleMatch,
    Triage,
    Urgency,
)
from omnidesk.rules.triage import TriageEngine
from omnidesk.services.context import Context
from omnidesk.services.importing import import_appointments, import_patients
from omnidesk.services.ingest import ingest
from omnidesk.services.setup import init_store, open_context
from omnidesk.store.engine import sqlite_url

NOW = datetime(2030, 6, 12, 15, 0, tzinfo=UTC)  # a Wednesday, 11:00 in New York
TZ = ZoneInfo("America/New_York")
PRACTICE = "+15555550100"
HOSTILE_BODY = "[bold red]x[/] \x1b[31mred\x1b[0m — please call me"

PATIENTS = [
    # mrn, first, last, dob, mobile, home, email, lang, channel
    ("M001", "Ana", "Ruiz", "1980-02-03", "+15555550111", "", "ana.ruiz@example.org", "es", "sms"),
    ("M002", "Ben", "Okafor", "1975-07-19", "+15555550122", "", "ben@example.org", "en", "email"),
    ("M003", "Carla", "Nguyen", "1991-11-30", "+15555550133", "", "", "en", "sms"),
    ("M004", "Dan", "Price", "1962-04-01", "+15555550144", "+15555550199", "", "en", "voicemail"),
    ("M005", "Eve", "Price", "1964-09-09", "+15555550155", "+15555550199", "", "en", "sms"),  # shares home phone
    ("M006", "Finn", "Walsh", "2001-01-21", "+15555550166", "", "finn@example.org", "en", "portal"),
]

APPOINTMENTS = [
    ("M001", "2030-06-14 09:30", "20", "Dr. Lee", "Main St", "booked", "follow-up"),
    ("M002", "2030-06-17 14:00", "30", "Dr. Shah", "Main St", "booked", "annual physical"),
]


def _msg(
    n: int, channel: Channel, sender: str, body: str, minutes_ago: int, subject: str | None = None
) -> InboundMessage:
    return InboundMessage(
        channel=channel,
        provider_id=f"tui-{n}",
        sender=sender,
        recipient=PRACTICE if channel is not Channel.EMAIL else "desk@practice.example",
        body=body,
        received_at=NOW - timedelta(minutes=minutes_ago),
        subject=subject,
    )


MESSAGES = [
    _msg(1, Channel.SMS, "+15555550122", "Hi, can I get a refill on my lisinopril? Running low.", 60 * 26),
    _msg(
        2, Channel.EMAIL, "ben@example.org", "Also my bill from May looks wrong, I was charged twice.", 60 * 25, "Bill"
    ),
    _msg(3, Channel.SMS, "+15555550133", "need to reschedule my appt on friday", 95),
    _msg(4, Channel.SMS, "+15555550199", "This is the Price house, can someone call us back about results", 240),
    _msg(5, Channel.SMS, "+15555550177", "Hello is this the clinic? What are your hours", 30),
    _msg(6, Channel.VOICEMAIL, "+15555550144", HOSTILE_BODY, 12),
    _msg(7, Channel.PORTAL, "finn@example.org", "Could you send my vaccination records to my school?", 60 * 50),
    _msg(8, Channel.SMS, "+15555550111", "I have crushing chest pain right now and I can't breathe", 3),
]


def _write_csv(path: Path, header: list[str], rows: list[tuple[str, ...]]) -> Path:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


class FixedTriage(TriageEngine):
    """Keyword tags that never change, for the snapshots (the rules have their own tests)."""

    __slots__ = ()

    def __init__(self) -> None:  # keywords only: no rule files to load
        pass

    def triage(self, body, subject, channel, received_at, *, reminder_reply=False) -> Triage:
        text = body.lower()
        if "chest pain" in text:
            why = (RuleMatch("urgency.chest_pain", "emergency", "chest pain"),)
            c = Classification((Intent.CLINICAL.value,), Urgency.EMERGENCY, why)
            return Triage(c, QUEUE_EMERGENCY, received_at + timedelta(minutes=5))
        if "refill" in text:
            why = (RuleMatch("intent.refill", "refill", "refill"),)
            c = Classification((Intent.REFILL.value,), Urgency.ROUTINE, why)
            return Triage(c, QUEUE_NURSE, received_at + timedelta(days=2))
        c = Classification((Intent.GENERAL.value,), Urgency.ROUTINE)
        return Triage(c, QUEUE_FRONT_DESK, received_at + timedelta(hours=8), after_hours="hours" in text)


@pytest.fixture
def triage() -> TriageEngine | None:
    """The rules ingest uses for the seeded store (None: the real, shipped rules)."""
    return None


def seed(directory: Path, triage: TriageEngine | None) -> Path:
    """Build the practice in ``directory``/tui.db through the services; return the file."""
    directory.mkdir(parents=True, exist_ok=True)
    url = init_store(sqlite_url(directory / "tui.db"))
    ctx = open_context(url, "admin")
    if triage is not None:
        ctx = Context(ctx.engine, ctx.user, ctx.thread_window_days, triage)
    try:
        header = "mrn,first_name,last_name,dob,mobile_phone,home_phone,email,preferred_language,preferred_channel"
        rep = import_patients(ctx, _write_csv(directory / "patients.csv", header.split(","), PATIENTS))
        assert not rep.errors, rep.errors
        header = "mrn,start,duration_min,provider,location,status,visit_type"
        rep = import_appointments(ctx, _write_csv(directory / "appts.csv", header.split(","), APPOINTMENTS))
        assert not rep.errors, rep.errors
        report = ingest(ctx, MESSAGES)
        assert report.new == len(MESSAGES) and not report.rejected, report
    finally:
        ctx.engine.dispose()  # the last connection closing checkpoints the WAL into the file
    return directory / "tui.db"


@pytest.fixture(scope="session")
def seeded_file(tmp_path_factory: pytest.TempPathFactory) -> Callable[[TriageEngine | None], Path]:
    """``seeded_file(triage)``: the practice seeded with those rules, built once per run."""
    built: dict[str, Path] = {}

    def get(triage: TriageEngine | None) -> Path:
        kind = type(triage).__name__ if triage is not None else "shipped-rules"
        if kind not in built:
            built[kind] = seed(tmp_path_factory.mktemp(f"seed-{kind}"), triage)
        return built[kind]

    return get


@pytest.fixture
def seeded_url(tmp_path: Path, triage: TriageEngine | None, seeded_file: Callable[..., Path]) -> str:
    """A migrated SQLite store with six patients, two appointments and eight messages (a fresh copy)."""
    target = tmp_path / "tui.db"
    shutil.copyfile(seeded_file(triage), target)
    return sqlite_url(target)


@pytest.fixture
def contexts(seeded_url: str) -> Iterator[Callable[[str], Context]]:
    """``contexts(username)`` opens the seeded store as that staff member (disposed afterwards)."""
    opened: list[Context] = []

    def make(username: str = "frontdesk") -> Context:
        ctx = open_context(seeded_url, username)
        opened.append(ctx)
        return ctx

    yield make
    for ctx in opened:
        ctx.engine.dispose()


@pytest.fixture
def make_app(contexts: Callable[[str], Context]) -> Callable[..., OmnideskApp]:
    """``make_app(**kw)``: the console on the seeded store as ``frontdesk``, with the frozen clock."""

    def make(username: str = "frontdesk", **kw: object) -> OmnideskApp:
        kw.setdefault("clock", lambda: NOW)
        kw.setdefault("tz", TZ)
        return OmnideskApp(lambda: contexts(username), **kw)  # type: ignore[arg-type]

    return make


async def settle(pilot) -> None:
    """Let every worker finish (but the change feed's, which follows the store until the app
    closes) and the messages they posted be handled."""
    app = pilot.app
    for _ in range(4):
        await pilot.pause()
        others = [w for w in app.workers if w.group != "feed"]
        if others:  # an empty list would mean "every worker"
            await app.workers.wait_for_complete(others)
    await pilot.pause()
