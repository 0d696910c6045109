"""Store test data written with Core directly (independent of the ingest pipeline).

Importable from any test as ``from store_data import Seed`` (tests/ is on sys.path
because tests/conftest.py sits in a folder without ``__init__.py``).
"""

from __future__ import annotations

import hashlib
import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert

from omnidesk.model import QUEUE_FRONT_DESK, Role, StaffUser
from omnidesk.store.schema import (
    appointments,
    attachments,
    contacts,
    messages,
    patient_contacts,
    patients,
    staff,
    threads,
)

T0 = datetime(2024, 5, 6, 14, 0, tzinfo=UTC)


class Seed:
    """Small helpers that insert one row (or many) and return ids."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._n = itertools.count(1)

    def _insert(self, table, values: dict[str, Any]) -> int:
        with self.engine.begin() as conn:
            return int(conn.execute(insert(table).values(**values)).inserted_primary_key[0])

    def staff(
        self, username: str = "frontdesk", role: Role = Role.FRONT_DESK, display_name: str | None = None
    ) -> StaffUser:
        name = display_name or username.capitalize()
        sid = self._insert(staff, {"username": username, "display_name": name, "role": role.value, "created_at": T0})
        return StaffUser(sid, username, name, role)

    def contact(self, value: str, kind: str | None = None) -> int:
        kind = kind or ("email" if "@" in value else "phone")
        return self._insert(contacts, {"kind": kind, "value": value, "created_at": T0})

    def patient(
        self,
        first: str = "Ana",
        last: str = "Lopez",
        *,
        mrn: str | None = None,
        dob: date | None = None,
        contacts_: tuple[tuple[int, str], ...] = (),
        language: str | None = None,
    ) -> int:
        pid = self._insert(
            patients,
            {
                "mrn": mrn or f"MRN{next(self._n):05d}",
                "first_name": first,
                "last_name": last,
                "dob": dob,
                "preferred_language": language,
                "created_at": T0,
                "updated_at": T0,
            },
        )
        for contact_id, label in contacts_:
            self.link(pid, contact_id, label)
        return pid

    def link(self, patient_id: int, contact_id: int, label: str = "mobile") -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(patient_contacts).values(patient_id=patient_id, contact_id=contact_id, label=label))

    @staticmethod
    def thread_row(**kw: Any) -> dict[str, Any]:
        last = kw.pop("last_message_at", T0)
        row = {
            "patient_id": None,
            "contact_id": None,
            "status": "open",
            "queue": QUEUE_FRONT_DESK,
            "urgency": "routine",
            "pinned": False,
            "intents": ["general"],
            "channels": ["sms"],
            "subject": None,
            "preview": "",
            "message_count": 0,
            "unread_count": 0,
            "first_message_at": last,
            "last_message_at": last,
            "created_at": last,
            "updated_at": last,
        }
        row.update(kw)
        return row

    def thread(self, **kw: Any) -> int:
        return self._insert(threads, self.thread_row(**kw))

    def threads(self, rows: list[dict[str, Any]]) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(threads), [self.thread_row(**r) for r in rows])

    def message(
        self,
        thread_id: int,
        body: str,
        *,
        subject: str | None = None,
        at: datetime = T0,
        channel: str = "sms",
        direction: str = "inbound",
        urgency: str = "routine",
        intents: tuple[str, ...] = ("general",),
        matched: tuple[dict[str, str], ...] = (),
    ) -> int:
        n = next(self._n)
        return self._insert(
            messages,
            {
                "thread_id": thread_id,
                "channel": channel,
                "direction": direction,
                "provider_id": f"prov-{n}",
                "sender": "+15550000001",
                "recipient": "+15550000002",
                "subject": subject,
                "body": body,
                "at": at,
                "references": [],
                "intents": list(intents),
                "urgency": urgency,
                "matched": list(matched),
                "created_at": at,
            },
        )

    def attachment(self, message_id: int, filename: str = "scan.pdf", data: bytes = b"%PDF-1.4") -> int:
        return self._insert(
            attachments,
            {
                "message_id": message_id,
                "filename": filename,
                "content_type": "application/pdf",
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
                "data": data,
            },
        )

    def appointment(
        self, patient_id: int, start_at: datetime, *, provider: str = "Dr. Reyes", status: str = "booked"
    ) -> int:
        return self._insert(
            appointments,
            {
                "patient_id": patient_id,
                "start_at": start_at,
                "duration_min": 20,
                "provider": provider,
                "location": "Main St",
                "status": status,
                "visit_type": "follow-up",
                "created_at": T0,
                "updated_at": T0,
            },
        )


def minutes(n: int) -> timedelta:
    return timedelta(minutes=n)
