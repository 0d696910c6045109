"""Appointment reminders stored as sent, and replies read with the reminder in view (real rules, both databases)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from ingest_helpers import T0, load_patients, msg
from sqlalchemy import Engine, insert, select

from omnidesk.model import MessageKind, Role, StaffUser, ThreadStatus
from omnidesk.rules.triage import TriageEngine
from omnidesk.services import inbox
from omnidesk.services.context import Context
from omnidesk.services.export import detail_to_json
from omnidesk.services.ingest import ingest
from omnidesk.services.reminders import REMINDER_REPLY_WINDOW, record_reminder
from omnidesk.store.engine import reading
from omnidesk.store.schema import audit_events, messages, opt_outs, patients, staff, threads

ANA, BEN = "+15550143333", "+15550144444"
PRACTICE = "+15550100000"
BODY = "Reminder: your visit on Fri at 9:30. Reply C to confirm or CANCEL to cancel."


@pytest.fixture(scope="module")
def rules() -> TriageEngine:
    return TriageEngine.load(None)


@pytest.fixture
def ctx(engine: Engine, rules: TriageEngine, tmp_path: Path) -> Context:
    with engine.begin() as conn:
        sid = conn.execute(
            insert(staff)
            .values(username="frontdesk", display_name="Front Desk", role="front_desk", created_at=T0)
            .returning(staff.c.id)
        ).scalar_one()
    ctx = Context(engine, StaffUser(sid, "frontdesk", "Front Desk", Role.FRONT_DESK), _triage=rules)
    system = Context(engine, None, 7, rules)
    load_patients(
        system,
        tmp_path,
        [
            ["M1", "Ana", "Ruiz", "1980-01-01", ANA, "", "", "en", "sms"],
            ["M2", "Ben", "Okafor", "1975-01-01", BEN, "", "", "en", "sms"],
        ],
    )
    return ctx


def _pid(ctx: Context, mrn: str) -> int:
    with reading(ctx.engine) as conn:
        return conn.execute(select(patients.c.id).where(patients.c.mrn == mrn)).scalar_one()


def _remind(ctx: Context, mrn: str, to: str, at, pid: str = "SMrem1") -> int:
    return record_reminder(
        ctx, patient_id=_pid(ctx, mrn), to=to, body=BODY, sent_at=at, provider_id=pid, sender=PRACTICE
    )


def _inbound(ctx: Context, provider_id: str):
    with reading(ctx.engine) as conn:
        return conn.execute(
            select(messages.c.intents, messages.c.thread_id).where(messages.c.provider_id == provider_id)
        ).one()


def test_a_bare_cancel_answering_a_reminder_is_a_cancellation_and_an_opt_out(ctx: Context) -> None:
    mid = _remind(ctx, "M1", "(555) 014-3333", T0)
    assert _remind(ctx, "M1", ANA, T0) == mid  # stored once: same provider id
    with reading(ctx.engine) as conn:
        thread = conn.execute(select(threads)).one()
        sent = conn.execute(select(messages).where(messages.c.id == mid)).one()
    assert (sent.direction, sent.kind, sent.recipient, sent.sender) == ("outbound", "reminder", ANA, PRACTICE)
    assert thread.status == ThreadStatus.PENDING.value and thread.unread_count == 0  # waiting on the patient

    ingest(ctx, [msg("SMc", ANA, "CANCEL", T0 + timedelta(minutes=20))])
    reply = _inbound(ctx, "SMc")
    assert reply.intents == ["appointment.cancel", "consent.opt_out"]
    assert reply.thread_id == thread.id  # the reply joined the reminder's thread
    detail = inbox.open_thread(ctx, thread.id)
    assert detail.summary.status is ThreadStatus.OPEN and detail.summary.queue == "front_desk"
    assert [m.kind for m in detail.messages] == [MessageKind.REMINDER.value, None]
    (stop,) = detail.opt_outs
    assert (stop.contact, stop.words, stop.cancellation_queue, stop.cancellation_open) == (
        ANA,
        "CANCEL",
        "front_desk",
        True,
    )
    assert detail.patient is not None and detail.patient.opt_outs == (stop,)
    exported = json.loads(json.dumps(detail_to_json(detail)))
    assert exported["opt_outs"] == exported["patient"]["opt_outs"]
    assert exported["opt_outs"][0]["words"] == "CANCEL" and exported["messages"][0]["kind"] == "reminder"


def test_without_a_recent_reminder_cancel_is_an_opt_out_only(ctx: Context) -> None:
    _remind(ctx, "M1", ANA, T0)
    ingest(ctx, [msg("SMlate", ANA, "CANCEL", T0 + REMINDER_REPLY_WINDOW + timedelta(minutes=1))])
    ingest(ctx, [msg("SMben", BEN, "CANCEL", T0 + timedelta(minutes=5))])  # a reminder went to Ana, not Ben
    assert _inbound(ctx, "SMlate").intents == ["consent.opt_out"]
    assert _inbound(ctx, "SMben").intents == ["consent.opt_out"]
    with reading(ctx.engine) as conn:
        assert len(conn.execute(select(opt_outs)).all()) == 2


def test_a_text_sent_after_the_reminder_ends_the_reminder_context(ctx: Context) -> None:
    thread_msg = _remind(ctx, "M2", BEN, T0)
    with ctx.engine.begin() as conn:  # a staff reply went out after the reminder
        tid = conn.execute(select(messages.c.thread_id).where(messages.c.id == thread_msg)).scalar_one()
        contact = conn.execute(select(messages.c.contact_id).where(messages.c.id == thread_msg)).scalar_one()
        conn.execute(
            insert(messages).values(
                thread_id=tid,
                contact_id=contact,
                channel="sms",
                direction="outbound",
                provider_id="SMreply",
                sender=PRACTICE,
                recipient=BEN,
                body="Please call us",
                at=T0 + timedelta(minutes=10),
                references=[],
                intents=[],
                urgency="routine",
                matched=[],
                kind=MessageKind.REPLY.value,
                created_at=T0,
            )
        )
    ingest(
        ctx, [msg("SMb1", BEN, "CANCEL", T0 + timedelta(minutes=5)), msg("SMb2", BEN, "ok", T0 + timedelta(minutes=15))]
    )
    assert _inbound(ctx, "SMb1").intents == [
        "appointment.cancel",
        "consent.opt_out",
    ]  # before the reply: the reminder's
    assert _inbound(ctx, "SMb2").intents != ["appointment.confirm"]  # after it: an OK is not a confirmation


def test_c_confirms_and_is_work_for_the_front_desk(ctx: Context) -> None:
    _remind(ctx, "M2", BEN, T0, pid="SMrem2")
    _remind(ctx, "M1", ANA, T0, pid="SMrem3")
    ingest(ctx, [msg("SMyes", BEN, "C", T0 + timedelta(minutes=7)), msg("SMok", ANA, "ok", T0 + timedelta(minutes=8))])
    assert _inbound(ctx, "SMok").intents == ["appointment.confirm"]  # an OK answering a reminder confirms
    reply = _inbound(ctx, "SMyes")
    assert reply.intents == ["appointment.confirm"]
    detail = inbox.open_thread(ctx, reply.thread_id)
    assert detail.summary.status is ThreadStatus.OPEN and detail.opt_outs == ()
    with reading(ctx.engine) as conn:
        actions = conn.execute(select(audit_events.c.action, audit_events.c.detail)).all()
    assert any(a == "message.outbound" and d.get("kind") == "reminder" for a, d in actions)


def test_a_reminder_joins_the_patients_open_thread(ctx: Context) -> None:
    ingest(ctx, [msg("SMq", ANA, "can I get a refill of my lisinopril", T0 - timedelta(hours=1))])
    mid = _remind(ctx, "M1", ANA, T0)
    with reading(ctx.engine) as conn:
        (thread,) = conn.execute(select(threads)).all()
        assert conn.execute(select(messages.c.thread_id).where(messages.c.id == mid)).scalar_one() == thread.id
    assert thread.message_count == 2 and thread.last_message_at == T0 and thread.status == "open"


def test_record_reminder_refuses_bad_input(ctx: Context) -> None:
    from omnidesk.services.errors import NotFound

    with pytest.raises(ValueError):
        _remind(ctx, "M1", "555-0143", T0)  # not a dialable number
    with pytest.raises(NotFound):
        record_reminder(ctx, patient_id=9999, to=ANA, body=BODY, sent_at=T0, provider_id="x", sender=PRACTICE)


def test_matching_a_shared_phones_cancel_by_hand_keeps_the_reminder_context(ctx: Context, tmp_path: Path) -> None:
    """A household's CANCEL after a reminder lands in Unmatched; matched by hand it is still a cancellation."""
    from omnidesk.model import QUEUE_UNMATCHED
    from omnidesk.rules.practice import load_practice
    from omnidesk.services.matching import match_thread
    from omnidesk.services.threading import requeue_after_match

    shared = "+15550145555"
    system = Context(ctx.engine, None, 7, ctx.triage)
    load_patients(
        system,
        tmp_path,
        [
            ["M5", "Eva", "Diaz", "1990-01-01", shared, "", "", "en", "sms"],
            ["M6", "Leo", "Diaz", "2015-01-01", shared, "", "", "en", "sms"],
        ],
    )
    _remind(ctx, "M5", shared, T0, pid="SMrem5")
    ingest(ctx, [msg("SMshared", shared, "CANCEL", T0 + timedelta(minutes=3))])
    reply = _inbound(ctx, "SMshared")
    assert reply.intents == ["appointment.cancel", "consent.opt_out"]
    with reading(ctx.engine) as conn:
        assert conn.execute(select(threads.c.queue).where(threads.c.id == reply.thread_id)).scalar() == QUEUE_UNMATCHED
    # A practice whose consent-only messages go to their own queue shows whether the context survived.
    (tmp_path / "practice.toml").write_text('[routing]\nconsent = "billing"\n', encoding="utf-8")
    engine = TriageEngine(ctx.triage.classifier, load_practice([tmp_path / "practice.toml"]))
    row = ("CANCEL", None, "sms", T0 + timedelta(minutes=3))
    assert requeue_after_match(engine, [(*row, False)]) == "billing"  # an opt-out only
    assert requeue_after_match(engine, [(*row, True)]) == "front_desk"  # a cancellation too
    matched = Context(ctx.engine, ctx.user, ctx.thread_window_days, engine)
    match_thread(matched, reply.thread_id, "M5")
    with reading(ctx.engine) as conn:
        assert conn.execute(select(threads.c.queue).where(threads.c.id == reply.thread_id)).scalar() == "front_desk"
