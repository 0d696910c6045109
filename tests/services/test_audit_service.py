"""audit.record / verify_chain as services use them."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, update
from store_data import Seed

from omnidesk.model import Role, StaffUser
from omnidesk.services import audit
from omnidesk.services.context import Context
from omnidesk.services.errors import PermissionDenied
from omnidesk.store.schema import audit_events


def test_record_in_the_callers_transaction_and_verify(engine: Engine) -> None:
    manager = Seed(engine).staff("manager", Role.MANAGER)
    ctx = Context(engine, manager)
    with engine.begin() as conn:
        first = audit.record(conn, ctx, "contact.link", patient_id=7, contact_id=3, threads=2, new=True)
    with pytest.raises(RuntimeError), engine.begin() as conn:
        audit.record(conn, ctx, "thread.view", thread_id=1)
        raise RuntimeError("the use case failed")  # its audit event goes with it
    with engine.begin() as conn:
        second = audit.record(conn, Context(engine, None), "ingest.batch", new=10, duplicate=0)
    assert second > first
    assert audit.verify_chain(engine) is None
    assert audit.verify_chain_as(ctx) is None
    with engine.begin() as conn:
        conn.execute(update(audit_events).where(audit_events.c.id == first).values(patient_id=8))
    assert audit.verify_chain(engine) == first


def test_verify_needs_a_manager(engine: Engine) -> None:
    with pytest.raises(PermissionDenied):
        audit.verify_chain_as(Context(engine, StaffUser(1, "frontdesk", "Front desk", Role.FRONT_DESK)))


def test_record_refuses_phi_in_detail(engine: Engine) -> None:
    ctx = Context(engine, None)
    with pytest.raises(ValueError), engine.begin() as conn:
        audit.record(conn, ctx, "thread.view", thread_id=1, note="patient says chest hurts")
