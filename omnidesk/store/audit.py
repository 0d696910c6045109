"""The append-only, hash-chained audit log.

Each event's ``hash`` is ``sha256(prev_hash + canonical_json(at, staff_id, action,
thread_id, patient_id, detail))`` where canonical JSON has sorted keys, no spaces and
ASCII only, and ``at`` is ISO 8601 UTC with microseconds. The first event's
``prev_hash`` is 64 zeros. Editing, deleting or reordering any row breaks the chain
from that row on, which :func:`verify_chain` reports.

Appends are serialized so the chain never forks: on PostgreSQL by a transaction-scoped
advisory lock taken before reading the last hash; on SQLite by the write lock every
non-read transaction takes at ``BEGIN IMMEDIATE`` (see engine.py).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, text

from omnidesk.store.engine import is_read_only
from omnidesk.store.schema import audit_events

GENESIS = "0" * 64
_PG_AUDIT_LOCK = 0x6F6D6E6964657302

# Detail values: ids, counts, flags and short codes. Anything with spaces, '@' or '+'
# (free text, an email, a phone) is refused so PHI cannot slip into the log.
_CODE = re.compile(r"^[A-Za-z0-9_.:/\-]{0,64}$")


def _check_value(key: str, value: Any) -> Any:
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str) and _CODE.match(value):
        return value
    if isinstance(value, list | tuple) and len(value) <= 100:
        return [_check_value(key, v) for v in value]
    raise ValueError(f"audit detail {key!r} must be an id, count, flag or short code (no free text)")


def clean_detail(detail: Mapping[str, Any]) -> dict[str, Any]:
    """``detail`` as stored, or ValueError when a value is not an id/count/flag/code."""
    out = {}
    for key, value in detail.items():
        if not _CODE.match(key):
            raise ValueError("audit detail keys must be short codes")
        out[key] = _check_value(key, value)
    return out


def canonical(
    at: datetime,
    staff_id: int | None,
    action: str,
    thread_id: int | None,
    patient_id: int | None,
    detail: Mapping[str, Any],
) -> str:
    """The canonical JSON text an event's hash covers."""
    body = {
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "staff_id": staff_id,
        "action": action,
        "thread_id": thread_id,
        "patient_id": patient_id,
        "detail": detail,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def event_hash(prev_hash: str, *args: Any) -> str:
    """``sha256(prev_hash + canonical(*args))`` as hex."""
    return hashlib.sha256((prev_hash + canonical(*args)).encode("ascii")).hexdigest()


def append_event(
    conn: Connection,
    *,
    action: str,
    staff_id: int | None = None,
    thread_id: int | None = None,
    patient_id: int | None = None,
    detail: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> int:
    """Append one event in the caller's (write) transaction; returns its id."""
    if is_read_only(conn):
        raise RuntimeError("audit events must be written in a write transaction, not a read-only one")
    if not _CODE.match(action) or not action:
        raise ValueError("audit action must be a short code such as 'thread.view'")
    clean = clean_detail(detail or {})
    at = (at or datetime.now(UTC)).astimezone(UTC)
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_AUDIT_LOCK})
    prev = conn.execute(select(audit_events.c.hash).order_by(audit_events.c.id.desc()).limit(1)).scalar()
    prev = prev or GENESIS
    digest = event_hash(prev, at, staff_id, action, thread_id, patient_id, clean)
    result = conn.execute(
        insert(audit_events).values(
            at=at,
            staff_id=staff_id,
            action=action,
            thread_id=thread_id,
            patient_id=patient_id,
            detail=clean,
            prev_hash=prev,
            hash=digest,
        )
    )
    return int(result.inserted_primary_key[0])


def verify_chain(conn: Connection, *, batch: int = 5000) -> int | None:
    """The id of the first event whose link or hash does not check out, or None if all do."""
    expected_prev = GENESIS
    last_id = 0
    cols = audit_events.c
    while True:
        rows = conn.execute(
            select(
                cols.id,
                cols.at,
                cols.staff_id,
                cols.action,
                cols.thread_id,
                cols.patient_id,
                cols.detail,
                cols.prev_hash,
                cols.hash,
            )
            .where(cols.id > last_id)
            .order_by(cols.id)
            .limit(batch)
        ).all()
        if not rows:
            return None
        for row in rows:
            if row.prev_hash != expected_prev:
                return row.id
            digest = event_hash(
                row.prev_hash, row.at, row.staff_id, row.action, row.thread_id, row.patient_id, row.detail
            )
            if digest != row.hash:
                return row.id
            expected_prev = row.hash
            last_id = row.id
