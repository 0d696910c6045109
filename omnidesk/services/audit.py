"""Recording and checking the audit log: every look and every act, in the same transaction.

``detail`` carries ids, counts, flags and short codes only (a value with spaces, ``@`` or
``+`` is refused with ValueError), so no message text, name, phone or email can land here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine

from omnidesk.services.context import Context
from omnidesk.services.permissions import AUDIT_VERIFY, require
from omnidesk.store import audit as chain
from omnidesk.store.engine import reading


def record(
    conn: Connection,
    ctx: Context,
    action: str,
    *,
    thread_id: int | None = None,
    patient_id: int | None = None,
    at: datetime | None = None,
    **detail: Any,
) -> int:
    """Append an audit event for ``ctx``'s user IN THE CALLER'S transaction; returns its id."""
    staff_id = ctx.user.id if ctx.user is not None else None
    return chain.append_event(
        conn, action=action, staff_id=staff_id, thread_id=thread_id, patient_id=patient_id, detail=detail, at=at
    )


def verify_chain(engine: Engine) -> int | None:
    """The id of the first audit event that was altered, removed or reordered; None if intact."""
    with reading(engine) as conn:
        return chain.verify_chain(conn)


def verify_chain_as(ctx: Context) -> int | None:
    """:func:`verify_chain` with the permission check (``audit.verify``: managers and admins)."""
    require(ctx, AUDIT_VERIFY)
    return verify_chain(ctx.engine)
