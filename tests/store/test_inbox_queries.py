"""Inbox pages (keyset and offset), totals, queue counts and one thread's detail, on both databases."""

from __future__ import annotations

import pickle
import random
from datetime import UTC, date, timedelta

import pytest
from sqlalchemy import Engine, select, text
from store_data import T0, Seed

from omnidesk.model import QUEUE_EMERGENCY, QUEUE_UNMATCHED, PageKey, ThreadStatus, Urgency
from omnidesk.store import queries as q
from omnidesk.store import queue_stats
from omnidesk.store.engine import make_engine, reading
from omnidesk.store.prepared import Prepared

QUEUES = ["front_desk", "nurse", "billing", QUEUE_UNMATCHED, QUEUE_EMERGENCY, "custom_q"]
STATUSES = [s.value for s in ThreadStatus]


@pytest.fixture
def many(engine: Engine) -> list[dict]:
    """260 threads: every queue and status, some pinned, many sharing a timestamp (ties by id)."""
    rnd = random.Random(5)
    rows = []
    for i in range(260):
        queue = rnd.choice(QUEUES)
        rows.append(
            {
                "status": rnd.choice(STATUSES + ["open"] * 3),
                "queue": queue,
                "urgency": "emergency" if queue == QUEUE_EMERGENCY else "routine",
                "pinned": (queue == QUEUE_EMERGENCY and rnd.random() < 0.5) or rnd.random() < 0.05,
                "unread_count": rnd.choice([0, 0, 1, 3]),
                "last_message_at": T0 - timedelta(minutes=rnd.randint(0, 40)),  # many ties
                "preview": f"p{i}",
            }
        )
    Seed(engine).threads(rows)
    t = q.threads.c
    with reading(engine) as conn:
        got = conn.execute(select(t.id, t.status, t.queue, t.pinned, t.unread_count, t.last_message_at)).all()
    return [
        {
            "id": r.id,
            "status": r.status,
            "queue": r.queue,
            "pinned": bool(r.pinned),
            "unread": r.unread_count,
            "last": r.last_message_at,
        }
        for r in got
    ]


def _expected(rows: list[dict], status: str | None, queue: str | None) -> list[int]:
    sel = [r for r in rows if (status is None or r["status"] == status) and (queue is None or r["queue"] == queue)]
    sel.sort(key=lambda r: (r["pinned"], r["last"], r["id"]), reverse=True)
    return [r["id"] for r in sel]


@pytest.mark.parametrize("status", ["open", "closed", None])
@pytest.mark.parametrize("queue", [None, QUEUE_EMERGENCY, "nurse"])
def test_keyset_pages_cover_every_thread_once_in_order(
    engine: Engine, many: list[dict], status: str | None, queue: str | None
) -> None:
    want = _expected(many, status, queue)
    assert any(r["pinned"] for r in many if r["id"] in set(want)) or queue == "nurse" or status == "closed"
    got: list[int] = []
    after: PageKey | None = None
    with reading(engine) as conn:
        while True:
            page = q.thread_page(conn, status=status, queue=queue, after=after, limit=7)
            got += [t.id for t in page]
            if len(page) < 7:
                break
            after = page[-1].key
        assert q.thread_total(conn, status=status, queue=queue) == len(want)
    assert got == want


