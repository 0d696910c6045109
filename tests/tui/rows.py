"""Hand-made ThreadSummary rows for widget tests (no database)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from omnidesk.model import PatientBrief, ThreadStatus, ThreadSummary, Urgency

NOW = datetime(2025, 3, 14, 15, 0, tzinfo=UTC)


def row(i: int, **kw: object) -> ThreadSummary:
    base = ThreadSummary(
        id=i,
        patient_id=i,
        patient_name=f"Patient {i}",
        contact=None,
        status=ThreadStatus.OPEN,
        queue="front_desk",
        priority=0,
        urgency=Urgency.ROUTINE,
        intents=("refill",),
        channels=("sms",),
        message_count=1,
        unread_count=0,
        last_message_at=NOW - timedelta(minutes=i),
        preview=f"preview {i}",
        subject=None,
        assignee=None,
        due_at=None,
        after_hours=False,
        emergency_ack_by=None,
        emergency_ack_at=None,
    )
    return replace(base, **kw)


def ambiguous(i: int) -> ThreadSummary:
    cands = (PatientBrief(1, "M1", "Ana Ruiz", None), PatientBrief(2, "M2", "Luis Ruiz", None))
    return row(i, patient_id=None, patient_name=None, contact="+15551230000", candidates=cands, queue="unmatched")
