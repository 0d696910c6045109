"""The hash-chained audit log: appends serialize, any edit, deletion or reordering is found."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, delete, func, select, update
from store_data import Seed

from omnidesk.store import audit
from omnidesk.store.engine import reading
from omnidesk.store.schema import audit_events

T = datetime(2024, 5, 6, 14, 0, 0, 123456, tzinfo=UTC)


def _append(engine: Engine, n: int, staff_id: int | None = None) -> list[int]:
    ids = []
    with engine.begin() as conn:
        for i in range(n):
            ids.append(
                audit.append_event(
                    conn,
                    action="thread.view",
                    staff_id=staff_id,
                    thread_id=100 + i,
                    patient_id=i or None,
                    detail={"messages": i, "queue": "nurse", "codes": ["a", "b"], "flag": True},
                    at=T + timedelta(seconds=i),
                )
            )
    return ids


def _verify(engine: Engine) -> int | None:
    with reading(engine) as conn:
        return audit.verify_chain(conn)


def test_chain_links_and_verifies(engine: Engine) -> None:
    staff = Seed(engine).staff()
    ids = _append(engine, 5, staff.id)
    assert _verify(engine) is None
    with reading(engine) as conn:
        rows = conn.execute(select(audit_events).order_by(audit_events.c.id)).all()
    assert rows[0].prev_hash == audit.GENESIS
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(rows))
    first = rows[0]
    assert first.hash == audit.event_hash(
        audit.GENESIS,
        T,
        staff.id,
        "thread.view",
        100,
        None,
        {"messages": 0, "queue": "nurse", "codes": ["a", "b"], "flag": True},
    )
    assert [r.id for r in rows] == ids


@pytest.mark.parametrize(
    "change",
    [
        {"detail": {"messages": 99, "queue": "nurse", "codes": ["a", "b"], "flag": True}},
        {"action": "thread.close"},
        {"staff_id": None},
        {"thread_id": 1},
        {"patient_id": 77},
        {"at": T + timedelta(seconds=2, microseconds=1)},
    ],
)
def test_any_edit_is_found_at_its_row(engine: Engine, change: dict) -> None:
    staff = Seed(engine).staff()
    ids = _append(engine, 5, staff.id)
    with engine.begin() as conn:
        conn.execute(update(audit_events).where(audit_events.c.id == ids[2]).values(**change))
    assert _verify(engine) == ids[2]


def test_deleting_or_rehashing_a_row_is_found(engine: Engine) -> None:
    ids = _append(engine, 5)
    with engine.begin() as conn:
        conn.execute(delete(audit_events).where(audit_events.c.id == ids[1]))
    assert _verify(engine) == ids[2]  # its link points at a row that is gone


def test_a_forger_recomputing_one_hash_still_breaks_the_next_link(engine: Engine) -> None:
    ids = _append(engine, 4)
    with engine.begin() as conn:
        row = conn.execute(select(audit_events).where(audit_events.c.id == ids[1])).one()
        detail = {**row.detail, "messages": 42}
        forged = audit.event_hash(
            row.prev_hash, row.at, row.staff_id, row.action, row.thread_id, row.patient_id, detail
        )
        conn.execute(update(audit_events).where(audit_events.c.id == ids[1]).values(detail=detail, hash=forged))
    assert _verify(engine) == ids[2]


def test_detail_refuses_free_text(engine: Engine) -> None:
    for bad in (
        {"note": "chest pain since monday"},
        {"phone": "+15551234567"},
        {"email": "ana@example.org"},
        {"x": 1.5},
        {"bad key": 1},
        {"nested": {"a": 1}},
    ):
        with pytest.raises(ValueError), engine.begin() as conn:
            audit.append_event(conn, action="thread.view", detail=bad)
    with pytest.raises(ValueError), engine.begin() as conn:
        audit.append_event(conn, action="free text action")
    with pytest.raises(RuntimeError), reading(engine) as conn:
        audit.append_event(conn, action="thread.view")
    with reading(engine) as conn:
        assert conn.execute(select(func.count()).select_from(audit_events)).scalar_one() == 0


def test_concurrent_appends_keep_one_chain(engine: Engine) -> None:
    """Four writers at once (separate connections): no fork, no lost event, chain intact."""
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            for i in range(15):
                with engine.begin() as conn:
                    audit.append_event(conn, action="search", detail={"writer": k, "i": i})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with reading(engine) as conn:
        rows = conn.execute(select(audit_events.c.prev_hash)).scalars().all()
    assert len(rows) == 60 and len(set(rows)) == 60  # every event links to a different predecessor
    assert _verify(engine) is None


def test_empty_log_verifies(engine: Engine) -> None:
    assert _verify(engine) is None