@pytest.mark.parametrize(
    "status,queue", [("open", None), ("open", QUEUE_EMERGENCY), (None, None), ("pending", "nurse")]
)
def test_offset_pages_agree_with_keyset(
    engine: Engine, many: list[dict], status: str | None, queue: str | None
) -> None:
    want = _expected(many, status, queue)
    with reading(engine) as conn:
        for offset in [0, 1, 5, len(want) // 2, max(0, len(want) - 3), len(want), len(want) + 10]:
            page = q.thread_page_at(conn, status=status, queue=queue, offset=offset, limit=9)
            assert [t.id for t in page] == want[offset : offset + 9], offset


def test_page_rows_carry_the_stored_pin_and_version(engine: Engine, many: list[dict]) -> None:
    by_id = {r["id"]: r for r in many}
    with reading(engine) as conn:
        page = q.thread_page(conn, status="open", queue=None, limit=500)
    assert page and all(t.pinned == by_id[t.id]["pinned"] and t.version == 1 for t in page)
    pinned = [t.pinned for t in page]
    assert pinned == sorted(pinned, reverse=True)  # pinned threads first


def test_queue_counts(engine: Engine, many: list[dict]) -> None:
    with reading(engine) as conn:
        counts = {c.queue: c for c in q.queue_counts(conn)}
    assert list(counts)[:5] == ["emergency", "nurse", "billing", "front_desk", "unmatched"]
    for queue in QUEUES:
        open_rows = [r for r in many if r["status"] == "open" and r["queue"] == queue]
        c = counts[queue]
        assert c.open_count == len(open_rows)
        assert c.unread_count == sum(1 for r in open_rows if r["unread"] > 0)
        assert c.emergency_count == sum(1 for r in open_rows if r["pinned"])
    assert counts["custom_q"].label == "Custom q" and counts["front_desk"].label == "Front desk"


def test_queue_counts_on_an_empty_store(engine: Engine) -> None:
    with reading(engine) as conn:
        counts = q.queue_counts(conn)
    assert [c.queue for c in counts] == ["emergency", "nurse", "billing", "front_desk", "unmatched"]
    assert all(c.open_count == c.unread_count == c.emergency_count == 0 for c in counts)


def _plan(conn, stmt) -> str:
    comp = stmt.compile(dialect=conn.dialect)
    if conn.dialect.name == "sqlite":
        params = tuple(comp.params[k] for k in comp.positiontup)
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(comp), params).all()
        return "\n".join(r[3] for r in rows)
    return "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + str(comp), comp.params).all())


_GEN_THREADS = """
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {n})
INSERT INTO threads (status, queue, urgency, pinned, intents, channels, preview, unread_count,
                     first_message_at, last_message_at, created_at, updated_at)
SELECT CASE WHEN n % 10 < 2 THEN 'open' WHEN n % 10 = 2 THEN 'pending' ELSE 'closed' END,
       CASE n % 5 WHEN 0 THEN 'front_desk' WHEN 1 THEN 'nurse' WHEN 2 THEN 'billing'
                  WHEN 3 THEN 'unmatched' ELSE 'emergency' END,
       'routine', {pinned}, '[]', '[]', '', n % 3, {ts}, {ts}, {ts}, {ts}
FROM seq
"""


def test_inbox_pages_are_index_range_scans_at_100k_threads(fresh_db_url: str) -> None:
    """The plans the inbox budget (≤ 2 ms at 100k threads) rests on: ranges of an index, no sort."""
    engine = make_engine(fresh_db_url)
    try:
        _check_plans_at_scale(engine)
    finally:
        engine.dispose()


