"""Giving an Unmatched thread to a patient by hand (services/matching.py), on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from ingest_helpers import load_patients, make_ctx, msg
from sqlalchemy import Engine, select

from omnidesk.model import QUEUE_UNMATCHED, Role
from omnidesk.services.errors import NotFound, OmnideskError, PermissionDenied
from omnidesk.services.ingest import ingest
from omnidesk.services.matching import match_thread
from omnidesk.store.engine import reading
from omnidesk.store.schema import audit_events, threads

PATIENTS = [
    ["M1", "Ana", "Lopez", "1980-02-03", "+1 555 014 3000", "", "ana@example.org", "es", "sms"],
    ["M2", "Ben", "Lopez", "2012-07-08", "", "555.014.3000", "", "en", ""],  # shares Ana's number
    ["M3", "Cy", "Okafor", "1975-11-30", "+1 555 014 3111", "", "cy@example.org", "en", "email"],
]


@pytest.fixture
def ctx(engine: Engine, tmp_path: Path):
    ctx = make_ctx(engine)
    load_patients(ctx, tmp_path, PATIENTS)
    return ctx


def _thread(engine: Engine, tid: int):
    with reading(engine) as c:
        return c.execute(select(threads).where(threads.c.id == tid)).one()


def _actions(engine: Engine) -> list[str]:
    with reading(engine) as c:
        return list(c.execute(select(audit_events.c.action)).scalars())


def test_household_thread_goes_to_the_chosen_patient_and_the_number_stays_shared(ctx, engine: Engine) -> None:
    ingest(ctx, [msg("s1", "+15550143000", "my bill is wrong")])
    (tid,) = [r.id for r in _all(engine)]
    assert _thread(engine, tid).queue == QUEUE_UNMATCHED

    result = match_thread(ctx, tid, " M2 ")
    t = _thread(engine, tid)
    assert result.thread_ids == (tid,) and not result.linked_contact
    assert t.patient_id == result.patient_id and t.queue == "billing"  # re-routed by its tags
    assert "thread.match_patient" in _actions(engine)
    # the number is still shared: the next message from it is ambiguous again
    ingest(ctx, [msg("s2", "+15550143000", "hello again", at=msg("x", "+1").received_at.replace(day=20))])
    newest = max(_all(engine), key=lambda r: r.id)
    assert newest.patient_id is None and newest.queue == QUEUE_UNMATCHED


def test_unknown_sender_is_linked_and_all_its_threads_move(ctx, engine: Engine) -> None:
    ingest(ctx, [msg("s1", "+15550199999", "need a refill bill"), msg("e1", "new@example.org", "x")])
    sms_thread = next(r for r in _all(engine) if "sms" in r.channels)
    result = match_thread(ctx, sms_thread.id, "M3")
    assert result.linked_contact and result.thread_ids == (sms_thread.id,)
    assert _thread(engine, sms_thread.id).patient_id == result.patient_id
    assert "contact.link" in _actions(engine)


def test_errors_are_clear_and_carry_no_patient_data(ctx, engine: Engine) -> None:
    ingest(ctx, [msg("s1", "+15550143111", "hi")])  # Cy's own number: already matched
    (tid,) = [r.id for r in _all(engine)]
    with pytest.raises(OmnideskError, match="already belongs"):
        match_thread(ctx, tid, "M1")
    with pytest.raises(NotFound) as exc:
        match_thread(ctx, tid, "NO-SUCH-MRN")
    assert "NO-SUCH-MRN" not in str(exc.value)
    with pytest.raises(NotFound):
        match_thread(ctx, 999_999, "M1")


def test_a_thread_matched_meanwhile_is_not_overwritten(ctx, engine: Engine) -> None:
    from omnidesk.services import matching

    ingest(ctx, [msg("s1", "+15550143000", "hello")])
    (tid,) = [r.id for r in _all(engine)]
    first = match_thread(ctx, tid, "M1")
    # a second clerk who looked before the first one matched it: the write transaction re-checks
    with pytest.raises(OmnideskError, match="already belongs"):
        matching._assign_one(ctx, tid, first.patient_id + 1)
    assert _thread(engine, tid).patient_id == first.patient_id


def test_billing_staff_may_not_match(ctx, engine: Engine) -> None:
    ingest(ctx, [msg("s1", "+15550143000", "hello")])
    (tid,) = [r.id for r in _all(engine)]
    billing = make_ctx(engine, role=Role.BILLING, username="billing")
    with pytest.raises(PermissionDenied):
        match_thread(billing, tid, "M1")
    assert _thread(engine, tid).patient_id is None


def _all(engine: Engine):
    with reading(engine) as c:
        return list(c.execute(select(threads).order_by(threads.c.id)))
