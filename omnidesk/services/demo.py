"""The demo practice: a believable family-medicine and pediatrics office, seeded through the real paths.

Patients and appointments go in through :mod:`omnidesk.services.importing` (CSV files in a
temporary folder, the same path an admin uses), messages through
:func:`omnidesk.services.ingest.ingest` — so the demo inbox is tagged, threaded and routed
by the real rules, and shows what a practice would see. Everything is deterministic for
a seed and an anchor time; the anchor is stored, so seeding again (without ``--fresh``)
produces the same rows and changes nothing (messages dedupe on provider id, patients on
MRN, appointments on their slot).

People are invented (see :mod:`omnidesk.channels.simulated_content`): phones are in the
fictional 555-0100…0199 blocks, emails at example.com/.org/.net.
"""

from __future__ import annotations

import csv
import hashlib
import random
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import groupby
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import and_, bindparam, select, true, update

from omnidesk.channels.simulated import SimContact, SimulatedChannel
from omnidesk.channels.simulated_content import (
    EMAIL_DOMAINS,
    FIRST_F_EN,
    FIRST_F_ES,
    FIRST_M_EN,
    FIRST_M_ES,
    FOLLOW_UPS,
    LAST_EN,
    LAST_ES,
    LOCATIONS,
    ODDBALL_TEXTS,
    PORTAL_ADDRESS,
    PRACTICE_EMAIL,
    PRACTICE_NAME,
    PRACTICE_PHONE,
    SMS_ONLY_INTENTS,
    Sender,
    ascii_slug,
    compose,
    compose_unknown,
    fictional_phone,
    pick_intent,
    quote_reply,
)
from omnidesk.model import Channel, InboundMessage, IngestReport, ThreadStatus, Urgency
from omnidesk.services import audit
from omnidesk.services.context import Context
from omnidesk.services.importing import PATIENT_COLUMNS, import_appointments, import_patients
from omnidesk.services.inbox import acknowledge_emergency
from omnidesk.services.ingest import ingest
from omnidesk.services.reminders import record_reminder
from omnidesk.services.setup import ensure_default_staff, init_store, open_context, staff_user
from omnidesk.services.sync import Source, SyncLoop
from omnidesk.store.engine import default_db_path, reading, sqlite_path, sqlite_url
from omnidesk.store.schema import contacts, messages, patient_contacts, patients, settings, threads

DEMO_TZ = ZoneInfo("America/New_York")
DEMO_SETTING = "demo.seed"
DEMO_CURSOR = "simulated:demo"
_UNKNOWN_PHONE_BASE = 700  # fictional_phone() indexes from here on are never given to a patient


# ---------------------------------------------------------------------------- where


def demo_db_path() -> Path:
    """The demo's SQLite file, next to the default database in the user data folder."""
    return default_db_path().with_name("demo.db")


def demo_db_url() -> str:
    """SQLAlchemy URL of the demo database."""
    return sqlite_url(demo_db_path())


def prepare_demo(*, fresh: bool = False, progress: Callable[[str], None] | None = None, url: str | None = None) -> str:
    """Create (or, with ``fresh``, recreate) the demo database and seed it if it is not yet; return its URL."""
    say = progress or (lambda _msg: None)
    url = url or demo_db_url()
    path = sqlite_path(url)
    if fresh and path is not None:
        for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            p.unlink(missing_ok=True)
    url = init_store(url)
    ctx = open_context(url)
    try:
        if not is_seeded(ctx):
            say("seeding the demo practice (300 patients, 2,000 messages)…")
            seed_demo(ctx)
    finally:
        ctx.engine.dispose()
    return url


def is_seeded(ctx: Context) -> bool:
    """True when a complete demo seed is recorded in this database."""
    return bool((_read_setting(ctx) or {}).get("complete"))


# ---------------------------------------------------------------------------- the plan (pure)


@dataclass(slots=True)
class DemoPatient:
    mrn: str
    first: str
    last: str
    dob: date
    girl: bool
    language: str
    channel: str
    mobile: str | None
    home: str | None
    email: str | None
    household: int
    kid: bool


