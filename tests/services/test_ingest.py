"""The ingest pipeline end to end on SQLite and PostgreSQL: identity, threading, tags, idempotence."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from ingest_helpers import T0, jsonl_line, load_patients, make_ctx, msg
from sqlalchemy import Engine, func, select, update

from omnidesk.model import QUEUE_EMERGENCY, QUEUE_FRONT_DESK, QUEUE_UNMATCHED, AttachmentIn, Channel
from omnidesk.services.context import Context
from omnidesk.services.identity import link_contact
from omnidesk.services.ingest import ingest, ingest_jsonl
from omnidesk.store.engine import reading
from omnidesk.store.schema import (
    attachments,
    audit_events,
    contacts,
    messages,
    opt_outs,
    patient_contacts,
    patients,
    threads,
)

PATIENTS = [
    ["M1", "Ana", "Lopez", "1980-02-03", "(555) 014-3000", "", "ana@example.org", "es", "sms"],
    ["M2", "Ben", "Lopez", "2012-07-08", "", "555.014.3000", "", "en", ""],  # shares Ana's number
    ["M3", "Cy", "Okafor", "1975-11-30", "+1 555 014 3111", "", "cy@example.org", "en", "email"],
]


def _threads(engine: Engine) -> list[dict]:
    with reading(engine) as c:
        return [dict(r._mapping) for r in c.execute(select(threads).order_by(threads.c.id))]


def _pid(engine: Engine, mrn: str) -> int:
    with reading(engine) as c:
        return c.execute(select(patients.c.id).where(patients.c.mrn == mrn)).scalar_one()


def _count(engine: Engine, table) -> int:
    with reading(engine) as c:
        return c.execute(select(func.count()).select_from(table)).scalar_one()


@pytest.fixture
def ctx(engine: Engine, tmp_path: Path):
    ctx = make_ctx(engine)
    load_patients(ctx, tmp_path, PATIENTS)
    return ctx


def test_household_phone_goes_to_unmatched_with_both_patients_as_candidates(ctx, engine: Engine) -> None:
    report = ingest(ctx, [msg("s1", "+15550143000", "can I move my appointment")])
    assert (report.new, report.duplicate, report.rejected) == (1, 0, [])
    [t] = _threads(engine)
    assert t["patient_id"] is None and t["queue"] == QUEUE_UNMATCHED
    with reading(engine) as c:
        cands = c.execute(
            select(patient_contacts.c.patient_id).where(patient_contacts.c.contact_id == t["contact_id"])
        ).scalars()
        assert sorted(cands) == sorted([_pid(engine, "M1"), _pid(engine, "M2")])


def test_known_patient_by_phone_and_email_gets_the_triage_queue(ctx, engine: Engine) -> None:
    ingest(ctx, [msg("s1", "5550143111", "hi"), msg("e1", "Cy <CY@Example.org>", "my bill", channel=Channel.EMAIL)])
    [t] = _threads(engine)  # one patient, two channels, same day: one conversation
    assert t["patient_id"] == _pid(engine, "M3")
    assert t["channels"] == ["email", "sms"]
    assert t["queue"] == QUEUE_FRONT_DESK  # the first message routed it; a routine one does not move it


def test_unknown_sender_gets_an_unmatched_contact_and_linking_moves_its_threads(ctx, engine: Engine) -> None:
    ingest(ctx, [msg("s1", "+1 (555) 019-9999", "need a refill bill"), msg("e1", "new@example.org", "x")])
    ts = _threads(engine)
    assert len(ts) == 2 and all(t["patient_id"] is None and t["queue"] == QUEUE_UNMATCHED for t in ts)
    with reading(engine) as c:
        cid = c.execute(select(contacts.c.id).where(contacts.c.value == "+15550199999")).scalar_one()
    moved = link_contact(ctx, cid, _pid(engine, "M3"))
    [t] = [t for t in _threads(engine) if t["contact_id"] == cid]
    assert moved == [t["id"]]
    assert t["patient_id"] == _pid(engine, "M3")
    assert t["queue"] == "billing"  # re-routed by its tags, out of unmatched
    assert t["version"] == 2
    with reading(engine) as c:
        actions = c.execute(select(audit_events.c.action)).scalars().all()
    assert "contact.link" in actions
    # the next message from that number resolves straight to the patient and joins the thread
    ingest(ctx, [msg("s2", "5550199999", "thanks", at=T0 + timedelta(hours=2))])
    assert [x["message_count"] for x in _threads(engine) if x["id"] == t["id"]] == [2]


def test_linking_a_household_number_leaves_its_threads_ambiguous(ctx, engine: Engine) -> None:
    ingest(ctx, [msg("s1", "+15550143000", "hello")])
    [t] = _threads(engine)
    assert link_contact(ctx, t["contact_id"], _pid(engine, "M3")) == []
    assert _threads(engine)[0]["patient_id"] is None


def test_text_email_voicemail_within_the_window_are_one_thread(ctx, engine: Engine) -> None:
    ingest(
        ctx,
        [
            msg("s1", "+15550143111", "about my visit", at=T0),
            msg(
                "e1",
                "cy@example.org",
                "following up",
                at=T0 + timedelta(days=2),
                channel=Channel.EMAIL,
                subject="Visit",
            ),
            msg("v1", "+15550143111", "voicemail: call me", at=T0 + timedelta(days=6), channel=Channel.VOICEMAIL),
        ],
    )
    [t] = _threads(engine)
    assert t["channels"] == ["email", "sms", "voicemail"]
    assert (t["message_count"], t["unread_count"]) == (3, 3)
    assert t["subject"] == "Visit"
    assert t["last_message_at"] == T0 + timedelta(days=6)
    assert t["preview"] == "voicemail: call me"
    # eight days after the last message is outside the window: a new conversation
    ingest(ctx, [msg("s2", "+15550143111", "new question", at=T0 + timedelta(days=14, minutes=1))])
    assert len(_threads(engine)) == 2


def test_email_reply_joins_by_in_reply_to_after_30_days_and_reopens_a_closed_thread(ctx, engine: Engine) -> None:
    first = msg("e1", "cy@example.org", "results?", channel=Channel.EMAIL, message_id="<a1@mail.example>", subject="Q")
    ingest(ctx, [first])
    [t] = _threads(engine)
    with engine.begin() as c:
        c.execute(update(threads).values(status="closed", closed_at=T0 + timedelta(days=1)))
    late = T0 + timedelta(days=30)
    ingest(ctx, [msg("s9", "+15550143111", "unrelated text", at=late)])  # closed + unrelated → new thread
    reply = msg(
        "e2",
        "cy@example.org",
        "re: results",
        at=late + timedelta(minutes=5),
        channel=Channel.EMAIL,
        message_id="<a2@mail.example>",
        in_reply_to="<a1@mail.example>",
        references=("<a1@mail.example>",),
    )
    ingest(ctx, [reply])
    by_id = {x["id"]: x for x in _threads(engine)}
    assert len(by_id) == 2
    assert by_id[t["id"]]["message_count"] == 2
    assert by_id[t["id"]]["status"] == "open" and by_id[t["id"]]["closed_at"] is None


def test_closed_thread_is_not_reopened_by_a_new_message_days_later(ctx, engine: Engine) -> None:
    ingest(ctx, [msg("s1", "+15550143111", "hi")])
    with engine.begin() as c:
        c.execute(update(threads).values(status="closed"))
    ingest(ctx, [msg("s2", "+15550143111", "another thing", at=T0 + timedelta(days=2))])
    ts = _threads(engine)
    assert [t["status"] for t in ts] == ["closed", "open"]
    assert [t["message_count"] for t in ts] == [1, 1]


def test_reply_chain_threads_across_batches_and_out_of_order(ctx, engine: Engine) -> None:
    """A reply stored before its parent, and a parent that joins two stored threads."""
    kw = {"channel": Channel.EMAIL}
    a = msg("a", "x1@list.example", "root", at=T0, message_id="<r@l>", **kw)
    b = msg(
        "b", "x2@list.example", "child 1", at=T0 + timedelta(days=20), message_id="<c1@l>", in_reply_to="<r@l>", **kw
    )
    c = msg(
        "c", "x3@list.example", "child 2", at=T0 + timedelta(days=21), message_id="<c2@l>", in_reply_to="<r@l>", **kw
    )
    ingest(ctx, [b])
    ingest(ctx, [c])  # sibling via the shared (ghost) parent
    assert len(_threads(engine)) == 1
    ingest(ctx, [a])  # the parent, last: joins by Message-ID chain
    [t] = _threads(engine)
    assert t["message_count"] == 3 and t["first_message_at"] == T0

    # two stored threads found to be one conversation are merged
    d = msg("d", "y1@list.example", "d", at=T0, message_id="<d@l>", in_reply_to="<p@l>", **kw)
    e = msg("e", "y2@list.example", "e", at=T0, message_id="<e@l>", in_reply_to="<q@l>", **kw)
    ingest(ctx, [d])
    ingest(ctx, [e])
    assert len(_threads(engine)) == 3
    f = msg("f", "y3@list.example", "f", at=T0 + timedelta(hours=1), message_id="<q@l>", references=("<p@l>",), **kw)
    ingest(ctx, [f])
    ts = _threads(engine)
    assert len(ts) == 2
    with reading(engine) as conn:
        per_thread = dict(conn.execute(select(messages.c.thread_id, func.count()).group_by(messages.c.thread_id)).all())
    assert sorted(per_thread.values()) == [3, 3]
    assert {t["id"]: t["message_count"] for t in ts} == per_thread


def test_same_results_whatever_the_batch_size(ctx, engine: Engine, tmp_path: Path) -> None:
    stream = []
    for i in range(60):
        sender = ["+15550143111", "cy@example.org", "+15550143000", f"+1555019{i % 7:04d}"][i % 4]
        ch = Channel.EMAIL if "@" in sender else Channel.SMS
        stream.append(
            msg(f"p{i}", sender, f"m{i} bill" if i % 5 == 0 else f"m{i}", at=T0 + timedelta(hours=9 * i), channel=ch)
        )
    ingest(ctx, stream, batch_size=7)
    small = [
        {k: v for k, v in t.items() if k not in ("id", "created_at", "updated_at", "version")} for t in _threads(engine)
    ]
    with engine.begin() as c:
        c.execute(messages.delete())
        c.execute(threads.delete())
    ingest(ctx, stream, batch_size=1000)
    big = [
        {k: v for k, v in t.items() if k not in ("id", "created_at", "updated_at", "version")} for t in _threads(engine)
    ]
    assert small == big


def test_ingesting_the_same_file_twice_changes_nothing(ctx, engine: Engine, tmp_path: Path) -> None:
    lines = [jsonl_line(msg(f"s{i}", "+15550143111", f"m{i}", at=T0 + timedelta(hours=i))) for i in range(5)]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    first = ingest_jsonl(ctx, path)
    assert (first.new, first.duplicate, first.rejected) == (5, 0, [])
    before = (_threads(engine), _count(engine, messages), _count(engine, contacts))
    again = ingest_jsonl(ctx, path)
    assert (again.new, again.duplicate, again.rejected) == (0, 5, [])
    assert (_threads(engine), _count(engine, messages), _count(engine, contacts)) == before


def test_duplicate_within_one_batch_is_stored_once(ctx, engine: Engine) -> None:
    m = msg("dup", "+15550143111", "once")
    report = ingest(ctx, [m, m, msg("dup", "+15550143111", "same id", channel=Channel.VOICEMAIL)])
    assert (report.new, report.duplicate) == (2, 1)  # the id is unique per channel
    assert _count(engine, messages) == 2


def test_out_of_order_history_keeps_newest_preview_and_max_time(ctx, engine: Engine) -> None:
    times = [3, 0, 5, 1, 4, 2]
    ingest(ctx, [msg(f"h{h}", "+15550143111", f"hour {h}", at=T0 + timedelta(hours=h)) for h in times], batch_size=2)
    [t] = _threads(engine)
    assert t["last_message_at"] == T0 + timedelta(hours=5)
    assert t["first_message_at"] == T0
    assert t["preview"] == "hour 5"
    assert t["message_count"] == 6


def test_emergency_from_unknown_sender_goes_to_the_emergency_queue_pinned(ctx, engine: Engine) -> None:
    ingest(ctx, [msg("s1", "+15550177777", "EMERGENCY my father collapsed")])
    [t] = _threads(engine)
    assert t["patient_id"] is None
    assert (t["queue"], t["urgency"], t["pinned"]) == (QUEUE_EMERGENCY, "emergency", True)
    assert t["due_at"] == T0 + timedelta(minutes=5)
    # acknowledged, then a routine follow-up keeps it unpinned; a NEW emergency re-pins it
    with engine.begin() as c:
        c.execute(update(threads).values(pinned=False, emergency_ack_at=T0, emergency_ack_by=ctx.user.id))
    ingest(ctx, [msg("s2", "+15550177777", "he is awake", at=T0 + timedelta(minutes=10))])
    assert _threads(engine)[0]["pinned"] is False
    ingest(ctx, [msg("s3", "+15550177777", "EMERGENCY again", at=T0 + timedelta(minutes=20))])
    t = _threads(engine)[0]
    assert (t["pinned"], t["emergency_ack_at"], t["emergency_ack_by"]) == (True, None, None)


def test_ambiguous_emergency_is_still_an_emergency(ctx, engine: Engine) -> None:
    ingest(ctx, [msg("s1", "+15550143000", "EMERGENCY chest pain")])
    [t] = _threads(engine)
    assert (t["patient_id"], t["queue"], t["pinned"]) == (None, QUEUE_EMERGENCY, True)


def test_intents_primary_of_most_urgent_first_and_due_at_earliest(ctx, engine: Engine) -> None:
    ingest(
        ctx,
        [
            msg("a", "+15550143111", "my bill", at=T0),
            msg("b", "+15550143111", "URGENT out of meds", at=T0 + timedelta(minutes=1)),
            msg("c", "+15550143111", "thanks", at=T0 + timedelta(minutes=2)),
        ],
    )
    [t] = _threads(engine)
    assert t["intents"] == ["refill", "billing", "general"]
    assert t["urgency"] == "urgent" and t["queue"] == "nurse"  # escalated by the more urgent message
    assert t["due_at"] == T0 + timedelta(minutes=61)


def test_consent_opt_out_and_back_in_with_audit(ctx, engine: Engine) -> None:
    ingest(ctx, [msg("s1", "+15550143111", "STOP")])
    with reading(engine) as c:
        rows = c.execute(select(opt_outs.c.channel, opt_outs.c.source_message_id)).all()
        mid = c.execute(select(messages.c.id)).scalar_one()
    assert rows == [("sms", mid)]
    ingest(ctx, [msg("s2", "+15550143111", "START", at=T0 + timedelta(hours=1))])
    assert _count(engine, opt_outs) == 0
    with reading(engine) as c:
        events = c.execute(select(audit_events.c.action, audit_events.c.detail).order_by(audit_events.c.id)).all()
    actions = [a for a, _ in events]
    assert actions.count("consent.opt_out") == 1 and actions.count("consent.opt_in") == 1
    assert actions.count("ingest.batch") == 2
    batch = next(d for a, d in events if a == "ingest.batch")
    assert batch["new"] == 1 and batch["duplicate"] == 0
    assert "STOP" not in str([d for _, d in events])  # ids and counts only


def _open_work(ctx) -> tuple[int, int]:
    """(open threads, open threads with unread messages) over every queue, as the console counts them."""
    from omnidesk.services.inbox import queue_counts

    counts = queue_counts(ctx)
    return sum(q.open_count for q in counts), sum(q.unread_count for q in counts)


@pytest.mark.parametrize("together", [False, True], ids=["two-imports", "one-batch"])
def test_stop_alone_is_auto_handled_then_the_next_message_reopens_its_thread(ctx, engine: Engine, together) -> None:
    stop = msg("s1", "+15550143111", "STOP")
    question = msg("s2", "+15550143111", "question about my bill", at=T0 + timedelta(hours=1))
    ingest(ctx, [stop, question] if together else [stop])
    if not together:
        [t] = _threads(engine)
        assert t["patient_id"] == _pid(engine, "M3")
        assert t["status"] == "closed" and t["closed_at"] == T0  # recorded, but not in the open inbox
        assert t["unread_count"] == 0 and t["due_at"] is None and not t["pinned"]
        assert t["intents"] == ["consent.opt_out"] and t["message_count"] == 1
        assert _open_work(ctx) == (0, 0)
        assert _count(engine, opt_outs) == 1
        ingest(ctx, [question])
    [t] = _threads(engine)  # the patient's next message joins it: the STOP shows in the timeline
    assert t["status"] == "open" and t["closed_at"] is None
    assert t["message_count"] == 2 and t["unread_count"] == 1  # only the question is waiting work
    assert t["queue"] == "billing" and t["intents"] == ["billing", "consent.opt_out", "general"]
    assert t["due_at"] == T0 + timedelta(hours=1, days=1)
    assert _open_work(ctx) == (1, 1)
    with reading(engine) as c:
        assert (
            c.execute(select(func.count()).select_from(messages).where(messages.c.thread_id == t["id"])).scalar() == 2
        )
        actions = c.execute(select(audit_events.c.action)).scalars().all()
    assert actions.count("consent.opt_out") == 1


def test_stop_on_an_open_thread_adds_no_work(ctx, engine: Engine) -> None:
    ingest(ctx, [msg("b1", "+15550143111", "question about my bill")])
    [before] = _threads(engine)
    with engine.begin() as c:  # staff put it on hold
        c.execute(update(threads).values(status="pending", version=threads.c.version + 1))
    ingest(ctx, [msg("s1", "+15550143111", "STOP", at=T0 + timedelta(hours=2))])
    [t] = _threads(engine)
    assert t["id"] == before["id"] and t["message_count"] == 2
    assert t["status"] == "pending"  # not reopened by an automatic answer
    assert t["unread_count"] == before["unread_count"] == 1
    assert t["due_at"] == before["due_at"] and t["queue"] == before["queue"] == "billing"
    assert t["intents"] == ["billing", "general", "consent.opt_out"]  # recorded, never the primary
    assert t["last_message_at"] == T0 + timedelta(hours=2)
    assert _count(engine, opt_outs) == 1


def test_cancel_that_is_also_an_opt_out_stays_open_work(ctx, engine: Engine) -> None:
    ingest(ctx, [msg("c1", "+15550143111", "CANCEL")])
    [t] = _threads(engine)
    assert t["status"] == "open" and t["closed_at"] is None
    assert t["unread_count"] == 1 and t["due_at"] == T0 + timedelta(hours=4)
    assert t["queue"] == QUEUE_FRONT_DESK and t["intents"] == ["appointment.cancel", "consent.opt_out"]
    assert _open_work(ctx) == (1, 1)
    assert _count(engine, opt_outs) == 1  # the carrier keyword is honoured too


def test_stop_with_the_real_rules_is_auto_handled(engine: Engine, tmp_path: Path) -> None:
    from omnidesk.rules.triage import TriageEngine

    ctx = make_ctx(engine)
    ctx = Context(engine, ctx.user, _triage=TriageEngine.load())
    load_patients(ctx, tmp_path, PATIENTS)
    ingest(ctx, [msg("s1", "+15550143111", "STOP"), msg("s2", "+15550143000", "Stop texting me please")])
    ts = _threads(engine)
    assert len(ts) == 2
    assert all(t["status"] == "closed" and t["unread_count"] == 0 and t["due_at"] is None for t in ts)
    assert _count(engine, opt_outs) == 2


def test_ten_megabyte_attachment(ctx, engine: Engine) -> None:
    data = bytes(range(256)) * (10 * 1024 * 4)  # 10 MiB
    m = msg(
        "e1",
        "cy@example.org",
        "scan attached",
        channel=Channel.EMAIL,
        attachments=(AttachmentIn("scan.pdf", "application/pdf", data),),
    )
    assert ingest(ctx, [m]).new == 1
    with reading(engine) as c:
        row = c.execute(select(attachments.c.size, attachments.c.sha256, attachments.c.data)).one()
    import hashlib

    assert row.size == len(data) == 10 * 1024 * 1024
    assert row.sha256 == hashlib.sha256(data).hexdigest() and bytes(row.data) == data


def test_bad_input_never_crashes_and_is_reported_by_line(ctx, engine: Engine, tmp_path: Path) -> None:
    good = jsonl_line(msg("ok1", "+15550143111", "fine 😀"))
    lines = [
        good.encode(),
        b'{"channel": "sms", "provider_id": "bad-utf8", "from": "+15550143111", "body": "caf\xe9 \xff", '
        b'"received_at": "2024-05-06T14:00:00Z"}',
        b'{"channel": "fax", "provider_id": "x", "from": "+15550143111", "body": "", '
        b'"received_at": "2024-05-06T14:00:00Z"}',
        b'{"channel": "sms", "from": "+15550143111", "body": "", "received_at": "2024-05-06T14:00:00Z"}',
        b'{"channel": "sms", "provider_id": "naive", "from": "+15550143111", "body": "x", '
        b'"received_at": "2024-05-06T14:00:00"}',
        b'{"channel": "sms", "provider_id": "nodate", "from": "+15550143111", "body": "x", "received_at": "yesterday"}',
        b"not json at all",
        b"",
        b'{"channel": "sms", "provider_id": "nul", "from": "+15550143111", "body": "a\\u0000b", '
        b'"received_at": "2024-05-06T14:00:00+02:00"}',
        b'{"channel": "email", "provider_id": "long", "from": "cy@example.org", "body": "' + b"x" * 300_000 + b'", '
        b'"received_at": "2024-05-06T14:00:00Z"}',
        b'{"channel": "sms", "provider_id": "surrogate", "from": "+15550143111", "body": "\\ud800", '
        b'"received_at": "2024-05-06T14:00:00Z"}',
        b'{"channel": "sms", "provider_id": "anon", "from": "Anonymous", "body": "call me", '
        b'"received_at": "2024-05-06T14:00:00Z"}',
        b'{"channel": "sms", "provider_id": "nosender", "from": "  ", "body": "x", '
        b'"received_at": "2024-05-06T14:00:00Z"}',
    ]
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    report = ingest_jsonl(ctx, path)
    assert report.new == 6
    assert [n for n, _ in report.rejected] == [3, 4, 5, 6, 7, 13]
    reasons = dict(report.rejected)
    assert reasons[3] == "unknown channel" and reasons[4] == "missing provider_id"
    assert reasons[5] == "received_at has no UTC offset" and reasons[7] == "not valid JSON"
    with reading(engine) as c:
        bodies = dict(c.execute(select(messages.c.provider_id, messages.c.body)).all())
        anon = c.execute(select(messages.c.contact_id).where(messages.c.provider_id == "anon")).scalar_one()
    assert bodies["bad-utf8"] == "caf\ufffd \ufffd"
    assert bodies["nul"] == "ab"
    assert bodies["ok1"] == "fine 😀"
    assert len(bodies["long"]) == 300_000
    assert bodies["surrogate"] == "?"
    assert anon is None  # a withheld caller ID is kept (it may be an emergency), just unmatched
