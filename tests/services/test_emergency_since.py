"""When a thread became an emergency: set at ingest, kept through the acknowledgment, set anew
when a new emergency flags an acknowledged thread (both databases)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from ingest_helpers import T0, make_ctx, msg
from sqlalchemy import Engine, select

from omnidesk.model import Role
from omnidesk.services import inbox
from omnidesk.services.audit import verify_chain
from omnidesk.services.ingest import ingest
from omnidesk.store.engine import reading
from omnidesk.store.schema import audit_events, threads

PHONE = "+15550142222"


def _thread(engine: Engine):
    with reading(engine) as conn:
        return conn.execute(select(threads)).one()


def test_the_clock_starts_at_the_first_emergency_and_survives_follow_ups(engine: Engine) -> None:
    ctx = make_ctx(engine)
    ingest(ctx, [msg("a", PHONE, "can I get a refill", T0)])
    assert _thread(engine).emergency_since is None
    ingest(ctx, [msg("b", PHONE, "EMERGENCY my chest hurts", T0 + timedelta(minutes=5))])
    ingest(ctx, [msg("c", PHONE, "EMERGENCY still hurts", T0 + timedelta(minutes=9))])
    t = _thread(engine)
    assert t.pinned and t.emergency_since == T0 + timedelta(minutes=5)  # a follow-up does not restart it
    # history arriving late (an earlier emergency voicemail) moves the start back, never forward
    ingest(ctx, [msg("d", PHONE, "EMERGENCY", T0 + timedelta(minutes=2))])
    assert _thread(engine).emergency_since == T0 + timedelta(minutes=2)
    summary = inbox.thread_page(ctx, queue=None)[0]
    assert summary.pinned and summary.emergency_since == T0 + timedelta(minutes=2)


def test_a_new_emergency_after_an_acknowledgment_flags_the_thread_again(engine: Engine) -> None:
    ctx = make_ctx(engine, role=Role.NURSE, username="nurse")
    ingest(ctx, [msg("a", PHONE, "EMERGENCY", T0)])
    tid = _thread(engine).id
    acked = inbox.acknowledge_emergency(ctx, tid)
    assert not acked.pinned and acked.emergency_ack_by == "Nurse"
    assert acked.emergency_since == T0  # kept: how long the acknowledged emergency waited
    ingest(ctx, [msg("b", PHONE, "thanks, feeling better", T0 + timedelta(minutes=30))])
    assert not _thread(engine).pinned  # a routine follow-up does not undo the acknowledgment
    ingest(ctx, [msg("c", PHONE, "EMERGENCY it is back", T0 + timedelta(hours=2))])
    t = _thread(engine)
    assert t.pinned and t.emergency_ack_at is None and t.emergency_ack_by is None
    assert t.emergency_since == T0 + timedelta(hours=2)  # the new emergency's own clock
    again = inbox.acknowledge_emergency(ctx, tid)
    assert again.emergency_since == T0 + timedelta(hours=2)


def test_an_acknowledgment_time_for_history_must_be_plausible(engine: Engine) -> None:
    ctx = make_ctx(engine, role=Role.NURSE, username="nurse")
    ingest(ctx, [msg("a", PHONE, "EMERGENCY", T0)])
    tid = _thread(engine).id
    with pytest.raises(ValueError):
        inbox.acknowledge_emergency(ctx, tid, at=T0 - timedelta(minutes=1))  # before the emergency
    assert _thread(engine).pinned
    done = inbox.acknowledge_emergency(ctx, tid, at=T0 + timedelta(minutes=4))
    assert done.emergency_ack_at == T0 + timedelta(minutes=4) and not done.pinned
    with reading(engine) as conn:
        event = conn.execute(select(audit_events).where(audit_events.c.action == "thread.ack_emergency")).one()
    assert event.thread_id == tid and event.at == T0 + timedelta(minutes=4)
    assert verify_chain(engine) is None


def test_merging_two_flagged_threads_keeps_the_earlier_start() -> None:
    from omnidesk.services.threading import ThreadState, merge_into

    a = ThreadState.new(1, None, T0)
    b = ThreadState.new(1, None, T0)
    a.pinned, a.emergency_since = True, T0 + timedelta(minutes=10)
    b.pinned, b.emergency_since = True, T0 + timedelta(minutes=3)
    merge_into(a, b)
    assert a.pinned and a.emergency_since == T0 + timedelta(minutes=3)
    c = ThreadState.new(1, None, T0)
    c.emergency_since = T0  # acknowledged long ago: its old start does not count
    d = ThreadState.new(1, None, T0)
    d.pinned, d.emergency_since = True, T0 + timedelta(hours=1)
    merge_into(c, d)
    assert c.pinned and c.emergency_since == T0 + timedelta(hours=1)
