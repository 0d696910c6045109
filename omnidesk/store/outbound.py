"""Outbound messages in the thread store: what was sent to a number, and when.

An outbound row's ``contact_id`` is its recipient and ``kind`` says what it was for
(``reminder``, ``reply``, …). ``ix_messages_outbound_contact`` holds outbound rows only;
the queries here repeat its condition as a literal, so both databases can use it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, bindparam, select, text

from omnidesk.store.schema import messages

_m = messages
OUTBOUND = text("messages.direction = 'outbound'")  # the partial index's condition, as a literal

_SENT = (
    select(_m.c.contact_id, _m.c.at, _m.c.kind)
    .where(
        OUTBOUND,
        _m.c.contact_id.in_(bindparam("ids", expanding=True)),
        _m.c.channel == bindparam("channel"),
        _m.c.at >= bindparam("lo"),
        _m.c.at <= bindparam("hi"),
    )
    .order_by(_m.c.contact_id, _m.c.at, _m.c.id)
)


def sent_to(
    conn: Connection, contact_ids: Iterable[int], channel: str, lo: datetime, hi: datetime
) -> dict[int, list[tuple[datetime, str | None]]]:
    """For each contact, the ``(at, kind)`` of the messages sent to it on ``channel`` between
    ``lo`` and ``hi`` (inclusive), oldest first; contacts sent nothing are left out."""
    ids = sorted(set(contact_ids))
    out: dict[int, list[tuple[datetime, str | None]]] = defaultdict(list)
    for start in range(0, len(ids), 900):  # under every backend's bound-parameter limit
        params = {"ids": ids[start : start + 900], "channel": channel, "lo": lo, "hi": hi}
        for contact_id, at, kind in conn.execute(_SENT, params):
            out[contact_id].append((at, kind))
    return dict(out)


__all__ = ["OUTBOUND", "sent_to"]