@dataclass(frozen=True, slots=True)
class DemoReminder:
    """An appointment reminder the practice texted (stored as sent before the replies arrive)."""

    mrn: str
    to: str
    body: str
    sent_at: datetime
    provider_id: str


@dataclass(slots=True)
class DemoPlan:
    """Everything :func:`seed_demo` will insert, computed without touching the store."""

    patients: list[DemoPatient]
    appointments: list[dict[str, str]]
    messages: list[InboundMessage]
    acknowledged: list[str] = field(default_factory=list)  # provider ids of old emergencies staff handled
    unacknowledged: list[str] = field(default_factory=list)
    reminders: list[DemoReminder] = field(default_factory=list)


def plan_demo(*, patients: int = 300, messages: int = 2000, seed: int = 7, now: datetime) -> DemoPlan:
    """The demo practice for ``seed`` as of ``now`` (aware): same inputs, same plan."""
    rng = random.Random(seed)
    people = _people(rng, patients, now.astimezone(DEMO_TZ).date())
    appts = _appointments(rng, people, now)
    plan = DemoPlan(people, appts, [])
    _messages(rng, plan, messages, seed, now)
    plan.messages.sort(key=lambda m: (m.received_at, m.provider_id))
    return plan


def _phone_fmt(rng: random.Random, e164: str | None) -> str:
    """The number the way a front desk typed it (the importer normalizes it)."""
    if e164 is None:
        return ""
    a, b, c = e164[2:5], e164[5:8], e164[8:]
    return rng.choice((f"({a}) {b}-{c}", f"{a}-{b}-{c}", e164, f"{a}.{b}.{c}", f"1 {a} {b} {c}"))


def _people(rng: random.Random, count: int, today: date) -> list[DemoPatient]:
    out: list[DemoPatient] = []
    next_phone = 1  # index 0 is the practice's own number
    emails_used: set[str] = set()

    def phone() -> str:
        nonlocal next_phone
        number = fictional_phone(next_phone)
        next_phone += 1
        return number

    def email_for(first: str, last: str) -> str:
        base = f"{ascii_slug(first)}.{ascii_slug(last)}"
        domain = rng.choice(EMAIL_DOMAINS)
        addr, n = f"{base}@{domain}", 1
        while addr in emails_used:
            n += 1
            addr = f"{base}{n}@{domain}"
        emails_used.add(addr)
        return addr

    def born(min_age: int, max_age: int) -> date:
        return today - timedelta(days=rng.randint(min_age * 365 + 1, max_age * 365 + 364))

    household = 0
    while len(out) < count:
        household += 1
        hispanic = rng.random() < 0.35
        last = rng.choice(LAST_ES if hispanic else LAST_EN)
        spanish = hispanic and rng.random() < 0.55
        lang = "es" if spanish else "en"
        kind = rng.choices(("single", "couple", "family", "single_parent"), (30, 18, 40, 12))[0]
        home = phone() if rng.random() < 0.5 else None
        adults: list[DemoPatient] = []
        n_adults = 2 if kind in ("couple", "family") else 1
        shared_email = n_adults == 2 and rng.random() < 0.05
        for i in range(n_adults):
            girl = (i == 0) if n_adults == 2 else rng.random() < 0.55
            first = rng.choice(
                (FIRST_F_ES if hispanic else FIRST_F_EN) if girl else (FIRST_M_ES if hispanic else FIRST_M_EN)
            )
            own_last = last
            if i == 1 and rng.random() < 0.15:
                own_last = rng.choice(LAST_ES if hispanic else LAST_EN)
            age = (18, 89) if kind == "single" else (24, 55)
            email: str | None = None
            if shared_email and i == 1:
                email = adults[0].email
            elif rng.random() < (0.85 if not spanish else 0.6):
                email = email_for(first, own_last)
            mobile = phone() if rng.random() < 0.92 else None
            channel = rng.choices(("sms", "email", "portal"), (55, 25, 20) if email else (1, 0, 0))[0]
            adults.append(
                DemoPatient("", first, own_last, born(*age), girl, lang, channel, mobile, home, email, household, False)
            )
        kids: list[DemoPatient] = []
        if kind in ("family", "single_parent"):
            parent = adults[0]
            kid_last = last if rng.random() < 0.9 else f"{last}-{rng.choice(LAST_ES if hispanic else LAST_EN)}"
            kid_uses_parent_mobile = rng.random() < 0.12  # the household's shared number (ambiguous sender)
            for _ in range(rng.choices((1, 2, 3, 4), (35, 40, 18, 7))[0]):
                girl = rng.random() < 0.5
                first = rng.choice(
                    (FIRST_F_ES if hispanic else FIRST_F_EN) if girl else (FIRST_M_ES if hispanic else FIRST_M_EN)
                )
                dob = born(0, 17)
                teen = (today - dob).days > 14 * 365
                mobile = phone() if teen and rng.random() < 0.5 else (parent.mobile if kid_uses_parent_mobile else None)
                kids.append(
                    DemoPatient(
                        "",
                        first,
                        kid_last,
                        dob,
                        girl,
                        lang,
                        parent.channel,
                        mobile,
                        home,
                        parent.email if rng.random() < 0.06 else None,
                        household,
                        True,
                    )
                )
        for p in adults + kids:
            if len(out) >= count:
                break
            p.mrn = f"MS{100001 + len(out)}"
            out.append(p)
    return out


