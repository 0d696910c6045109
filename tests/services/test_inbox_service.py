"""The inbox use cases over a real store (both databases): reads, audit, read marks, acknowledgment."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from store_data import T0, Seed

from omnidesk.model import QUEUE_EMERGENCY, Role, ThreadStatus
from omnidesk.services import inbox
from omnidesk.services.context import Context
from omnidesk.services.errors import ConflictError, NotFound, PermissionDenied
from omnidesk.services.export import detail_to_json, summary_to_json
from omnidesk.store.engine import reading
from omnidesk.store.schema import audit_events, threads


def _events(engine: Engine) -> list:
    with reading(engine) as conn:
        return conn.execute(select(audit_events).order_by(audit_events.c.id)).all()


@pytest.fixture
def world(engine: Engine) -> dict:
    seed = Seed(engine)
    nurse = seed.staff("nurse", Role.NURSE, "Nora Nurse")
    desk = seed.staff("frontdesk", Role.FRONT_DESK, "Front desk")
    phone = seed.contact("+15551112222")
    pid = seed.patient("Ana", "Lopez", contacts_=((phone, "mobile"),))
    routine = seed.thread(patient_id=pid, contact_id=phone, unread_count=2, last_message_at=T0)
    seed.message(routine, "Can I get a refill of lisinopril?", at=T0)
    emergency = seed.thread(
        patient_id=pid, urgency="emergency", pinned=True, queue=QUEUE_EMERGENCY, last_message_at=T0 - timedelta(hours=1)
    )
    seed.message(emergency, "crushing chest pain", at=T0 - timedelta(hours=1), urgency="emergency")
    return {
        "nurse": Context(engine, nurse),
        "desk": Context(engine, desk),
        "routine": routine,
        "emergency": emergency,
        "pid": pid,
    }


def test_open_thread_marks_read_and_audits(engine: Engine, world: dict) -> None:
    detail = inbox.open_thread(world["desk"], world["routine"])
    assert detail.summary.unread_count == 0 and detail.patient is not None
    assert [m.body for m in detail.messages] == ["Can I get a refill of lisinopril?"]
    with reading(engine) as conn:
        assert conn.execute(select(threads.c.unread_count).where(threads.c.id == world["routine"])).scalar() == 0
    (ev,) = _events(engine)
    assert (ev.action, ev.thread_id, ev.patient_id, ev.staff_id) == (
        "thread.view",
        world["routine"],
        world["pid"],
        world["desk"].user.id,
    )
    assert ev.detail == {"messages": 1, "unread": 2}
    with pytest.raises(NotFound):
        inbox.open_thread(world["desk"], 424242)
    assert len(_events(engine)) == 1


def test_read_mark_and_audit_are_one_transaction(engine: Engine, world: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_a, **_k) -> None:
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(inbox.audit, "record", broken)
    with pytest.raises(RuntimeError):
        inbox.open_thread(world["desk"], world["routine"])
    with reading(engine) as conn:  # not marked read without its audit event
        assert conn.execute(select(threads.c.unread_count).where(threads.c.id == world["routine"])).scalar() == 2


def test_acknowledge_emergency(engine: Engine, world: dict) -> None:
    ctx = world["nurse"]
    (top,) = inbox.thread_page(ctx, queue=QUEUE_EMERGENCY, limit=1)
    assert top.pinned and top.version == 1
    before = datetime.now(UTC)
    acked = inbox.acknowledge_emergency(ctx, world["emergency"], expected_version=top.version)
    assert not acked.pinned and acked.version == 2
    assert acked.emergency_ack_by == "Nora Nurse" and before <= acked.emergency_ack_at <= datetime.now(UTC)
    ev = _events(engine)[-1]
    assert ev.action == "thread.ack_emergency" and ev.thread_id == world["emergency"] and ev.staff_id == ctx.user.id
    assert ev.at == acked.emergency_ack_at
    with pytest.raises(ConflictError, match="already acknowledged"):
        inbox.acknowledge_emergency(world["desk"], world["emergency"])
    with pytest.raises(ConflictError, match="not an emergency"):
        inbox.acknowledge_emergency(ctx, world["routine"])
    with pytest.raises(NotFound):
        inbox.acknowledge_emergency(ctx, 987654)


def test_acknowledge_with_a_stale_version(world: dict) -> None:
    with pytest.raises(ConflictError) as err:
        inbox.acknowledge_emergency(world["nurse"], world["emergency"], expected_version=0)
    assert err.value.code == "version"


def test_two_people_acknowledge_at_once(engine: Engine, world: dict) -> None:
    results: list[str] = []
    barrier = threading.Barrier(2)

    def ack(ctx: Context) -> None:
        barrier.wait()
        try:
            inbox.acknowledge_emergency(ctx, world["emergency"], expected_version=1)
            results.append("ok")
        except ConflictError:
            results.append("conflict")

    workers = [threading.Thread(target=ack, args=(c,)) for c in (world["nurse"], world["desk"])]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert sorted(results) == ["conflict", "ok"]
    assert [e.action for e in _events(engine)] == ["thread.ack_emergency"]


def test_pages_counts_and_export(engine: Engine, world: dict) -> None:
    ctx = world["desk"]
    counts = {c.queue: c for c in inbox.queue_counts(ctx)}
    assert counts[QUEUE_EMERGENCY].emergency_count == 1 and counts["front_desk"].unread_count == 1
    page = inbox.thread_page(ctx, queue=None)
    assert [t.id for t in page] == [world["emergency"], world["routine"]]  # pinned first
    assert [t.id for t in inbox.thread_page(ctx, queue=None, after=page[0].key)] == [world["routine"]]
    assert [t.id for t in inbox.thread_page_at(ctx, queue=None, status="open", offset=1)] == [world["routine"]]
    assert inbox.thread_total(ctx, queue=None, status=ThreadStatus.OPEN) == 2
    assert inbox.thread_total(ctx, queue=None, status=None) == 2
    assert _events(engine) == []  # listing is not audited
    exported = list(inbox.iter_threads(ctx))
    assert [t.id for t in exported] == [t.id for t in page]
    assert [e.action for e in _events(engine)] == ["thread.export"]
    row = summary_to_json(exported[0])
    assert row["pinned"] is True and row["urgency"] == "emergency" and row["candidates"] == []
    for key in (
        "id",
        "patient_id",
        "patient_name",
        "status",
        "queue",
        "priority",
        "intents",
        "channels",
        "message_count",
        "last_message_at",
        "assignee",
    ):
        assert key in row
    full = detail_to_json(inbox.open_thread(ctx, world["routine"]))
    assert full["messages"][0]["from"] == "+15550000001" and full["patient"]["phones"] == ["+15551112222"]
    json.dumps(full)
    json.dumps(row)


def test_search_is_audited_without_the_query_text(engine: Engine, world: dict) -> None:
    hits = inbox.search(world["desk"], 'lisinopril "refill"')
    assert [h.thread_id for h in hits] == [world["routine"]]
    assert inbox.search(world["desk"], '"()*') == []
    (ev,) = _events(engine)
    assert ev.action == "search" and ev.detail == {"terms": 2, "hits": 1, "threads": [world["routine"]]}
    assert "lisinopril" not in json.dumps(ev.detail)


def test_permissions_are_checked_in_services(engine: Engine) -> None:
    from omnidesk.model import StaffUser
    from omnidesk.services import permissions

    billing = Context(engine, StaffUser(1, "billing", "Billing", Role.BILLING))
    permissions.require(billing, permissions.THREAD_VIEW)
    permissions.require(billing, permissions.THREAD_ACK_EMERGENCY)
    for role in Role:
        ctx = Context(engine, StaffUser(1, role.value, role.value, role))
        assert permissions.allowed(ctx, "thread.view") and permissions.allowed(ctx, "thread.ack_emergency")
        managing = role in (Role.MANAGER, Role.ADMIN)
        for perm in ("import.patients", "import.messages", "audit.verify"):
            assert permissions.allowed(ctx, perm) is managing
    with pytest.raises(PermissionDenied) as err:
        permissions.require(billing, permissions.IMPORT_PATIENTS)
    assert "billing" in err.value.message and err.value.hint
    assert permissions.allowed(Context(engine, None), permissions.STAFF_MANAGE)  # the system itself
    with pytest.raises(ValueError):
        permissions.allowed(billing, "no.such.permission")
