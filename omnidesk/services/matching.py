"""Resolving an unmatched thread to a patient, by hand.

Two cases, one action for staff ("this thread is from patient MRN X"):
- the sender is unknown: the contact is linked to the patient, and every patient-less thread
  of that contact moves to them (``identity.link_contact``);
- the sender is a shared (household) contact: only this thread is given to the patient;
  the contact stays shared, so the next message from it is still ambiguous.
Either way the thread leaves the Unmatched queue for the queue its tags route to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select

from omnidesk.services import audit
from omnidesk.services.context import Context
from omnidesk.services.errors import NotFound, OmnideskError
from omnidesk.services.identity import assign_thread, link_contact
from omnidesk.services.permissions import require
from omnidesk.store.engine import reading
from omnidesk.store.schema import patient_contacts, patients, threads


@dataclass(frozen=True, slots=True)
class MatchResult:
    """What happened: which threads now belong to the patient, and whether the contact was linked."""

    patient_id: int
    thread_ids: tuple[int, ...]
    linked_contact: bool


def match_thread(ctx: Context, thread_id: int, mrn: str) -> MatchResult:
    """Give thread ``thread_id`` (and, for an unknown sender, the sender's other threads) to patient ``mrn``."""
    require(ctx, "contact.link")
    with reading(ctx.engine) as conn:
        row = conn.execute(select(threads.c.patient_id, threads.c.contact_id).where(threads.c.id == thread_id)).first()
        if row is None:
            raise NotFound(f"thread {thread_id} not found")
        patient_id = conn.execute(select(patients.c.id).where(patients.c.mrn == mrn.strip())).scalar()
        if patient_id is None:
            raise NotFound("no patient with that MRN", hint="check the MRN on the patient's chart")
        if row.patient_id is not None:
            raise _already_matched(thread_id)
        owners = 0
        if row.contact_id is not None:
            owners = conn.execute(
                select(func.count()).where(patient_contacts.c.contact_id == row.contact_id)
            ).scalar_one()
    if row.contact_id is not None and owners == 0:
        moved = link_contact(ctx, row.contact_id, patient_id)
        return MatchResult(patient_id, tuple(moved), linked_contact=True)
    return MatchResult(patient_id, (_assign_one(ctx, thread_id, patient_id),), linked_contact=False)


def _assign_one(ctx: Context, thread_id: int, patient_id: int) -> int:
    """Set one thread's patient and re-route it out of Unmatched; audited in the same transaction."""
    with ctx.engine.begin() as conn:
        t = conn.execute(
            select(threads.c.patient_id, threads.c.queue, threads.c.urgency, threads.c.version)
            .where(threads.c.id == thread_id)
            .with_for_update()
        ).one()
        if t.patient_id is not None:  # someone matched it since we looked: never overwrite their choice
            raise _already_matched(thread_id)
        assign_thread(
            conn, ctx, thread_id, patient_id, queue=t.queue, urgency=t.urgency, version=t.version, now=datetime.now(UTC)
        )
        audit.record(conn, ctx, "thread.match_patient", thread_id=thread_id, patient_id=patient_id)
    return thread_id


def _already_matched(thread_id: int) -> OmnideskError:
    return OmnideskError(
        f"thread {thread_id} already belongs to a patient",
        hint="only threads in the Unmatched queue can be matched",
    )