_VISITS_KID = (("Well child", 30), ("Sick visit", 20), ("Vaccines", 15), ("Sports physical", 30), ("Follow-up", 20))
_VISITS_ADULT = (
    ("Annual physical", 40),
    ("Sick visit", 20),
    ("Follow-up", 20),
    ("Medication review", 20),
    ("Telehealth", 15),
    ("Lab draw", 15),
)


def _appointments(rng: random.Random, people: list[DemoPatient], now: datetime) -> list[dict[str, str]]:
    today = now.astimezone(DEMO_TZ).date()
    taken: set[tuple[str, datetime]] = set()
    rows: list[dict[str, str]] = []
    for p in people:
        plans: list[int] = []
        if rng.random() < 0.45:
            plans.append(rng.randint(0, 14))
        if rng.random() < 0.3:
            plans.append(-rng.randint(1, 14))
        for offset in plans:
            day = today + timedelta(days=offset)
            while day.weekday() >= 5:
                day += timedelta(days=1 if offset >= 0 else -1)
            provider = (
                rng.choice(("Dr. Priya Nair", "Jordan Lee, PA-C"))
                if p.kid
                else rng.choice(("Dr. Ana Ramírez", "Dr. Michael Chen"))
            )
            if rng.random() < 0.05:
                provider = "Nurse visit"
            visit, minutes = rng.choice(_VISITS_KID if p.kid else _VISITS_ADULT)
            for _ in range(20):
                slot = time(8 + rng.randint(0, 8), rng.choice((0, 15, 30, 45)))
                start = datetime.combine(day, slot, DEMO_TZ)
                if (provider, start) not in taken:
                    break
            taken.add((provider, start))
            if start < now:
                status = rng.choices(("completed", "no_show", "cancelled"), (85, 8, 7))[0]
            else:
                status = rng.choices(("scheduled", "confirmed", "cancelled"), (55, 40, 5))[0]
            rows.append(
                {
                    "mrn": p.mrn,
                    "start": start.isoformat(),
                    "duration_min": str(minutes),
                    "provider": provider,
                    "location": rng.choice(LOCATIONS),
                    "status": status,
                    "visit_type": visit,
                }
            )
    return rows


def _pid(seed: int, n: int, prefix: str) -> str:
    """A provider id shaped like the real ones (Twilio ``SM``/``RE`` + 32 hex), stable for (seed, n)."""
    digest = hashlib.sha256(f"omnidesk-demo:{seed}:{n}".encode()).hexdigest()[:32]
    return f"{prefix}{digest}"


