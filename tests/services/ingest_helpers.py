"""Builders shared by the ingest, identity and importing tests."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, insert, select

from omnidesk.model import (
    QUEUE_BILLING,
    QUEUE_EMERGENCY,
    QUEUE_FRONT_DESK,
    Channel,
    Classification,
    InboundMessage,
    Intent,
    Role,
    StaffUser,
    Triage,
    Urgency,
)
from omnidesk.rules.triage import TriageEngine
from omnidesk.services.context import Context
from omnidesk.services.importing import PATIENT_COLUMNS
from omnidesk.store.schema import staff

T0 = datetime(2024, 5, 6, 14, 0, tzinfo=UTC)
PATIENT_HEADER = list(PATIENT_COLUMNS)


class KeywordTriage(TriageEngine):
    """A test double for the rules: EMERGENCY / URGENT / bill / STOP / START keywords."""

    __slots__ = ()

    def __init__(self) -> None:  # no rule files: this double answers from keywords alone
        pass

    def triage(self, body, subject, channel, received_at, *, reminder_reply=False):
        text = f"{subject or ''} {body}"
        if "EMERGENCY" in text:
            c = Classification((Intent.CLINICAL.value,), Urgency.EMERGENCY)
            return Triage(c, QUEUE_EMERGENCY, received_at + timedelta(minutes=5))
        # consent only (as the router decides): answered automatically, no due time
        if body.strip() == "STOP":
            c = Classification((Intent.CONSENT_OPT_OUT.value,), Urgency.ROUTINE)
            return Triage(c, QUEUE_FRONT_DESK, None, auto_handled=True)
        if body.strip() == "START":
            c = Classification((Intent.CONSENT_OPT_IN.value,), Urgency.ROUTINE)
            return Triage(c, QUEUE_FRONT_DESK, None, auto_handled=True)
        if body.strip() == "CANCEL":  # a bare CANCEL answering a reminder: a cancellation AND an opt-out
            c = Classification((Intent.APPOINTMENT_CANCEL.value, Intent.CONSENT_OPT_OUT.value), Urgency.ROUTINE)
            return Triage(c, QUEUE_FRONT_DESK, received_at + timedelta(hours=4))
        if "bill" in text:
            c = Classification((Intent.BILLING.value, Intent.GENERAL.value), Urgency.ROUTINE)
            return Triage(c, QUEUE_BILLING, received_at + timedelta(days=1))
        if "URGENT" in text:
            c = Classification((Intent.REFILL.value,), Urgency.URGENT)
            return Triage(c, "nurse", received_at + timedelta(hours=1))
        c = Classification((Intent.GENERAL.value,), Urgency.ROUTINE)
        return Triage(c, QUEUE_FRONT_DESK, received_at + timedelta(days=1))


def make_ctx(engine: Engine, *, role: Role = Role.ADMIN, username: str = "admin") -> Context:
    """A context acting as a staff member stored in ``engine`` (created if missing)."""
    with engine.begin() as conn:
        sid = conn.execute(select(staff.c.id).where(staff.c.username == username)).scalar()
        if sid is None:
            sid = conn.execute(
                insert(staff)
                .values(username=username, display_name=username.title(), role=role.value, created_at=T0)
                .returning(staff.c.id)
            ).scalar_one()
    return Context(engine, StaffUser(sid, username, username.title(), role), _triage=KeywordTriage())


def msg(
    pid: str,
    sender: str,
    body: str = "hello",
    at: datetime = T0,
    channel: Channel = Channel.SMS,
    **kw: object,
) -> InboundMessage:
    return InboundMessage(
        channel=channel,
        provider_id=pid,
        sender=sender,
        recipient=kw.pop("recipient", "+15550100000"),  # type: ignore[arg-type]
        body=body,
        received_at=at,
        **kw,  # type: ignore[arg-type]
    )


def write_csv(path: Path, header: list[str], rows: list[list[str]], *, bom: bool = False) -> Path:
    with open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def load_patients(ctx: Context, tmp_path: Path, rows: list[list[str]]) -> None:
    from omnidesk.services.importing import import_patients

    report = import_patients(ctx, write_csv(tmp_path / "patients.csv", PATIENT_HEADER, rows))
    assert not report.errors, report.errors


def jsonl_line(m: InboundMessage) -> str:
    return json.dumps(
        {
            "channel": m.channel.value,
            "provider_id": m.provider_id,
            "from": m.sender,
            "to": m.recipient,
            "subject": m.subject,
            "body": m.body,
            "received_at": m.received_at.isoformat(),
            "message_id": m.message_id,
            "in_reply_to": m.in_reply_to,
            "references": list(m.references),
        }
    )
