"""Who sent this: contact normalization, patient resolution and linking a contact to a patient.

Decisions (tested in tests/services/test_identity.py):
- Phones become E.164 with ``phonenumbers`` (default region US). A number is accepted when
  it has a *possible* length for its country (not only assigned ranges), so fictional 555
  numbers and newly opened area codes still match; a local-only number ("555-0143"), a
  short code or anything else that cannot be dialled from outside → ``None``.
- An extension ("… ext 2", "x12") is dropped: E.164 has none, and the caller is the line.
- Emails: display names and ``mailto:`` removed, stripped, lower-cased (the whole address;
  practices do not rely on case-sensitive local parts), must have one ``@`` with text on
  both sides and no spaces.
- Resolution is an exact match on the normalized contact: 0 patients → unmatched contact,
  1 → that patient, 2+ (a household number) → ambiguous: the thread stays unmatched and the
  candidates are the contact's patients, never one picked silently.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import lru_cache

import phonenumbers
from sqlalchemy import Connection, and_, bindparam, delete, insert, select, update

from omnidesk.model import QUEUE_EMERGENCY, QUEUE_UNMATCHED, Channel, ContactKind
from omnidesk.services.bulk import allocate_ids, insert_rows, select_in
from omnidesk.services.context import Context
from omnidesk.store.schema import contacts, messages, patient_contacts, patients, threads

DEFAULT_REGION = "US"
_POSSIBLE = phonenumbers.ValidationResult.IS_POSSIBLE


_NANP_E164 = re.compile(r"\+1[2-9]\d{9}")
_US_PUNCT = re.compile(r"[\s().\-]+")
_NANP_DIGITS = re.compile(r"1?[2-9]\d{9}")


@lru_cache(maxsize=131072)
def normalize_phone(raw: str | None, region: str = DEFAULT_REGION) -> str | None:
    """``raw`` as an E.164 phone number (``+15550143000``), or ``None`` if it is not one."""
    if not raw or not isinstance(raw, str):
        return None
    text = raw.strip()
    # Fast paths (the common shapes; tests check they agree with phonenumbers):
    if _NANP_E164.fullmatch(text):
        return text
    if region == "US":
        digits = _US_PUNCT.sub("", text)
        if _NANP_DIGITS.fullmatch(digits):
            return "+1" + digits[-10:]
    if text.lower().startswith("tel:"):
        text = text[4:]
    if not text or len(text) > 64 or "@" in text:
        return None
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.is_possible_number_with_reason(number) != _POSSIBLE:
        return None
    number.extension = None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=131072)
def normalize_email(raw: str | None) -> str | None:
    """``raw`` as a lower-cased bare address (``a@b.org``), or ``None`` if it is not one."""
    if not raw or not isinstance(raw, str):
        return None
    text = raw.strip()
    if "<" in text and text.endswith(">"):  # "Name <a@b.org>"
        text = text[text.rfind("<") + 1 : -1].strip()
    if text.lower().startswith("mailto:"):
        text = text[7:]
    text = text.strip().lower()
    if len(text) > 320 or text.count("@") != 1:
        return None
    local, _, domain = text.partition("@")
    if not local or not domain or any(ch.isspace() or ch in "<>,;\"'" for ch in text):
        return None
    if domain.startswith(".") or domain.endswith("."):
        return None
    return text


def normalize_address(raw: str | None) -> tuple[ContactKind, str] | None:
    """A sender or recipient as ``(kind, value)``: an email if it has an ``@``, else a phone."""
    if not raw or not isinstance(raw, str):
        return None
    if "@" in raw:
        value = normalize_email(raw)
        return (ContactKind.EMAIL, value) if value else None
    value = normalize_phone(raw)
    return (ContactKind.PHONE, value) if value else None


# --- store helpers shared by ingest and importing -------------------------------------------


def now_utc() -> datetime:
    return datetime.now(UTC)


_CONTACT_IDS = select(contacts.c.id, contacts.c.value).where(
    contacts.c.kind == bindparam("kind"), contacts.c.value.in_(bindparam("ids", expanding=True))
)
_CONTACT_PATIENTS = select(patient_contacts.c.contact_id, patient_contacts.c.patient_id).where(
    patient_contacts.c.contact_id.in_(bindparam("ids", expanding=True))
)


def ensure_contacts(conn: Connection, keys: Iterable[tuple[str, str]], now: datetime) -> dict[tuple[str, str], int]:
    """Ids of the contacts ``(kind, value)``, inserting the missing ones (one query per kind + one insert)."""
    wanted = set(keys)
    found: dict[tuple[str, str], int] = {}
    by_kind: dict[str, list[str]] = {}
    for kind, value in wanted:
        by_kind.setdefault(kind, []).append(value)
    for kind, values in by_kind.items():
        for cid, value in select_in(conn, _CONTACT_IDS, values, {"kind": kind}):
            found[(kind, value)] = cid
    missing = [k for k in wanted if k not in found]
    if missing:
        ids = allocate_ids(conn, contacts, len(missing))
        rows = [(cid, kind, value, now) for cid, (kind, value) in zip(ids, missing, strict=True)]
        insert_rows(conn, contacts, ["id", "kind", "value", "created_at"], rows)
        for key, cid in zip(missing, ids, strict=True):
            found[key] = cid
    return found


def patients_by_contact(conn: Connection, contact_ids: Iterable[int]) -> dict[int, list[int]]:
    """For each contact id, the ids of the patients it is linked to (sorted)."""
    out: dict[int, list[int]] = {}
    for cid, pid in select_in(conn, _CONTACT_PATIENTS, set(contact_ids)):
        out.setdefault(cid, []).append(pid)
    for pids in out.values():
        pids.sort()
    return out


def adopt_contact_threads(conn: Connection, ctx: Context, contact_id: int, now: datetime) -> list[int]:
    """Give a contact's patient-less threads to its patient when it now resolves to exactly one.

    Threads in the ``unmatched`` queue are re-routed to the queue their messages' tags say
    (re-triaged with the patient known); emergencies stay in the emergency queue. Returns
    the moved thread ids. A shared (household) contact moves nothing: still ambiguous.
    """
    pids = patients_by_contact(conn, [contact_id]).get(contact_id, [])
    if len(pids) != 1:
        return []
    patient_id = pids[0]
    rows = conn.execute(
        select(threads.c.id, threads.c.queue, threads.c.urgency, threads.c.version).where(
            threads.c.contact_id == contact_id, threads.c.patient_id.is_(None)
        )
    ).all()
    for tid, queue, urgency, version in rows:
        assign_thread(conn, ctx, tid, patient_id, queue=queue, urgency=urgency, version=version, now=now)
    return [r[0] for r in rows]


def assign_thread(
    conn: Connection,
    ctx: Context,
    thread_id: int,
    patient_id: int,
    *,
    queue: str,
    urgency: str,
    version: int,
    now: datetime,
) -> str:
    """Give one thread to a patient; out of ``unmatched``, re-route it by its messages' tags.

    Re-triaged with the patient known; an emergency goes to (or stays in) the emergency
    queue. Returns the thread's queue afterwards.
    """
    from omnidesk.services.reminders import reminder_replies
    from omnidesk.services.threading import requeue_after_match

    new_queue = queue
    if queue == QUEUE_UNMATCHED and urgency != "emergency":
        msgs = conn.execute(
            select(messages.c.body, messages.c.subject, messages.c.channel, messages.c.at, messages.c.contact_id)
            .where(messages.c.thread_id == thread_id, messages.c.direction == "inbound")
            .order_by(messages.c.at, messages.c.id)
        ).all()
        # a bare CANCEL answering a reminder is a cancellation too, as it was at ingest
        texts = [(m.contact_id, m.at) for m in msgs if m.channel == Channel.SMS.value and m.contact_id is not None]
        answers = dict(zip(texts, reminder_replies(conn, texts), strict=True))
        rows = [(m.body, m.subject, m.channel, m.at, answers.get((m.contact_id, m.at), False)) for m in msgs]
        new_queue = requeue_after_match(ctx.triage, rows) or queue
    elif urgency == "emergency":
        new_queue = QUEUE_EMERGENCY if queue == QUEUE_UNMATCHED else queue
    conn.execute(
        update(threads)
        .where(threads.c.id == thread_id)
        .values(patient_id=patient_id, queue=new_queue, version=version + 1, updated_at=now)
    )
    return new_queue


def link_contact(ctx: Context, contact_id: int, patient_id: int) -> list[int]:
    """Link a contact to a patient and move the contact's patient-less threads to them.

    Audited (``contact.link``), permission ``contact.link``. Returns the moved thread ids
    (none when the contact is shared by several patients: those threads stay ambiguous).
    Linking twice is harmless. Raises ``NotFound`` for an unknown contact or patient.
    """
    from omnidesk.services import audit
    from omnidesk.services.errors import NotFound
    from omnidesk.services.permissions import require

    require(ctx, "contact.link")
    now = now_utc()
    with ctx.engine.begin() as conn:
        kind = conn.execute(select(contacts.c.kind).where(contacts.c.id == contact_id)).scalar()
        if kind is None:
            raise NotFound(f"contact {contact_id} not found")
        if conn.execute(select(patients.c.id).where(patients.c.id == patient_id)).scalar() is None:
            raise NotFound(f"patient {patient_id} not found")
        exists = conn.execute(
            select(patient_contacts.c.contact_id).where(
                and_(patient_contacts.c.contact_id == contact_id, patient_contacts.c.patient_id == patient_id)
            )
        ).first()
        if exists is None:
            label = "email" if kind == ContactKind.EMAIL else "mobile"
            conn.execute(insert(patient_contacts).values(patient_id=patient_id, contact_id=contact_id, label=label))
        moved = adopt_contact_threads(conn, ctx, contact_id, now)
        audit.record(
            conn,
            ctx,
            "contact.link",
            patient_id=patient_id,
            contact_id=contact_id,
            threads=len(moved),
            thread_ids=moved[:100],
            new=exists is None,
        )
    return moved


def unlink_contact(conn: Connection, patient_id: int, contact_id: int) -> None:
    """Remove one patient–contact link (used by re-imports when a number changes)."""
    conn.execute(
        delete(patient_contacts).where(
            patient_contacts.c.patient_id == patient_id, patient_contacts.c.contact_id == contact_id
        )
    )