def _local_time(rng: random.Random, day: date) -> datetime:
    """When people write: mostly office hours, some evenings, a few at night; weekends quieter."""
    roll = rng.random()
    if roll < 0.72:
        minute = rng.randint(8 * 60, 17 * 60 - 1)
    elif roll < 0.94:
        minute = rng.randint(17 * 60, 22 * 60 - 1)
    else:
        minute = rng.choice((rng.randint(0, 8 * 60 - 1), rng.randint(22 * 60, 24 * 60 - 1)))
    return datetime.combine(day, time(minute // 60, minute % 60, rng.randint(0, 59)), DEMO_TZ).astimezone(UTC)


def _messages(rng: random.Random, plan: DemoPlan, total: int, seed: int, now: datetime) -> None:
    people = plan.patients
    by_household: dict[int, list[DemoPatient]] = {}
    for p in people:
        by_household.setdefault(p.household, []).append(p)
    adults = [p for p in people if not p.kid]
    today = now.astimezone(DEMO_TZ).date()
    days = [today - timedelta(days=d) for d in range(30, -1, -1)]
    day_weights = [0.45 if d.weekday() >= 5 else 1.0 for d in days]
    counter = 0
    out = plan.messages

    def emit(
        channel: Channel,
        sender: str,
        body: str,
        at: datetime,
        subject: str | None = None,
        message_id: str | None = None,
        in_reply_to: str | None = None,
    ) -> InboundMessage:
        nonlocal counter
        counter += 1
        if channel is Channel.SMS:
            pid = _pid(seed, counter, "SM")
        elif channel is Channel.VOICEMAIL:
            pid = _pid(seed, counter, "RE")
        elif channel is Channel.EMAIL:
            pid = message_id or _pid(seed, counter, "")
        else:
            pid = f"PM-{_pid(seed, counter, '')[:12]}"
        recipient = {Channel.EMAIL: PRACTICE_EMAIL, Channel.PORTAL: PORTAL_ADDRESS}.get(channel, PRACTICE_PHONE)
        msg = InboundMessage(
            channel,
            pid,
            sender,
            recipient,
            body,
            at,
            subject=subject,
            message_id=message_id,
            in_reply_to=in_reply_to,
            references=(in_reply_to,) if in_reply_to else (),
        )
        out.append(msg)
        return msg

    def mid() -> str:
        return f"{_pid(seed, counter + 1, '')[:20]}@mail.example.com"

    def address(p: DemoPatient, channel: Channel) -> str | None:
        if channel in (Channel.EMAIL, Channel.PORTAL):
            return p.email
        if channel is Channel.VOICEMAIL and p.home and rng.random() < 0.2:
            return p.home  # household landline: shared, so the sender is ambiguous
        return p.mobile or p.home

    def sender_of(p: DemoPatient) -> tuple[Sender, str]:
        kids = [k for k in by_household[p.household] if k.kid]
        kid = rng.choice(kids) if kids and rng.random() < 0.6 else None
        lang = "es" if p.language == "es" and rng.random() < 0.85 else "en"
        return Sender(p.first, p.last, kid.first if kid else None, kid.girl if kid else False), lang

    def channel_for(p: DemoPatient) -> Channel:
        weights = {
            Channel.SMS: 45 if p.mobile else 0,
            Channel.EMAIL: 22 if p.email else 0,
            Channel.VOICEMAIL: 16 if (p.mobile or p.home) else 0,
            Channel.PORTAL: 12 if p.email else 0,
        }
        weights[Channel(p.channel) if p.channel in weights else Channel.SMS] *= 2.2
        chans = [c for c, w in weights.items() if w > 0] or [Channel.VOICEMAIL]
        return rng.choices(chans, [weights[c] or 1 for c in chans])[0]

    # -- emergencies: a few long handled, two recent ones still waiting for a human
    for ago, channel in (
        (timedelta(days=26, hours=3), Channel.SMS),
        (timedelta(days=17, hours=6), Channel.EMAIL),  # buried in an administrative request
        (timedelta(days=9), Channel.VOICEMAIL),
        (timedelta(days=3, hours=5), Channel.SMS),
    ):
        p = rng.choice([a for a in adults if a.mobile and a.email])
        who, _lang = sender_of(p)
        subject, body = compose(rng, "emergency", "en", channel.value, who)
        addr = (p.email if channel is Channel.EMAIL else p.mobile) or ""
        message_id = mid() if channel is Channel.EMAIL else None
        plan.acknowledged.append(emit(channel, addr, body, now - ago, subject, message_id).provider_id)
    for ago, lang, channel in (
        (timedelta(minutes=47), "es", Channel.SMS),
        (timedelta(minutes=12), "en", Channel.VOICEMAIL),
    ):
        pool = [a for a in adults if a.mobile and (a.language == "es") == (lang == "es")] or adults
        p = rng.choice(pool)
        who, _lang = sender_of(p)
        _subject, body = compose(rng, "emergency", lang, channel.value, who)
        plan.unacknowledged.append(emit(channel, p.mobile or p.home or "", body, now - ago).provider_id)

    # -- a few messages that look like markup or carry emoji
    for text in ODDBALL_TEXTS:
        p = rng.choice([a for a in adults if a.mobile])
        emit(Channel.SMS, p.mobile or "", text, _local_time(rng, rng.choices(days, day_weights)[0]))

    # -- conversations until the total is reached (less the reminder replies, added last so the
    # rest of the month is the same with or without them)
    scenarios = _reminder_scenarios(plan, now, seed)
    while len(out) < total - len(scenarios):
        start = _local_time(rng, rng.choices(days, day_weights)[0])
        if start > now - timedelta(minutes=2):
            continue
        if rng.random() < 0.03:  # someone the practice does not know
            lang = "es" if rng.random() < 0.25 else "en"
            if rng.random() < 0.7:
                sender = fictional_phone(_UNKNOWN_PHONE_BASE + rng.randrange(100))
                channel = rng.choice((Channel.SMS, Channel.SMS, Channel.VOICEMAIL))
                emit(channel, sender, compose_unknown(rng, lang, channel.value), start)
            else:
                sender = f"newpatient{rng.randrange(1000)}@{rng.choice(EMAIL_DOMAINS)}"
                subj = "Nuevo paciente" if lang == "es" else "New patient question"
                emit(Channel.EMAIL, sender, compose_unknown(rng, lang, "email"), start, subj, mid())
            continue
        p = rng.choice(adults)
        who, lang = sender_of(p)
        intent = pick_intent(rng)
        if intent in SMS_ONLY_INTENTS and not p.mobile:
            intent = "general"
        at = start
        prev: InboundMessage | None = None
        length = rng.choices((1, 2, 3, 4), (58, 27, 10, 5))[0]
        for i in range(length):
            if at > now - timedelta(minutes=1) or len(out) >= total:
                break
            this_intent = intent if i == 0 or rng.random() < 0.7 else pick_intent(rng)
            channel = channel_for(p)
            if this_intent in SMS_ONLY_INTENTS:
                if not p.mobile:
                    break
                channel = Channel.SMS
            addr = address(p, channel)
            if addr is None:
                break
            if i and prev is not None and prev.channel is Channel.EMAIL and channel is Channel.EMAIL:
                when = prev.received_at.astimezone(DEMO_TZ).strftime("%a, %b %d, %Y at %I:%M %p")
                follow = rng.choice(FOLLOW_UPS[lang])
                body = quote_reply(rng, who, addr, prev.body, when, follow)
                subj = prev.subject or ""
                subj = subj if subj.lower().startswith("re:") else f"Re: {subj}"
                prev = emit(channel, addr, body, at, subj, mid(), in_reply_to=prev.message_id)
            else:
                subject, body = compose(rng, this_intent, lang, channel.value, who)
                message_id = mid() if channel is Channel.EMAIL else None
                prev = emit(channel, addr, body, at, subject, message_id)
            at = at + timedelta(minutes=rng.choice((4, 12, 35, 90, 240, 60 * 20, 60 * 44)))

    # -- appointment reminders answered with a bare CANCEL (a cancellation AND an opt-out) and a C
    for reminder, reply, after in scenarios:
        plan.reminders.append(reminder)
        emit(Channel.SMS, reminder.to, reply, reminder.sent_at + after)


# (hours before now the reminder went out, the patient's reply, minutes until it came)
_REMINDER_REPLIES = ((22, "CANCEL", 25), (27, "C", 9))


def _reminder_scenarios(plan: DemoPlan, now: datetime, seed: int) -> list[tuple[DemoReminder, str, timedelta]]:
    """Reminders to adults with their own mobile and a scheduled visit in the coming days, each
    with the reply it got (own random stream: the rest of the plan does not move)."""
    rng = random.Random(f"omnidesk-demo-reminders:{seed}")
    phones = [p.mobile for p in plan.patients if p.mobile]
    own = {p.mrn: p for p in plan.patients if not p.kid and p.mobile and phones.count(p.mobile) == 1}
    visits = [
        a
        for a in plan.appointments
        if a["mrn"] in own
        and a["status"] == "scheduled"
        and now + timedelta(hours=30) < datetime.fromisoformat(a["start"]) < now + timedelta(days=8)
    ]
    out: list[tuple[DemoReminder, str, timedelta]] = []
    used: set[str] = set()
    for n, (hours, reply, minutes) in enumerate(_REMINDER_REPLIES):
        choices = [a for a in visits if a["mrn"] not in used]
        if not choices:
            break
        visit = rng.choice(choices)
        used.add(visit["mrn"])
        start = datetime.fromisoformat(visit["start"]).astimezone(DEMO_TZ)
        body = (
            f"{PRACTICE_NAME}: reminder of your visit with {visit['provider']} on "
            f"{start.strftime('%a %b')} {start.day} at {start.strftime('%I:%M %p').lstrip('0')}. "
            "Reply C to confirm or CANCEL to cancel."
        )
        sent = (now - timedelta(hours=hours)).replace(second=0, microsecond=0)
        reminder = DemoReminder(visit["mrn"], own[visit["mrn"]].mobile or "", body, sent, _pid(seed, -1 - n, "SM"))
        out.append((reminder, reply, timedelta(minutes=minutes, seconds=rng.randint(0, 59))))
    return out


# ---------------------------------------------------------------------------- seeding


def seed_demo(
    ctx: Context, *, patients: int = 300, messages: int = 2000, seed: int = 7, now: datetime | None = None
) -> None:
    """Seed the demo practice into ``ctx``'s store through the import and ingest services (idempotent)."""
    stored = _read_setting(ctx) or {}
    if now is None:
        now = datetime.fromisoformat(stored["anchor"]) if stored.get("seed") == seed and stored.get("anchor") else None
        now = now or datetime.now(UTC).replace(second=0, microsecond=0)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    info = {"seed": seed, "anchor": now.isoformat(), "patients": patients, "messages": messages}
    _write_setting(ctx, {**info, "complete": False})
    plan = plan_demo(patients=patients, messages=messages, seed=seed, now=now)
    with ctx.engine.begin() as conn:
        ensure_default_staff(conn)
    system = Context(ctx.engine, None, ctx.thread_window_days, ctx.triage)  # the seeder acts as the system
    with tempfile.TemporaryDirectory(prefix="omnidesk-demo-") as tmp:
        pfile, afile = Path(tmp) / "patients.csv", Path(tmp) / "appointments.csv"
        _write_patients_csv(pfile, plan.patients, random.Random(seed))
        _write_csv(
            afile, ["mrn", "start", "duration_min", "provider", "location", "status", "visit_type"], plan.appointments
        )
        import_patients(system, pfile)
        import_appointments(system, afile)
    # Day by day, as the month happened: the practice texts its reminders, the day's messages
    # arrive, the nurse acknowledges that day's emergencies (all but the two recent ones left
    # waiting), and the front desk closes what went quiet a day and a half ago (so a patient who
    # writes again later starts a new conversation). The last three days stay open.
    reminders = sorted(plan.reminders, key=lambda r: r.sent_at)
    for day, batch in groupby(plan.messages, key=lambda m: m.received_at.astimezone(DEMO_TZ).date()):
        day_msgs = list(batch)
        while reminders and reminders[0].sent_at <= day_msgs[-1].received_at:  # sent before the replies come
            _send_reminder(system, reminders.pop(0))
        ingest(system, day_msgs)
        _acknowledge(system, plan.unacknowledged)
        end_of_day = datetime.combine(day + timedelta(days=1), time(0), DEMO_TZ).astimezone(UTC)
        _close_handled(system, min(end_of_day - timedelta(hours=36), now - timedelta(days=3)), now)
    for reminder in reminders:  # (none is later than its reply; kept for any that would be)
        _send_reminder(system, reminder)
    _write_setting(ctx, {**info, "complete": True})


def _write_csv(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=header)
        w.writeheader()
        w.writerows(rows)


def _write_patients_csv(path: Path, people: list[DemoPatient], rng: random.Random) -> None:
    header = list(PATIENT_COLUMNS)
    rows = [
        {
            "mrn": p.mrn,
            "first_name": p.first,
            "last_name": p.last,
            "dob": p.dob.isoformat(),
            "mobile_phone": _phone_fmt(rng, p.mobile),
            "home_phone": _phone_fmt(rng, p.home),
            "email": p.email or "",
            "preferred_language": p.language,
            "preferred_channel": p.channel,
        }
        for p in people
    ]
    _write_csv(path, header, rows)


# ---------------------------------------------------------------------------- store helpers


def _read_setting(ctx: Context) -> dict | None:
    with reading(ctx.engine) as conn:
        return conn.execute(select(settings.c.value).where(settings.c.key == DEMO_SETTING)).scalar_one_or_none()


def _write_setting(ctx: Context, value: dict) -> None:
    with ctx.engine.begin() as conn:
        done = conn.execute(update(settings).where(settings.c.key == DEMO_SETTING).values(value=value)).rowcount
        if not done:
            conn.execute(settings.insert().values(key=DEMO_SETTING, value=value))


def _thread_ids(ctx: Context, provider_ids: list[str]) -> list[int]:
    if not provider_ids:
        return []
    with reading(ctx.engine) as conn:
        return list(
            conn.execute(select(messages.c.thread_id).where(messages.c.provider_id.in_(provider_ids))).scalars()
        )


def _acknowledge(ctx: Context, waiting: list[str]) -> None:
    """The nurse acknowledged every emergency that came in, a few minutes after it did (through the
    inbox service, so it is audited), except the threads of ``waiting`` (provider ids: the
    emergencies the console shows still waiting)."""
    nurse = ctx.as_user(staff_user(ctx, "nurse"))
    keep = set(_thread_ids(ctx, waiting))
    with reading(ctx.engine) as conn:
        rows = conn.execute(
            select(threads.c.id, threads.c.emergency_since).where(threads.c.pinned == true()).order_by(threads.c.id)
        ).all()
    for tid, since in rows:
        if tid in keep or since is None:
            continue
        spread = int(hashlib.sha256(f"ack:{tid}".encode()).hexdigest()[:6], 16)
        at = since + timedelta(minutes=1 + spread % 7, seconds=spread // 7 % 60)
        acknowledge_emergency(nurse, tid, at=at if at <= datetime.now(UTC) else None)


def _send_reminder(ctx: Context, reminder: DemoReminder) -> None:
    """The practice's reminder, stored as sent (through the reminders service, so it is audited)."""
    with reading(ctx.engine) as conn:
        patient_id = conn.execute(select(patients.c.id).where(patients.c.mrn == reminder.mrn)).scalar_one()
    record_reminder(
        ctx,
        patient_id=patient_id,
        to=reminder.to,
        body=reminder.body,
        sent_at=reminder.sent_at,
        provider_id=reminder.provider_id,
        sender=PRACTICE_PHONE,
    )


def _close_handled(ctx: Context, cutoff: datetime, now: datetime) -> None:
    """Staff closed the conversations that went quiet before ``cutoff`` (audited; they count as read).

    About one in twelve is left open on purpose (still waiting on something); an emergency
    nobody acknowledged is never closed.
    """
    frontdesk = ctx.as_user(staff_user(ctx, "frontdesk"))
    with ctx.engine.begin() as conn:
        rows = conn.execute(
            select(threads.c.id, threads.c.last_message_at, threads.c.urgency, threads.c.emergency_ack_at).where(
                and_(threads.c.status == ThreadStatus.OPEN.value, threads.c.last_message_at < cutoff)
            )
        ).all()
        closing = [
            {"tid": row.id, "closed": min(row.last_message_at + timedelta(hours=20), now)}
            for row in rows
            if not (row.urgency == Urgency.EMERGENCY.value and row.emergency_ack_at is None)
            and int(hashlib.sha256(str(row.id).encode()).hexdigest()[:4], 16) % 12
        ]
        if not closing:
            return
        conn.execute(
            update(threads)
            .where(threads.c.id == bindparam("tid"))
            .values(
                status=ThreadStatus.CLOSED.value,
                closed_at=bindparam("closed"),
                unread_count=0,
                pinned=False,
                updated_at=now,
                version=threads.c.version + 1,
            ),
            closing,
        )
        for c in closing:
            audit.record(conn, frontdesk, "thread.close", thread_id=c["tid"], reason="demo_seed")


# ---------------------------------------------------------------------------- live


def demo_contacts(ctx: Context, *, limit: int = 400) -> list[SimContact]:
    """Adult patients' first phone and email, for the simulated channel to write as (at most ``limit``)."""
    with reading(ctx.engine) as conn:
        rows = conn.execute(
            select(
                patients.c.id,
                patients.c.first_name,
                patients.c.last_name,
                patients.c.dob,
                patients.c.preferred_language,
                contacts.c.kind,
                contacts.c.value,
            )
            .join(patient_contacts, patient_contacts.c.patient_id == patients.c.id)
            .join(contacts, contacts.c.id == patient_contacts.c.contact_id)
            .order_by(patients.c.id, contacts.c.kind, contacts.c.value)
        ).all()
    by_patient: dict[int, dict] = {}
    for r in rows:
        entry = by_patient.setdefault(
            r.id,
            {
                "first": r.first_name,
                "last": r.last_name,
                "lang": r.preferred_language or "en",
                "phone": None,
                "email": None,
                "dob": r.dob,
            },
        )
        key = "phone" if r.kind == "phone" else "email"
        entry[key] = entry[key] or r.value
    today = datetime.now(UTC).date()
    out = [
        SimContact(e["phone"], e["email"], e["lang"], e["first"], e["last"])
        for e in by_patient.values()
        if e["dob"] is None or (today - e["dob"]).days >= 18 * 365
    ]
    return out[:limit]


def demo_channel(
    ctx: Context, *, interval: float = 20.0, now_fn: Callable[[], datetime] | None = None, seed: int = 7
) -> SimulatedChannel:
    """The simulated channel that keeps the demo inbox alive (a message about every ``interval`` s)."""
    channel = SimulatedChannel(demo_contacts(ctx), seed=seed, interval=interval)
    if now_fn is not None:
        channel.now_fn = now_fn
    return channel


def demo_sync_loop(
    ctx: Context,
    *,
    poll_every: float = 2.0,
    message_every: float = 20.0,
    on_report: Callable[[str, IngestReport], object] | None = None,
) -> SyncLoop:
    """The live demo: a :class:`SyncLoop` over the simulated channel (cursor ``simulated:demo``)."""
    channel = demo_channel(ctx, interval=message_every)
    return SyncLoop(ctx, [Source(channel, DEMO_CURSOR)], interval=poll_every, on_report=on_report)