def _check_plans_at_scale(engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        sql = _GEN_THREADS.format(
            n=100_000, pinned="(n % 97 = 0)", ts="printf('%s.000000', datetime(1700000000 - n * 37, 'unixepoch'))"
        )
    else:
        sql = _GEN_THREADS.format(n=100_000, pinned="(n % 97 = 0)", ts="to_timestamp(1700000000 - n * 37)")
    with engine.begin() as conn:
        conn.execute(text(sql))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(
            text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE")
        )  # as autovacuum would
    with reading(engine) as conn:
        (top,) = q.thread_page(conn, status="open", queue="nurse", limit=1)
        assert q.thread_total(conn, status="open", queue=None) == 20_000
        keys = [None, PageKey(False, top.last_message_at, top.id), PageKey(True, top.last_message_at, top.id)]
        for queue, index in (("nurse", "ix_threads_inbox"), (None, "ix_threads_all")):
            for after in keys:
                plan = _plan(
                    conn, q.page_select(status="open", queue=queue, after=after, limit=100, dialect=conn.dialect.name)
                )
                if engine.dialect.name == "sqlite":
                    assert f"USING INDEX {index} (status=?" in plan and "TEMP B-TREE" not in plan, plan
                else:
                    assert f"Index Scan using {index} on threads" in plan and "Sort" not in plan, plan
        t = q.threads.c
        jump = (  # the offset jump (key_at): index-only
            select(t.pinned, t.last_message_at, t.id)
            .where(t.status == "open")
            .order_by(t.pinned.desc(), t.last_message_at.desc(), t.id.desc())
            .limit(1)
            .offset(10_000)
        )
        plan = _plan(conn, jump)
        assert "COVERING INDEX ix_threads_all" in plan or "Index Only Scan using ix_threads_all" in plan, plan
        assert "TEMP B-TREE FOR ORDER BY" not in plan and "Sort  " not in plan, plan
        # the counts come from the trigger-kept counters, equal to a scan after a bulk INSERT … SELECT
        assert queue_stats.stored(conn) == queue_stats.recount(conn)
        counts = {c.queue: c for c in q.queue_counts(conn)}
        assert counts["nurse"].open_count == 10_000 and counts["nurse"].unread_count == 6_667
        assert sum(c.emergency_count for c in counts.values()) == sum(
            1 for n in range(1, 100_001) if n % 97 == 0 and n % 10 < 2
        )


def test_thread_detail(engine: Engine) -> None:
    seed = Seed(engine)
    phone = seed.contact("+15551230000")
    email = seed.contact("ana@example.org")
    pid = seed.patient("Ana", "Lopez", dob=date(1980, 2, 3), contacts_=((phone, "mobile"), (email, "email")))
    seed.patient("Luis", "Lopez", contacts_=((phone, "home"),))  # a household shares the phone
    tid = seed.thread(patient_id=pid, contact_id=phone, unread_count=2)
    m2 = seed.message(tid, "second", at=T0 + timedelta(minutes=5), channel="email", subject="Re: visit")
    m1 = seed.message(tid, "first", at=T0, matched=({"rule": "r.refill", "sets": "refill", "text": "refill"},))
    att = seed.attachment(m2, "lab.pdf", b"%PDF-1.4 hello")
    seed.appointment(pid, T0 - timedelta(days=1))  # past: not shown
    soon = [seed.appointment(pid, T0 + timedelta(days=d), provider=f"Dr {d}") for d in (9, 2, 5, 1, 3, 7)]
    with reading(engine) as conn:
        detail = q.thread_detail(conn, tid, now=T0)
        assert q.thread_detail(conn, 999_999, now=T0) is None
    assert detail is not None
    assert [m.id for m in detail.messages] == [m1, m2]  # by time, not insertion
    assert detail.messages[0].matched[0].rule == "r.refill"
    assert [(a.id, a.filename, a.size) for a in detail.messages[1].attachments] == [(att, "lab.pdf", 14)]
    card = detail.patient
    assert card is not None and card.name == "Ana Lopez" and card.dob == date(1980, 2, 3)
    assert card.phones == ("+15551230000",) and card.emails == ("ana@example.org",)
    assert card.shared_contact
    assert [a.id for a in card.upcoming] == [soon[3], soon[1], soon[4], soon[2], soon[5]]  # next five, in order
    assert detail.summary.patient_name == "Ana Lopez" and detail.summary.contact == "+15551230000"
    assert detail.summary.candidates == ()


def test_unmatched_thread_lists_the_candidates(engine: Engine) -> None:
    seed = Seed(engine)
    phone = seed.contact("+15559990000")
    a = seed.patient("Zoe", "Diaz", dob=date(1990, 1, 2), contacts_=((phone, "mobile"),))
    b = seed.patient("Ada", "Diaz", contacts_=((phone, "mobile"),))
    seed.patient("Other", "Person")
    tid = seed.thread(contact_id=phone, queue=QUEUE_UNMATCHED)
    lone = seed.thread(contact_id=seed.contact("+15550000009"), queue=QUEUE_UNMATCHED)
    with reading(engine) as conn:
        page = {t.id: t for t in q.thread_page(conn, status="open", queue=QUEUE_UNMATCHED)}
        detail = q.thread_detail(conn, tid, now=T0)
    assert [c.id for c in page[tid].candidates] == [b, a]  # by name
    assert page[tid].candidates[0].name == "Ada Diaz" and page[tid].candidates[0].dob is None
    assert page[tid].candidates[1].dob == date(1990, 1, 2)
    assert page[lone].candidates == ()
    assert detail is not None and detail.patient is None and len(detail.summary.candidates) == 2


def test_mark_read_and_acknowledge(engine: Engine) -> None:
    seed = Seed(engine)
    nurse = seed.staff("nurse", display_name="Nora Nurse")
    tid = seed.thread(urgency="emergency", pinned=True, unread_count=3, queue=QUEUE_EMERGENCY)
    with engine.begin() as conn:
        assert q.mark_read(conn, tid)
        assert not q.mark_read(conn, tid)
        assert not q.acknowledge_emergency(conn, tid, staff_id=nurse.id, at=T0, expected_version=7)
        assert q.acknowledge_emergency(conn, tid, staff_id=nurse.id, at=T0, expected_version=1)
    with reading(engine) as conn:
        s = q.thread_summary(conn, tid)
    assert s is not None
    assert s.unread_count == 0 and not s.pinned and s.version == 2
    assert s.emergency_ack_by == "Nora Nurse" and s.emergency_ack_at == T0


def test_summary_fields_from_the_lean_row_path(engine: Engine) -> None:
    """Every field as stored, with the model's types: aware UTC times, tuples, enums, names."""
    seed = Seed(engine)
    nurse = seed.staff("nurse", display_name="Nora Nurse")
    desk = seed.staff("desk", display_name="Dee Desk")
    phone = seed.contact("+15551230000")
    pid = seed.patient("Ana", "Lopez", contacts_=((phone, "mobile"),))
    due = T0 + timedelta(hours=3, microseconds=7)
    tid = seed.thread(
        patient_id=pid,
        contact_id=phone,
        queue="nurse",
        priority=3,
        urgency="urgent",
        intents=["refill", "general"],
        channels=["email", "sms"],
        subject="Re: meds",
        preview="please refill",
        message_count=4,
        unread_count=2,
        last_message_at=T0,
        due_at=due,
        after_hours=True,
        assignee_id=nurse.id,
        emergency_ack_by=desk.id,
        emergency_ack_at=T0 - timedelta(minutes=1),
    )
    with reading(engine) as conn:
        (s,) = q.thread_page(conn, status="open", queue="nurse")
        assert q.thread_summary(conn, tid) == s
    assert (s.id, s.patient_id, s.patient_name, s.contact) == (tid, pid, "Ana Lopez", "+15551230000")
    assert s.status is ThreadStatus.OPEN and s.urgency is Urgency.URGENT and (s.queue, s.priority) == ("nurse", 3)
    assert s.intents == ("refill", "general") and s.channels == ("email", "sms")
    assert (s.message_count, s.unread_count, s.preview, s.subject) == (4, 2, "please refill", "Re: meds")
    assert s.last_message_at == T0 and s.last_message_at.tzinfo is UTC
    assert s.due_at == due and s.due_at.tzinfo is UTC and s.after_hours is True
    assert (s.assignee, s.emergency_ack_by, s.emergency_ack_at) == ("Nora Nurse", "Dee Desk", T0 - timedelta(minutes=1))
    assert s.stored_pinned is False and s.version == 1 and s.candidates == ()
    assert s.key == PageKey(False, T0, tid)
    assert pickle.loads(pickle.dumps(s)) == s  # the launch prefetch sends pages through a pipe


def test_driver_errors_surface_as_sqlalchemy_errors_without_values(engine: Engine) -> None:
    """The lean path runs on the DBAPI cursor; its errors still reach store_errors as SQLAlchemy's."""
    from sqlalchemy.exc import DBAPIError

    bad = Prepared(lambda _d: select(text("nope")).select_from(text("no_such_table")).where(text("x = :secret")))
    with reading(engine) as conn, pytest.raises(DBAPIError) as err:
        bad.rows(conn, {"secret": "Ana Lopez +15551230000"})
    assert "Ana Lopez" not in str(err.value) and "no_such_table" in str(err.value)
