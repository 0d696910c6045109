"""Threads as JSON-ready dicts (``omnidesk threads --json``, ``omnidesk thread ID --json``).

Times are ISO 8601 in UTC (``+00:00``); enums are their string values. This is an export
of patient data for a practice admin: it is printed, never logged.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from omnidesk.model import (
    AppointmentView,
    MessageView,
    OptOutView,
    PatientBrief,
    PatientCard,
    ThreadDetail,
    ThreadSummary,
)


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _date(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def brief_to_json(p: PatientBrief) -> dict[str, Any]:
    return {"id": p.id, "mrn": p.mrn, "name": p.name, "dob": _date(p.dob)}


def summary_to_json(t: ThreadSummary) -> dict[str, Any]:
    """One thread of the list."""
    return {
        "id": t.id,
        "patient_id": t.patient_id,
        "patient_name": t.patient_name,
        "contact": t.contact,
        "status": t.status.value,
        "queue": t.queue,
        "priority": t.priority,
        "urgency": t.urgency.value,
        "pinned": t.pinned,
        "intents": list(t.intents),
        "channels": list(t.channels),
        "message_count": t.message_count,
        "unread_count": t.unread_count,
        "last_message_at": _time(t.last_message_at),
        "subject": t.subject,
        "preview": t.preview,
        "assignee": t.assignee,
        "due_at": _time(t.due_at),
        "after_hours": t.after_hours,
        "emergency_ack_by": t.emergency_ack_by,
        "emergency_ack_at": _time(t.emergency_ack_at),
        "emergency_since": _time(t.emergency_since),
        "candidates": [brief_to_json(c) for c in t.candidates],
        "version": t.version,
    }


def message_to_json(m: MessageView) -> dict[str, Any]:
    return {
        "id": m.id,
        "channel": m.channel.value,
        "direction": m.direction.value,
        "from": m.sender,
        "to": m.recipient,
        "subject": m.subject,
        "body": m.body,
        "at": _time(m.at),
        "delivery_status": m.delivery_status,
        "kind": m.kind,
        "intents": list(m.intents),
        "urgency": m.urgency.value,
        "matched": [{"rule": r.rule, "sets": r.sets, "text": r.text} for r in m.matched],
        "attachments": [
            {"id": a.id, "filename": a.filename, "content_type": a.content_type, "size": a.size} for a in m.attachments
        ],
    }


def appointment_to_json(a: AppointmentView) -> dict[str, Any]:
    return {
        "id": a.id,
        "start_at": _time(a.start_at),
        "duration_min": a.duration_min,
        "provider": a.provider,
        "location": a.location,
        "status": a.status,
        "visit_type": a.visit_type,
    }


def patient_to_json(p: PatientCard) -> dict[str, Any]:
    return {
        "id": p.id,
        "mrn": p.mrn,
        "first_name": p.first_name,
        "last_name": p.last_name,
        "dob": _date(p.dob),
        "preferred_language": p.preferred_language,
        "preferred_channel": p.preferred_channel,
        "phones": list(p.phones),
        "emails": list(p.emails),
        "shared_contact": p.shared_contact,
        "upcoming": [appointment_to_json(a) for a in p.upcoming],
        "opt_outs": [opt_out_to_json(o) for o in p.opt_outs],
    }


def opt_out_to_json(o: OptOutView) -> dict[str, Any]:
    return {
        "contact": o.contact,
        "channel": o.channel.value,
        "at": _time(o.at),
        "words": o.words,
        "cancellation_queue": o.cancellation_queue,
        "cancellation_open": o.cancellation_open,
        "thread_id": o.thread_id,
    }


def detail_to_json(d: ThreadDetail) -> dict[str, Any]:
    """One thread: the list fields, then ``messages`` in order and the ``patient`` card (or null)."""
    out = summary_to_json(d.summary)
    out["messages"] = [message_to_json(m) for m in d.messages]
    out["patient"] = patient_to_json(d.patient) if d.patient is not None else None
    out["opt_outs"] = [opt_out_to_json(o) for o in d.opt_outs]
    return out
