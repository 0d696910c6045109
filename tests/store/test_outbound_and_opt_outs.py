"""What was texted to a number (outbound index), recorded opt-outs with the message that asked,
and the stored emergency clock in summaries — on both databases."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, insert, text, update
from store_data import T0, Seed

from omnidesk.model import Channel
from omnidesk.store import queries as q
from omnidesk.store.engine import reading
from omnidesk.store.outbound import _SENT, sent_to
from omnidesk.store.schema import messages, opt_outs, threads


def _outbound(engine: Engine, thread_id: int, contact_id: int, at, kind: str | None, channel: str = "sms") -> None:
    with engine.begin() as conn:
        n = conn.execute(text("SELECT count(*) FROM messages")).scalar_one()
        conn.execute(
            insert(messages).values(
                thread_id=thread_id,
                contact_id=contact_id,
                channel=channel,
                direction="outbound",
                provider_id=f"out-{n}",
                sender="+15550100000",
                recipient="+15550142222",
                body="Reminder",
                at=at,
                references=[],
                intents=[],
                urgency="routine",
                matched=[],
                kind=kind,
                created_at=at,
            )
        )


def test_sent_to_lists_outbound_texts_per_contact_in_time_order(engine: Engine) -> None:
    seed = Seed(engine)
    a, b = seed.contact("+15550142222"), seed.contact("+15550143333")
    tid = seed.thread(contact_id=a)
    seed.message(tid, "an inbound text is not something we sent", at=T0)
    _outbound(engine, tid, a, T0 + timedelta(minutes=5), "reply")
    _outbound(engine, tid, a, T0 + timedelta(minutes=1), "reminder")
    _outbound(engine, tid, a, T0 + timedelta(minutes=2), "reminder", channel="email")
    _outbound(engine, tid, b, T0 + timedelta(days=9), "reminder")
    with reading(engine) as conn:
        got = sent_to(conn, [a, b, 999], "sms", T0, T0 + timedelta(days=1))
    assert got == {a: [(T0 + timedelta(minutes=1), "reminder"), (T0 + timedelta(minutes=5), "reply")]}


_MANY_INBOUND = """INSERT INTO messages (thread_id, contact_id, channel, direction, provider_id, sender, recipient,
    body, at, "references", intents, urgency, matched, created_at)
SELECT :tid, :cid, 'sms', 'inbound', 'in-' || n, 's', 'r', 'b', :at, '[]', '[]', 'routine', '[]', :at
FROM generate_series(1, 3000) AS n"""


def test_sent_to_reads_the_outbound_index(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":  # the planner needs a table worth an index (and its statistics)
        seed = Seed(engine)
        cid = seed.contact("+15550142222")
        tid = seed.thread(contact_id=cid)
        with engine.begin() as conn:
            conn.execute(text(_MANY_INBOUND), {"tid": tid, "cid": cid, "at": T0})
            conn.execute(text("ANALYZE messages"))
    stmt = _SENT.params(ids=[1, 2], channel="sms", lo=T0, hi=T0 + timedelta(days=1))
    with reading(engine) as conn:
        state = stmt.compile(dialect=conn.dialect).construct_expanded_state()
        params = {k: v for k, v in state.parameters.items()}
        for k, v in params.items():  # the driver gets what the column type would send
            if hasattr(v, "tzinfo") and conn.dialect.name == "sqlite":
                params[k] = v.replace(tzinfo=None).isoformat(sep=" ")
        if engine.dialect.name == "sqlite":
            args = tuple(params[k] for k in state.positiontup or ())
            plan = " ".join(r[3] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + state.statement, args))
        else:
            plan = " ".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + state.statement, params))
    assert "ix_messages_outbound_contact" in plan, plan


def test_opt_outs_come_with_the_message_that_asked(engine: Engine) -> None:
    seed = Seed(engine)
    phone, email = seed.contact("+15550142222"), seed.contact("ana@example.org")
    pid = seed.patient(contacts_=((phone, "mobile"), (email, "email")))
    tid = seed.thread(patient_id=pid, contact_id=phone, queue="front_desk")
    cancel = seed.message(tid, "CANCEL", at=T0, intents=("appointment.cancel", "consent.opt_out"))
    stop = seed.message(tid, "please stop emailing me", at=T0 + timedelta(hours=1), intents=("consent.opt_out",))
    with engine.begin() as conn:
        conn.execute(
            insert(opt_outs),
            [
                {"contact_id": phone, "channel": "sms", "opted_out_at": T0, "source_message_id": cancel},
                {
                    "contact_id": email,
                    "channel": "email",
                    "opted_out_at": T0 + timedelta(hours=1),
                    "source_message_id": stop,
                },
            ],
        )
    with reading(engine) as conn:
        (sms,) = q.opt_outs_for(conn, [phone])
        card = q.patient_card(conn, pid, now=T0)
        detail = q.thread_detail(conn, tid, now=T0)
    assert (sms.contact, sms.channel, sms.at, sms.words) == ("+15550142222", Channel.SMS, T0, "CANCEL")
    assert (sms.cancellation_queue, sms.cancellation_open, sms.thread_id) == ("front_desk", True, tid)
    assert card is not None and [o.channel for o in card.opt_outs] == [Channel.SMS, Channel.EMAIL]
    assert card.opt_outs[1].cancellation_queue is None  # "stop emailing me" cancels nothing
    assert detail is not None and detail.opt_outs == card.opt_outs
    with engine.begin() as conn:
        conn.execute(update(threads).values(status="closed"))
    with reading(engine) as conn:
        (sms,) = q.opt_outs_for(conn, [phone])
    assert sms.cancellation_queue == "front_desk" and not sms.cancellation_open


def test_an_unmatched_senders_opt_out_shows_on_its_thread(engine: Engine) -> None:
    seed = Seed(engine)
    phone = seed.contact("+15550149999")
    tid = seed.thread(contact_id=phone, queue="unmatched")
    with engine.begin() as conn:
        conn.execute(insert(opt_outs).values(contact_id=phone, channel="sms", opted_out_at=T0, source_message_id=None))
    with reading(engine) as conn:
        detail = q.thread_detail(conn, tid, now=T0)
    assert detail is not None and detail.patient is None
    assert [(o.contact, o.words) for o in detail.opt_outs] == [("+15550149999", None)]


def test_summaries_carry_the_stored_emergency_clock(engine: Engine) -> None:
    seed = Seed(engine)
    tid = seed.thread(urgency="emergency", pinned=True, queue="emergency", emergency_since=T0 - timedelta(minutes=7))
    other = seed.thread()
    with reading(engine) as conn:
        page = q.thread_page(conn, status="open", queue=None)
        one = q.thread_summary(conn, tid)
    assert [t.id for t in page] == [tid, other]
    assert page[0].emergency_since == T0 - timedelta(minutes=7) == (one.emergency_since if one else None)
    assert page[1].emergency_since is None
