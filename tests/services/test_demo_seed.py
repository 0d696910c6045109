"""The demo practice: believable, deterministic, seeded through the real import and ingest paths, idempotent."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import phonenumbers
import pytest
from sqlalchemy import func, select

from omnidesk.model import QUEUE_UNMATCHED, Channel, ThreadStatus, Urgency
from omnidesk.services import inbox
from omnidesk.services.context import Context
from omnidesk.services.demo import (
    DemoPlan,
    demo_contacts,
    demo_sync_loop,
    is_seeded,
    plan_demo,
    prepare_demo,
    seed_demo,
)
from omnidesk.services.setup import open_context
from omnidesk.store.engine import reading, sqlite_url
from omnidesk.store.schema import appointments, contacts, messages, patients, staff, threads

NOW = datetime(2025, 3, 10, 15, 0, tzinfo=UTC)
SPANISH = re.compile(r"\b(hola|gracias|necesito|cita|tiene|por favor|quisiera)\b", re.IGNORECASE)


@pytest.fixture(scope="module")
def plan() -> DemoPlan:
    return plan_demo(now=NOW)


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = Path(tmp_path_factory.mktemp("demo")) / "demo.db"
    return prepare_demo(url=sqlite_url(path))


@pytest.fixture
def ctx(demo_url: str) -> Iterator[Context]:
    c = open_context(demo_url)
    yield c
    c.engine.dispose()


def _counts(ctx: Context) -> dict[str, int]:
    with reading(ctx.engine) as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (patients, contacts, appointments, messages, threads, staff)
        }


# ---------------------------------------------------------------------------- the plan (no store)


def test_plan_is_deterministic(plan: DemoPlan) -> None:
    again = plan_demo(now=NOW)
    assert again.messages == plan.messages
    assert [p.mrn for p in again.patients] == [p.mrn for p in plan.patients]
    other = plan_demo(now=NOW, seed=8)
    assert [m.body for m in other.messages] != [m.body for m in plan.messages]


def test_people_are_varied_and_fictional(plan: DemoPlan) -> None:
    people = plan.patients
    assert len(people) == 300
    names = [f"{p.first} {p.last}" for p in people]
    assert any("'" in n for n in names) and any("-" in n for n in names)
    assert any(re.search(r"[áéíóúñÁÉÍÓÚÑ]", n) for n in names)
    assert Counter(p.language for p in people)["es"] >= 20
    ages = [(NOW.date() - p.dob).days / 365.25 for p in people]
    assert min(ages) < 2 and max(ages) > 70 and sum(a < 18 for a in ages) >= 50
    phones = [n for p in people for n in (p.mobile, p.home) if n]
    for n in set(phones):
        parsed = phonenumbers.parse(n)
        assert phonenumbers.is_valid_number(parsed), n
        assert n[5:10] == "55501"  # the 555-0100..0199 block kept for fiction
    assert any(c > 1 for c in Counter(phones).values())  # households share numbers
    emails = [p.email for p in people if p.email]
    assert emails and all(e.rsplit("@", 1)[1] in ("example.com", "example.org", "example.net") for e in emails)


def test_messages_cover_the_month_channels_and_odd_cases(plan: DemoPlan) -> None:
    msgs = plan.messages
    assert len(msgs) == 2000
    assert len({(m.channel, m.provider_id) for m in msgs}) == 2000
    assert {m.channel for m in msgs} == set(Channel)
    assert all(NOW - timedelta(days=31) <= m.received_at <= NOW for m in msgs)
    emails = [m for m in msgs if m.channel is Channel.EMAIL]
    assert all(m.subject for m in emails)
    ids = {m.message_id for m in emails}
    replies = [m for m in emails if m.in_reply_to]
    assert replies and all(m.in_reply_to in ids for m in replies)
    assert any("wrote:" in m.body or "-----Original Message-----" in m.body for m in replies)
    assert any(re.search(r"\b(um|uh)\b", m.body) for m in msgs if m.channel is Channel.VOICEMAIL)
    assert any("<script>" in m.body for m in msgs) and any("[b]" in m.body for m in msgs)
    assert any(ord(ch) > 0x1F000 for m in msgs for ch in m.body)  # emoji
    assert sum(bool(SPANISH.search(m.body)) for m in msgs) >= 50
    assert len(plan.unacknowledged) == 2 and len(plan.acknowledged) >= 2
    upcoming = [a for a in plan.appointments if datetime.fromisoformat(a["start"]) > NOW]
    past = [a for a in plan.appointments if datetime.fromisoformat(a["start"]) < NOW]
    assert len(upcoming) > 80 and past
    assert all(datetime.fromisoformat(a["start"]) < NOW + timedelta(days=17) for a in upcoming)


# ---------------------------------------------------------------------------- seeded into a store


def test_seeded_practice_has_what_the_console_needs(ctx: Context) -> None:
    counts = _counts(ctx)
    assert counts["patients"] == 300
    assert counts["messages"] >= 2000
    assert counts["appointments"] > 150
    with reading(ctx.engine) as conn:
        usernames = set(conn.execute(select(staff.c.username)).scalars())
    assert {"frontdesk", "nurse", "billing", "manager", "admin"} <= usernames

    top = inbox.thread_page(ctx, queue=None, status=ThreadStatus.OPEN, limit=5)
    assert top[0].pinned and top[0].urgency is Urgency.EMERGENCY  # the banner has something to show

    with reading(ctx.engine) as conn:
        emergencies = conn.execute(
            select(threads.c.emergency_ack_at, threads.c.emergency_ack_by).where(
                threads.c.urgency == Urgency.EMERGENCY.value
            )
        ).all()
    assert any(r.emergency_ack_at is None for r in emergencies)
    assert any(r.emergency_ack_at is not None and r.emergency_ack_by is not None for r in emergencies)

    unmatched = list(inbox.iter_threads(ctx, queue=QUEUE_UNMATCHED, status=None))
    assert any(len(t.candidates) >= 2 for t in unmatched)  # a household number: never guessed
    assert any(t.patient_id is None and not t.candidates for t in unmatched)  # an unknown sender

    with reading(ctx.engine) as conn:
        bodies = conn.execute(select(messages.c.body)).scalars().all()
        es = conn.execute(select(func.count()).where(patients.c.preferred_language == "es")).scalar_one()
    assert sum(bool(SPANISH.search(b)) for b in bodies) >= 50 and es >= 20

    open_total = inbox.thread_total(ctx, queue=None, status=ThreadStatus.OPEN)
    all_total = counts["threads"]
    assert 30 <= open_total < all_total / 2  # handled conversations are closed, the recent ones wait


def test_reseeding_changes_nothing(ctx: Context, demo_url: str) -> None:
    before = _counts(ctx)
    with reading(ctx.engine) as conn:
        rows_before = conn.execute(select(threads).order_by(threads.c.id)).all()
    seed_demo(ctx)
    assert _counts(ctx) == before
    with reading(ctx.engine) as conn:
        rows_after = conn.execute(select(threads).order_by(threads.c.id)).all()
    assert [r.id for r in rows_after] == [r.id for r in rows_before]
    assert [(r.message_count, r.status, r.queue) for r in rows_after] == [
        (r.message_count, r.status, r.queue) for r in rows_before
    ]
    assert is_seeded(ctx)
    assert prepare_demo(url=demo_url) == demo_url  # already seeded: nothing to do
    assert _counts(ctx) == before


def test_live_demo_delivers_to_real_patients(ctx: Context) -> None:
    people = demo_contacts(ctx)
    assert len(people) > 100 and all(c.phone or c.email for c in people)
    loop = demo_sync_loop(ctx, message_every=60)
    before = _counts(ctx)["messages"]
    report = loop.run_once()
    assert report.new == 1
    assert _counts(ctx)["messages"] == before + 1
    assert loop.run_once().new == 0  # the next one is not due yet


def test_reminders_are_answered_with_a_bare_cancel_and_a_c(plan: DemoPlan) -> None:
    assert [r.mrn for r in plan.reminders] and len({r.mrn for r in plan.reminders}) == len(plan.reminders) == 2
    replies = {m.sender: m for m in plan.messages if m.body in ("CANCEL", "C") and m.channel is Channel.SMS}
    for reminder in plan.reminders:
        reply = replies[reminder.to]
        assert timedelta(0) < reply.received_at - reminder.sent_at < timedelta(hours=1)
        assert "Reply C to confirm or CANCEL to cancel" in reminder.body


def test_seeded_reminder_replies_are_read_as_such(ctx: Context) -> None:
    with reading(ctx.engine) as conn:
        sent = conn.execute(
            select(messages.c.thread_id, messages.c.at).where(
                messages.c.kind == "reminder", messages.c.direction == "outbound"
            )
        ).all()
        replies = {
            r.body: r
            for r in conn.execute(
                select(messages.c.body, messages.c.intents, messages.c.thread_id, messages.c.at).where(
                    messages.c.thread_id.in_([s.thread_id for s in sent]), messages.c.direction == "inbound"
                )
            )
        }
    assert len(sent) == 2
    assert replies["CANCEL"].intents == ["appointment.cancel", "consent.opt_out"]  # both honoured
    assert replies["C"].intents == ["appointment.confirm"]
    detail = inbox.open_thread(ctx, replies["CANCEL"].thread_id)
    assert detail.summary.status is ThreadStatus.OPEN and detail.summary.queue == "front_desk"
    kinds = [(m.kind, m.body) for m in detail.messages]
    at = kinds.index(next(k for k in kinds if k[0] == "reminder"))
    assert kinds[at + 1] == (None, "CANCEL")  # the reply follows the reminder in the conversation
    (stop,) = detail.opt_outs
    assert stop.words == "CANCEL" and stop.cancellation_queue == "front_desk" and stop.cancellation_open
    assert detail.patient is not None and detail.patient.opt_outs == detail.opt_outs


def test_seeded_acknowledgments_come_minutes_after_the_emergency(ctx: Context) -> None:
    with reading(ctx.engine) as conn:
        acked = conn.execute(
            select(threads.c.emergency_since, threads.c.emergency_ack_at).where(threads.c.emergency_ack_at.is_not(None))
        ).all()
    assert len(acked) >= 2
    for since, at in acked:
        assert since is not None and timedelta(minutes=1) <= at - since <= timedelta(minutes=9)
