"""Appointment reminders sent by text, and reading a patient's reply with the reminder in view.

A reminder that went out is stored as an outbound SMS (``messages.kind = 'reminder'``, its
``contact_id`` the number it went to) in the patient's open thread from the last
``thread_window_days``, or else in a new thread filed ``pending`` (waiting on the patient:
not open work, not in the queue counts). The patient's reply joins that thread, opens it and
routes it as if it were its first message.

An inbound SMS answers a reminder when the last text we sent to that number, at most
:data:`REMINDER_REPLY_WINDOW` before it, was a reminder: ingest then classifies it with
``reminder_reply=True``, so a bare CANCEL is a cancellation request as well as an opt-out
and a bare OK confirms (see ``omnidesk/rules/classifier.py``).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import Connection, insert, select, update

from omnidesk.model import Channel, Classification, ContactKind, Direction, Intent, MessageKind, ThreadStatus, Urgency
from omnidesk.services import audit
from omnidesk.services.context import Context
from omnidesk.services.errors import NotFound, store_errors
from omnidesk.services.identity import ensure_contacts, normalize_phone
from omnidesk.services.permissions import THREAD_REPLY, require
from omnidesk.services.threading import ThreadState, make_preview
from omnidesk.store.engine import writing
from omnidesk.store.outbound import sent_to
from omnidesk.store.schema import messages, patients, threads

REMINDER_REPLY_WINDOW = timedelta(days=7)
_SMS = Channel.SMS.value
_REMINDER = MessageKind.REMINDER.value


def reminder_replies(conn: Connection, texts: Sequence[tuple[int, datetime]]) -> list[bool]:
    """For each inbound SMS ``(sender contact id, time)``: does it answer a reminder?

    True when the last SMS sent to that contact at or before that time was a reminder sent at
    most :data:`REMINDER_REPLY_WINDOW` earlier. One indexed query (per 900 contacts).
    """
    if not texts:
        return []
    lo = min(at for _, at in texts) - REMINDER_REPLY_WINDOW
    hi = max(at for _, at in texts)
    sent = sent_to(conn, {cid for cid, _ in texts}, _SMS, lo, hi)
    out: list[bool] = []
    for contact_id, at in texts:
        history = sent.get(contact_id)
        k = bisect_right(history, at, key=lambda h: h[0]) if history else 0
        out.append(bool(k) and history[k - 1][1] == _REMINDER and at - history[k - 1][0] <= REMINDER_REPLY_WINDOW)  # type: ignore[index]
    return out


def record_reminder(
    ctx: Context,
    *,
    patient_id: int,
    to: str,
    body: str,
    sent_at: datetime,
    provider_id: str,
    sender: str,
) -> int:
    """Store an appointment reminder that was texted to ``to`` (one of ``patient_id``'s numbers).

    Idempotent on ``provider_id`` (the SMS provider's id): a reminder stored before is not stored
    again; returns the message id either way. Permission ``thread.reply``; audited
    (``message.outbound``, ids only). ``ValueError`` for a number that cannot be dialled or a
    naive time; :class:`NotFound` for an unknown patient.
    """
    require(ctx, THREAD_REPLY)
    phone = normalize_phone(to)
    if phone is None:
        raise ValueError("the reminder's number is not a phone number")
    if sent_at.tzinfo is None:
        raise ValueError("sent_at must be timezone-aware")
    at = sent_at.astimezone(UTC)
    now = datetime.now(UTC)
    with store_errors(str(ctx.engine.url)), writing(ctx.engine) as conn:
        done = conn.execute(
            select(messages.c.id).where(messages.c.channel == _SMS, messages.c.provider_id == provider_id)
        ).scalar_one_or_none()
        if done is not None:
            return int(done)
        if conn.execute(select(patients.c.id).where(patients.c.id == patient_id)).first() is None:
            raise NotFound(f"patient {patient_id} not found", code="patient")
        contact_id = ensure_contacts(conn, [(ContactKind.PHONE.value, phone)], now)[(ContactKind.PHONE.value, phone)]
        thread_id = _file_in_thread(ctx, conn, patient_id, contact_id, at, body, now)
        message_id = conn.execute(
            insert(messages)
            .values(
                thread_id=thread_id,
                contact_id=contact_id,
                channel=_SMS,
                direction=Direction.OUTBOUND.value,
                provider_id=provider_id,
                sender=sender,
                recipient=phone,
                body=body,
                at=at,
                delivery_status="sent",
                references=[],
                intents=[],
                urgency=Urgency.ROUTINE.value,
                matched=[],
                kind=_REMINDER,
                created_at=now,
            )
            .returning(messages.c.id)
        ).scalar_one()
        audit.record(
            conn,
            ctx,
            "message.outbound",
            thread_id=thread_id,
            patient_id=patient_id,
            message_id=message_id,
            kind=_REMINDER,
        )
    return int(message_id)


def _file_in_thread(
    ctx: Context, conn: Connection, patient_id: int, contact_id: int, at: datetime, body: str, now: datetime
) -> int:
    """The thread the reminder goes in: the patient's latest open (or pending, or snoozed) thread
    with a message within the window, updated; else a new ``pending`` thread."""
    window = timedelta(days=ctx.thread_window_days)
    t = threads.c
    row = conn.execute(
        select(t.id, t.version, t.channels, t.message_count, t.last_message_at)
        .where(
            t.patient_id == patient_id,
            t.status != ThreadStatus.CLOSED.value,
            t.last_message_at >= at - window,
            t.first_message_at <= at + window,
        )
        .order_by(t.last_message_at.desc(), t.id.desc())
        .limit(1)
    ).first()
    if row is not None:
        newest = at >= row.last_message_at
        values: dict = {
            "message_count": row.message_count + 1,
            "channels": sorted({*row.channels, _SMS}),
            "version": row.version + 1,
            "updated_at": now,
        }
        if newest:
            values.update(last_message_at=at, preview=make_preview(body))
        conn.execute(update(threads).where(t.id == row.id).values(values))
        return int(row.id)
    state = ThreadState.new(patient_id, contact_id, at)
    state.status = ThreadStatus.PENDING.value
    state.queue = ctx.triage.route(Classification((Intent.APPOINTMENT_CONFIRM.value,), Urgency.ROUTINE))
    state.channels = [_SMS]
    state.preview = make_preview(body)
    state.message_count = 1
    values = state.row(now)
    values.update(version=1, created_at=now)
    return int(conn.execute(insert(threads).values(values).returning(t.id)).scalar_one())
