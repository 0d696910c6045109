"""Queue counts and list totals stay equal to a direct count through the real pipeline (both databases):
ingest (new threads, merges of reply chains, re-opened threads), linking a contact (a queue move),
acknowledging an emergency, reading a thread, closing and deleting threads."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from ingest_helpers import T0, load_patients, make_ctx, msg
from sqlalchemy import Engine, delete, select, update

from omnidesk.model import QUEUE_EMERGENCY, Channel, ThreadStatus
from omnidesk.services import inbox
from omnidesk.services.identity import link_contact
from omnidesk.services.ingest import ingest
from omnidesk.store.engine import reading
from omnidesk.store.schema import contacts, patients, threads

PATIENTS = [
    ["M1", "Ana", "Lopez", "1980-02-03", "(555) 014-3000", "", "ana@example.org", "es", "sms"],
    ["M3", "Cy", "Okafor", "1975-11-30", "+1 555 014 3111", "", "cy@example.org", "en", "email"],
]


@pytest.fixture
def ctx(engine: Engine, tmp_path: Path):
    ctx = make_ctx(engine)
    load_patients(ctx, tmp_path, PATIENTS)
    return ctx


def _assert_counts_match(ctx, engine: Engine) -> dict[str, tuple[int, int, int]]:
    t = threads.c
    with reading(engine) as conn:
        rows = conn.execute(select(t.status, t.queue, t.unread_count, t.pinned)).all()
    by_status = Counter(r.status for r in rows)
    open_rows = [r for r in rows if r.status == ThreadStatus.OPEN.value]
    want = {
        q: (
            sum(1 for r in open_rows if r.queue == q),
            sum(1 for r in open_rows if r.queue == q and r.unread_count > 0),
            sum(1 for r in open_rows if r.queue == q and r.pinned),
        )
        for q in {r.queue for r in open_rows}
    }
    got = {c.queue: (c.open_count, c.unread_count, c.emergency_count) for c in inbox.queue_counts(ctx)}
    assert {q: v for q, v in got.items() if any(v)} == want
    for status in ThreadStatus:
        assert inbox.thread_total(ctx, queue=None, status=status) == by_status[status.value]
        for q in want:
            assert inbox.thread_total(ctx, queue=q, status=status) == sum(
                1 for r in rows if r.status == status.value and r.queue == q
            )
    assert inbox.thread_total(ctx, queue=None, status=None) == len(rows)
    return want


def test_counts_follow_the_pipeline_and_staff_actions(ctx, engine: Engine) -> None:
    email = {"channel": Channel.EMAIL}
    ingest(
        ctx,
        [
            msg("s1", "+15550143111", "need a refill bill"),  # Cy: billing
            msg("s2", "+15550199999", "who is this"),  # unknown: unmatched
            msg("s3", "+15550143000", "EMERGENCY chest pain", at=T0 + timedelta(minutes=1)),  # pinned
            msg("e1", "y1@list.example", "d", message_id="<d@l>", in_reply_to="<p@l>", **email),
            msg("e2", "y2@list.example", "e", message_id="<e@l>", in_reply_to="<q@l>", **email),
        ],
    )
    want = _assert_counts_match(ctx, engine)
    assert want[QUEUE_EMERGENCY] == (1, 1, 1)

    # a reply that joins the two stored email threads: one is merged into the other (a delete)
    with reading(engine) as conn:
        before = conn.execute(select(threads.c.id)).scalars().all()
    ingest(ctx, [msg("e3", "y3@list.example", "f", at=T0 + timedelta(hours=1), message_id="<q@l>",
                     references=("<p@l>",), **email)])  # fmt: skip
    with reading(engine) as conn:
        assert len(conn.execute(select(threads.c.id)).scalars().all()) == len(before) - 1
    _assert_counts_match(ctx, engine)

    # link the unknown number to a patient: its thread leaves unmatched (a queue move)
    with reading(engine) as conn:
        cid = conn.execute(select(contacts.c.id).where(contacts.c.value == "+15550199999")).scalar_one()
        cy = conn.execute(select(patients.c.id).where(patients.c.mrn == "M3")).scalar_one()
    link_contact(ctx, cid, cy)
    _assert_counts_match(ctx, engine)

    # acknowledge the emergency (unpinned), read a thread (no longer unread)
    pinned = inbox.thread_page(ctx, queue=QUEUE_EMERGENCY)[0]
    inbox.acknowledge_emergency(ctx, pinned.id, expected_version=pinned.version)
    inbox.open_thread(ctx, pinned.id)
    assert _assert_counts_match(ctx, engine)[QUEUE_EMERGENCY] == (1, 0, 0)

    # close one (a new message days later starts a new thread), then delete others outright
    with engine.begin() as conn:
        conn.execute(update(threads).where(threads.c.id == pinned.id).values(status="closed"))
    ingest(ctx, [msg("s4", "+15550143000", "thanks, better now", at=T0 + timedelta(days=9))])
    _assert_counts_match(ctx, engine)
    with engine.begin() as conn:
        conn.execute(delete(threads).where(threads.c.queue == "billing"))
    _assert_counts_match(ctx, engine)
