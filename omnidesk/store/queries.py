"""The reads (and the few small writes) behind the inbox, and row → model conversion.

The inbox order is ``(pinned DESC, last_message_at DESC, id DESC)``. A page for one
status (and optionally one queue) is a range scan of ``ix_threads_inbox`` (status,
queue, …) or ``ix_threads_all`` (status, …) starting at a keyset position, with no
sort; the joins (patient name, contact, staff names) are primary-key lookups for the
rows of the page only. ``status=None`` (every status) pages by merging one such scan
per status. Every function takes an open connection; the caller owns the transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection, Select, false, func, literal, select, true, tuple_, update

from omnidesk.model import (
    QUEUE_BILLING,
    QUEUE_EMERGENCY,
    QUEUE_FRONT_DESK,
    QUEUE_NURSE,
    QUEUE_UNMATCHED,
    AppointmentView,
    AttachmentView,
    Channel,
    ContactKind,
    Direction,
    MessageView,
    PageKey,
    PatientBrief,
    PatientCard,
    QueueCount,
    RuleMatch,
    ThreadDetail,
    ThreadStatus,
    ThreadSummary,
    Urgency,
)
from omnidesk.store.schema import (
    UTCDateTime,
    appointments,
    attachments,
    contacts,
    messages,
    patient_contacts,
    patients,
    staff,
    threads,
)

QUEUE_LABELS = {
    QUEUE_EMERGENCY: "Emergency",
    QUEUE_NURSE: "Nurse",
    QUEUE_BILLING: "Billing",
    QUEUE_FRONT_DESK: "Front desk",
    QUEUE_UNMATCHED: "Unmatched",
}
UPCOMING_LIMIT = 5

_t = threads
_p = patients
_c = contacts
_assignee = staff.alias("assignee")
_acker = staff.alias("acker")

_SUMMARY_COLUMNS = (
    _t.c.id,
    _t.c.patient_id,
    _t.c.contact_id,
    _p.c.first_name,
    _p.c.last_name,
    _c.c.value.label("contact_value"),
    _t.c.status,
    _t.c.queue,
    _t.c.priority,
    _t.c.urgency,
    _t.c.pinned,
    _t.c.intents,
    _t.c.channels,
    _t.c.message_count,
    _t.c.unread_count,
    _t.c.last_message_at,
    _t.c.preview,
    _t.c.subject,
    _assignee.c.display_name.label("assignee_name"),
    _t.c.due_at,
    _t.c.after_hours,
    _acker.c.display_name.label("ack_name"),
    _t.c.emergency_ack_at,
    _t.c.version,
)
_SUMMARY_FROM = (
    _t.outerjoin(_p, _p.c.id == _t.c.patient_id)
    .outerjoin(_c, _c.c.id == _t.c.contact_id)
    .outerjoin(_assignee, _assignee.c.id == _t.c.assignee_id)
    .outerjoin(_acker, _acker.c.id == _t.c.emergency_ack_by)
)
_ORDER = (_t.c.pinned.desc(), _t.c.last_message_at.desc(), _t.c.id.desc())


# ---------------------------------------------------------------------------- conversion


def person_name(first: str | None, last: str | None) -> str | None:
    name = f"{first or ''} {last or ''}".strip()
    return name or None


_STATUS = {s.value: s for s in ThreadStatus}
_URGENCY = {u.value: u for u in Urgency}


def summary_from_row(row, candidates: tuple[PatientBrief, ...] = ()) -> ThreadSummary:
    """A :class:`ThreadSummary` from a row selected with the summary columns (in their order)."""
    (
        id_,
        patient_id,
        _contact_id,
        first_name,
        last_name,
        contact_value,
        status,
        queue,
        priority,
        urgency,
        pinned,
        intents,
        channels,
        message_count,
        unread_count,
        last_message_at,
        preview,
        subject,
        assignee_name,
        due_at,
        after_hours,
        ack_name,
        emergency_ack_at,
        version,
    ) = row
    return ThreadSummary(
        id=id_,
        patient_id=patient_id,
        patient_name=person_name(first_name, last_name) if first_name or last_name else None,
        contact=contact_value,
        status=_STATUS.get(status) or ThreadStatus(status),
        queue=queue,
        priority=priority,
        urgency=_URGENCY.get(urgency) or Urgency(urgency),
        intents=tuple(intents or ()),
        channels=tuple(channels or ()),
        message_count=message_count,
        unread_count=unread_count,
        last_message_at=last_message_at,
        preview=preview or "",
        subject=subject,
        assignee=assignee_name,
        due_at=due_at,
        after_hours=bool(after_hours),
        emergency_ack_by=ack_name,
        emergency_ack_at=emergency_ack_at,
        candidates=candidates,
        stored_pinned=bool(pinned),
        version=version,
    )


def _rule_matches(raw: Iterable[dict] | None) -> tuple[RuleMatch, ...]:
    return tuple(RuleMatch(str(m.get("rule", "")), str(m.get("sets", "")), str(m.get("text", ""))) for m in raw or ())


def message_from_row(row, atts: tuple[AttachmentView, ...] = ()) -> MessageView:
    return MessageView(
        id=row.id,
        channel=Channel(row.channel),
        direction=Direction(row.direction),
        sender=row.sender,
        recipient=row.recipient,
        subject=row.subject,
        body=row.body,
        at=row.at,
        delivery_status=row.delivery_status,
        intents=tuple(row.intents or ()),
        urgency=Urgency(row.urgency),
        matched=_rule_matches(row.matched),
        attachments=atts,
    )


def brief_from_row(row) -> PatientBrief:
    return PatientBrief(id=row.id, mrn=row.mrn, name=person_name(row.first_name, row.last_name) or row.mrn, dob=row.dob)


# ---------------------------------------------------------------------------- inbox pages


def _filters(status: ThreadStatus | str | None, queue: str | None) -> list:
    where = []
    if status is not None:
        where.append(_t.c.status == str(status))
    if queue is not None:
        where.append(_t.c.queue == queue)
    return where


def _after(key: PageKey, *, inclusive: bool = False) -> list:
    """Rows after ``key`` among those with the same ``pinned`` (all columns descend).

    ``pinned = :p AND (last_message_at, id) < (:l, :i)``: equality on the boolean and a
    row-value range on the rest, which both databases serve as one index range — and
    PostgreSQL estimates well (a row comparison led by the boolean looks empty to it).
    Rows after a pinned key continue with the unpinned ones; see :func:`_page_rows`.
    """
    pos = tuple_(_t.c.last_message_at, _t.c.id)
    bound = tuple_(literal(key.last_message_at, UTCDateTime()), literal(key.thread_id))
    return [_t.c.pinned == (true() if key.pinned else false()), pos <= bound if inclusive else pos < bound]


def page_select(
    *,
    status: ThreadStatus | str | None,
    queue: str | None,
    after: PageKey | None = None,
    limit: int = 100,
    inclusive: bool = False,
) -> Select:
    """The SELECT for one keyset page of one status (exposed for EXPLAIN in tests and benchmarks)."""
    where = _filters(status, queue)
    if after is not None:
        where += _after(after, inclusive=inclusive)
    return select(*_SUMMARY_COLUMNS).select_from(_SUMMARY_FROM).where(*where).order_by(*_ORDER).limit(limit)


def _page_rows(
    conn: Connection,
    status: ThreadStatus | str,
    queue: str | None,
    after: PageKey | None,
    limit: int,
    inclusive: bool = False,
) -> list:
    rows = list(conn.execute(page_select(status=status, queue=queue, after=after, limit=limit, inclusive=inclusive)))
    if after is not None and after.pinned and len(rows) < limit:  # past the last pinned row
        unpinned = [*_filters(status, queue), _t.c.pinned == false()]
        stmt = select(*_SUMMARY_COLUMNS).select_from(_SUMMARY_FROM).where(*unpinned).order_by(*_ORDER)
        rows += conn.execute(stmt.limit(limit - len(rows))).all()
    return rows


def thread_page(
    conn: Connection,
    *,
    status: ThreadStatus | str | None = ThreadStatus.OPEN,
    queue: str | None = None,
    after: PageKey | None = None,
    limit: int = 100,
    with_candidates: bool = True,
    inclusive: bool = False,
) -> list[ThreadSummary]:
    """Up to ``limit`` threads after ``after`` (None: from the top; ``inclusive``: from it) in inbox order."""
    if limit <= 0:
        return []
    if status is None:
        rows = []
        for st in ThreadStatus:  # one index range scan per status, merged
            rows.extend(_page_rows(conn, st, queue, after, limit, inclusive))
        rows.sort(key=lambda r: (bool(r.pinned), r.last_message_at, r.id), reverse=True)
        rows = rows[:limit]
    else:
        rows = _page_rows(conn, status, queue, after, limit, inclusive)
    return _summaries(conn, rows, with_candidates)


def key_at(conn: Connection, *, status: ThreadStatus | str | None, queue: str | None, offset: int) -> PageKey | None:
    """The keyset position of row ``offset`` of a listing, counted on the covering index only."""
    stmt = (
        select(_t.c.pinned, _t.c.last_message_at, _t.c.id)
        .where(*_filters(status, queue))
        .order_by(*_ORDER)
        .limit(1)
        .offset(max(0, offset))
    )
    row = conn.execute(stmt).first()
    return None if row is None else PageKey(bool(row.pinned), row.last_message_at, row.id)


def thread_page_at(
    conn: Connection,
    *,
    status: ThreadStatus | str | None = ThreadStatus.OPEN,
    queue: str | None = None,
    offset: int = 0,
    limit: int = 100,
    with_candidates: bool = True,
) -> list[ThreadSummary]:
    """Up to ``limit`` threads starting at position ``offset`` of the inbox order (scrollbar jumps).

    Skips ``offset`` entries of the covering index (no row reads), then reads one keyset
    page from there. With ``status=None`` there is no such index and the rows are sorted.
    """
    if limit <= 0:
        return []
    if status is None:
        stmt = page_select(status=None, queue=queue, limit=limit).offset(max(0, offset))
        return _summaries(conn, conn.execute(stmt).all(), with_candidates)
    key = key_at(conn, status=status, queue=queue, offset=offset)
    if key is None:
        return []
    return thread_page(
        conn, status=status, queue=queue, after=key, limit=limit, with_candidates=with_candidates, inclusive=True
    )


def thread_total(
    conn: Connection, *, status: ThreadStatus | str | None = ThreadStatus.OPEN, queue: str | None = None
) -> int:
    """How many threads a listing has (an index-only count)."""
    stmt = select(func.count()).select_from(_t).where(*_filters(status, queue))
    return int(conn.execute(stmt).scalar_one())


def thread_summary(conn: Connection, thread_id: int) -> ThreadSummary | None:
    row = conn.execute(select(*_SUMMARY_COLUMNS).select_from(_SUMMARY_FROM).where(_t.c.id == thread_id)).first()
    if row is None:
        return None
    return _summaries(conn, [row], True)[0]


def _summaries(conn: Connection, rows: Sequence, with_candidates: bool) -> list[ThreadSummary]:
    cands: dict[int, tuple[PatientBrief, ...]] = {}
    if with_candidates:
        ambiguous = {r.contact_id for r in rows if r.patient_id is None and r.contact_id is not None}
        if ambiguous:
            cands = candidates_for_contacts(conn, ambiguous)
    return [
        summary_from_row(r, cands.get(r.contact_id, ()) if r.patient_id is None else ())  # type: ignore[arg-type]
        for r in rows
    ]


def candidates_for_contacts(conn: Connection, contact_ids: Iterable[int]) -> dict[int, tuple[PatientBrief, ...]]:
    """For each contact, the patients linked to it (a household's shared phone), by name."""
    rows = conn.execute(
        select(patient_contacts.c.contact_id, _p.c.id, _p.c.mrn, _p.c.first_name, _p.c.last_name, _p.c.dob)
        .join(_p, _p.c.id == patient_contacts.c.patient_id)
        .where(patient_contacts.c.contact_id.in_(sorted(set(contact_ids))))
        .order_by(patient_contacts.c.contact_id, _p.c.last_name, _p.c.first_name, _p.c.id)
    ).all()
    out: dict[int, list[PatientBrief]] = defaultdict(list)
    for r in rows:
        out[r.contact_id].append(brief_from_row(r))
    return {k: tuple(v) for k, v in out.items()}


def queue_counts(conn: Connection, *, extra_queues: Iterable[str] = ()) -> list[QueueCount]:
    """Per queue: open threads, open threads with unread messages, unacknowledged emergencies.

    Every default queue is listed (zero counts included), then any other queue in use.
    Two index-only aggregates: ``ix_threads_inbox`` (status, queue, pinned) and the
    partial ``ix_threads_unread``.
    """
    open_ = _t.c.status == ThreadStatus.OPEN.value
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for row in conn.execute(
        select(_t.c.queue, _t.c.pinned, func.count().label("n")).where(open_).group_by(_t.c.queue, _t.c.pinned)
    ):
        totals[row.queue][0] += row.n
        if row.pinned:
            totals[row.queue][2] += row.n
    for row in conn.execute(
        select(_t.c.queue, func.count().label("n")).where(open_, _t.c.unread_count > 0).group_by(_t.c.queue)
    ):
        totals[row.queue][1] = row.n
    names = list(QUEUE_LABELS)
    names += [q for q in extra_queues if q not in names]
    names += sorted(q for q in totals if q not in names)
    return [
        QueueCount(name, QUEUE_LABELS.get(name) or name.replace("_", " ").capitalize(), *totals.get(name, (0, 0, 0)))
        for name in names
    ]


# ---------------------------------------------------------------------------- one thread


def thread_detail(conn: Connection, thread_id: int, *, now: datetime) -> ThreadDetail | None:
    """A thread's summary, its messages in order (with attachment metadata) and the patient card."""
    summary = thread_summary(conn, thread_id)
    if summary is None:
        return None
    atts: dict[int, list[AttachmentView]] = defaultdict(list)
    att_rows = conn.execute(
        select(
            attachments.c.id,
            attachments.c.message_id,
            attachments.c.filename,
            attachments.c.content_type,
            attachments.c.size,
        )
        .join(messages, messages.c.id == attachments.c.message_id)
        .where(messages.c.thread_id == thread_id)
        .order_by(attachments.c.id)
    ).all()
    for a in att_rows:
        atts[a.message_id].append(AttachmentView(a.id, a.filename, a.content_type, a.size))
    msg_rows = conn.execute(
        select(
            messages.c.id,
            messages.c.channel,
            messages.c.direction,
            messages.c.sender,
            messages.c.recipient,
            messages.c.subject,
            messages.c.body,
            messages.c.at,
            messages.c.delivery_status,
            messages.c.intents,
            messages.c.urgency,
            messages.c.matched,
        )
        .where(messages.c.thread_id == thread_id)
        .order_by(messages.c.at, messages.c.id)
    ).all()
    msgs = tuple(message_from_row(r, tuple(atts.get(r.id, ()))) for r in msg_rows)
    card = patient_card(conn, summary.patient_id, now=now) if summary.patient_id is not None else None
    return ThreadDetail(summary=summary, messages=msgs, patient=card)


_LABEL_ORDER = {"mobile": 0, "home": 1, "email": 2}


def patient_card(conn: Connection, patient_id: int, *, now: datetime) -> PatientCard | None:
    """The patient with contact points and the next appointments (from ``now``)."""
    p = conn.execute(select(_p).where(_p.c.id == patient_id)).first()
    if p is None:
        return None
    links = conn.execute(
        select(_c.c.id, _c.c.kind, _c.c.value, patient_contacts.c.label)
        .join(patient_contacts, patient_contacts.c.contact_id == _c.c.id)
        .where(patient_contacts.c.patient_id == patient_id)
    ).all()
    links = sorted(links, key=lambda r: (_LABEL_ORDER.get(r.label, 9), r.value))
    phones = tuple(r.value for r in links if r.kind == ContactKind.PHONE.value)
    emails = tuple(r.value for r in links if r.kind == ContactKind.EMAIL.value)
    pc2 = patient_contacts.alias("other")
    shared = (
        conn.execute(
            select(pc2.c.patient_id)
            .join(patient_contacts, patient_contacts.c.contact_id == pc2.c.contact_id)
            .where(patient_contacts.c.patient_id == patient_id, pc2.c.patient_id != patient_id)
            .limit(1)
        ).first()
        is not None
    )
    appts = conn.execute(
        select(appointments)
        .where(appointments.c.patient_id == patient_id, appointments.c.start_at >= now)
        .order_by(appointments.c.start_at)
        .limit(UPCOMING_LIMIT)
    ).all()
    upcoming = tuple(
        AppointmentView(a.id, a.start_at, a.duration_min, a.provider, a.location, a.status, a.visit_type) for a in appts
    )
    return PatientCard(
        id=p.id,
        mrn=p.mrn,
        first_name=p.first_name,
        last_name=p.last_name,
        dob=p.dob,
        preferred_language=p.preferred_language,
        preferred_channel=p.preferred_channel,
        phones=phones,
        emails=emails,
        upcoming=upcoming,
        shared_contact=shared,
    )


# ---------------------------------------------------------------------------- small writes


def mark_read(conn: Connection, thread_id: int) -> bool:
    """Set the thread's unread count to 0; True if it had unread messages."""
    result = conn.execute(update(_t).where(_t.c.id == thread_id, _t.c.unread_count != 0).values(unread_count=0))
    return result.rowcount > 0


def acknowledge_emergency(
    conn: Connection, thread_id: int, *, staff_id: int | None, at: datetime, expected_version: int
) -> bool:
    """Record who acknowledged the emergency and when, unpin it and bump the version.

    Only if the thread is still at ``expected_version``; False when someone changed it first.
    """
    result = conn.execute(
        update(_t)
        .where(_t.c.id == thread_id, _t.c.version == expected_version)
        .values(
            emergency_ack_by=staff_id,
            emergency_ack_at=at,
            pinned=false(),
            version=_t.c.version + 1,
            updated_at=at,
        )
    )
    return result.rowcount == 1


def thread_state(conn: Connection, thread_id: int):
    """(id, version, urgency, pinned, emergency_ack_at, patient_id) of a thread, or None."""
    return conn.execute(
        select(_t.c.id, _t.c.version, _t.c.urgency, _t.c.pinned, _t.c.emergency_ack_at, _t.c.patient_id).where(
            _t.c.id == thread_id
        )
    ).first()


__all__ = [
    "QUEUE_LABELS",
    "acknowledge_emergency",
    "candidates_for_contacts",
    "key_at",
    "mark_read",
    "page_select",
    "patient_card",
    "queue_counts",
    "thread_detail",
    "thread_page",
    "thread_page_at",
    "thread_state",
    "thread_summary",
    "thread_total",
]
