"""The reads (and the few small writes) behind the inbox, and row → model conversion.

The inbox order is ``(pinned DESC, last_message_at DESC, id DESC)``. A page for one
status (and optionally one queue) is a range scan of ``ix_threads_inbox`` (status,
queue, …) or ``ix_threads_all`` (status, …) starting at a keyset position, with no
sort; the joins (patient name, contact, staff names) are primary-key lookups for the
rows of the page only. ``status=None`` (every status) pages by merging one such scan
per status. Every function takes an open connection; the caller owns the transaction.

The page path is lean (see ``store/prepared.py``): each statement shape is compiled once
per dialect and run through the driver, rows become :class:`ThreadSummary` in one tight
loop, and the candidates (patients sharing an unmatched thread's phone) are loaded in one
query for the page's unmatched threads only. Counts (:func:`queue_counts`,
:func:`thread_total`) read the trigger-kept ``queue_stats`` (``store/queue_stats.py``).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Integer,
    Select,
    Text,
    bindparam,
    cast,
    false,
    literal_column,
    select,
    text,
    true,
    tuple_,
    update,
)

from omnidesk.model import (
    INBOX_PAGE_SIZE,
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
    OptOutView,
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
from omnidesk.store import queue_stats
from omnidesk.store.prepared import Prepared, json_tuple, slots_builder, time_param, time_reader
from omnidesk.store.schema import (
    UTCDateTime,
    appointments,
    attachments,
    contacts,
    messages,
    opt_outs,
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
PAGE_SIZE = INBOX_PAGE_SIZE  # callers pass ``limit`` for more

_t = threads
_p = patients
_c = contacts
_assignee = staff.alias("assignee")
_acker = staff.alias("acker")

# The JSON lists come back as text on both databases (psycopg would decode ``json`` itself,
# per value): decoded through a cache, since a page repeats a few distinct strings.
_THREAD_COLUMNS = {
    "intents": cast(_t.c.intents, Text).label("intents"),
    "channels": cast(_t.c.channels, Text).label("channels"),
}
_SUMMARY_NAMES = (
    "id",
    "patient_id",
    "contact_id",
    "first_name",
    "last_name",
    "contact_value",
    "status",
    "queue",
    "priority",
    "urgency",
    "pinned",
    "intents",
    "channels",
    "message_count",
    "unread_count",
    "last_message_at",
    "preview",
    "subject",
    "assignee_name",
    "due_at",
    "after_hours",
    "ack_name",
    "emergency_ack_at",
    "version",
    "emergency_since",
)


def _summary_select(dialect: str) -> Select:
    """SELECT of the summary columns, in :data:`_SUMMARY_NAMES` order, FROM threads.

    The names come from primary-key lookups for the page's rows only. SQLite: LEFT JOINs
    (0.27 ms for 50 rows; scalar subqueries 0.32). PostgreSQL: scalar subqueries, because
    planning the five-way join took 1.1–2.7 ms per statement (more than running it), and
    planning the subqueries 0.17 ms.
    """
    if dialect == "postgresql":

        def lookup(col, key):
            return select(col).where(col.table.c.id == key).scalar_subquery()

        names = {
            "first_name": lookup(_p.c.first_name, _t.c.patient_id),
            "last_name": lookup(_p.c.last_name, _t.c.patient_id),
            "contact_value": lookup(_c.c.value, _t.c.contact_id),
            "assignee_name": lookup(staff.c.display_name, _t.c.assignee_id),
            "ack_name": lookup(staff.c.display_name, _t.c.emergency_ack_by),
        }
        from_ = _t
    else:
        names = {
            "first_name": _p.c.first_name,
            "last_name": _p.c.last_name,
            "contact_value": _c.c.value,
            "assignee_name": _assignee.c.display_name,
            "ack_name": _acker.c.display_name,
        }
        from_ = (
            _t.outerjoin(_p, _p.c.id == _t.c.patient_id)
            .outerjoin(_c, _c.c.id == _t.c.contact_id)
            .outerjoin(_assignee, _assignee.c.id == _t.c.assignee_id)
            .outerjoin(_acker, _acker.c.id == _t.c.emergency_ack_by)
        )
    names.update(_THREAD_COLUMNS)
    return select(*[names[n].label(n) if n in names else _t.c[n] for n in _SUMMARY_NAMES]).select_from(from_)


_ORDER = (_t.c.pinned.desc(), _t.c.last_message_at.desc(), _t.c.id.desc())
# Positions in a summary row (the rows are plain tuples).
_ID, _PATIENT, _CONTACT, _PINNED, _LAST = 0, 1, 2, 10, 15


# ---------------------------------------------------------------------------- conversion


def person_name(first: str | None, last: str | None) -> str | None:
    name = f"{first or ''} {last or ''}".strip()
    return name or None


_STATUS = {s.value: s for s in ThreadStatus}
_URGENCY = {u.value: u for u in Urgency}


_new_summary = slots_builder(
    ThreadSummary,
    (
        "id",
        "patient_id",
        "patient_name",
        "contact",
        "status",
        "queue",
        "priority",
        "urgency",
        "intents",
        "channels",
        "message_count",
        "unread_count",
        "last_message_at",
        "preview",
        "subject",
        "assignee",
        "due_at",
        "after_hours",
        "emergency_ack_by",
        "emergency_ack_at",
        "candidates",
        "stored_pinned",
        "version",
        "emergency_since",
    ),
)


def _summaries_from_rows(
    conn: Connection, rows: Sequence[Any], cands: dict[int, tuple[PatientBrief, ...]]
) -> list[ThreadSummary]:
    """Summaries from driver rows selected with the summary columns (in their order)."""
    when = time_reader(conn.dialect)
    status_of, urgency_of = _STATUS.get, _URGENCY.get
    out = []
    for (
        id_,
        patient_id,
        contact_id,
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
        emergency_since,
    ) in rows:
        out.append(
            _new_summary(
                (
                    id_,
                    patient_id,
                    person_name(first_name, last_name) if first_name or last_name else None,
                    contact_value,
                    status_of(status) or ThreadStatus(status),
                    queue,
                    priority,
                    urgency_of(urgency) or Urgency(urgency),
                    json_tuple(intents),
                    json_tuple(channels),
                    message_count,
                    unread_count,
                    when(last_message_at),
                    preview or "",
                    subject,
                    assignee_name,
                    when(due_at) if due_at is not None else None,
                    bool(after_hours),
                    ack_name,
                    when(emergency_ack_at) if emergency_ack_at is not None else None,
                    cands.get(contact_id, ()) if patient_id is None and contact_id is not None else (),
                    bool(pinned),
                    version,
                    when(emergency_since) if emergency_since is not None else None,
                )
            )
        )
    return out


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
        kind=getattr(row, "kind", None),
    )


# ---------------------------------------------------------------------------- inbox pages


def page_select(
    *,
    status: ThreadStatus | str | None,
    queue: str | None,
    after: PageKey | None = None,
    limit: int = PAGE_SIZE,
    inclusive: bool = False,
    dialect: str = "sqlite",
) -> Select:
    """The SELECT :func:`thread_page` runs on ``dialect`` for one keyset page, with its values
    bound (for EXPLAIN in tests and benchmarks).

    After a key: ``pinned = :p AND (last_message_at, id) < (:l, :i)`` — equality on the
    boolean and a row-value range on the rest, which both databases serve as one index
    range, and PostgreSQL estimates well (a row comparison led by the boolean looks empty
    to it). Rows after a pinned key continue with the unpinned ones (:func:`_page_rows`).
    """
    shape = _page_stmt(
        status=status is not None,
        queue=queue is not None,
        pinned=None if after is None else after.pinned,
        after=None if after is None else ("le" if inclusive else "lt"),
        offset=False,
        limit=limit,
    )
    values: dict[str, Any] = {}
    if status is not None:
        values["status"] = str(status)
    if queue is not None:
        values["queue"] = queue
    if after is not None:
        values["k_last"] = after.last_message_at
        values["k_id"] = after.thread_id
    return shape.statement(dialect).params(values)  # type: ignore[attr-defined]


# One statement per shape: status given, queue given, pinned (None | True | False), after
# (None | "lt" | "le"), offset given, and the limit. The limit is in the SQL text, not a
# parameter: PostgreSQL's generic plan for a prepared ``LIMIT $n`` (psycopg prepares a query
# from its 5th run) guesses 10% of the rows, costs enough to be JIT-compiled, and took 7 ms
# instead of 0.9 ms for 50 rows. Callers use a few limits; the cache is bounded anyway.
_PAGE_STMTS: dict[tuple[bool, bool, bool | None, str | None, bool, int], Prepared] = {}
_MAX_SHAPES = 512


def _page_stmt(
    *, status: bool, queue: bool, pinned: bool | None, after: str | None, offset: bool, limit: int
) -> Prepared:
    key = (status, queue, pinned, after, offset, int(limit))
    found = _PAGE_STMTS.get(key)
    if found is None:

        def build(dialect: str) -> Select:
            where = _status_queue_filter(status, queue)
            if pinned is not None:
                where.append(_t.c.pinned == (true() if pinned else false()))
            if after is not None:
                pos = tuple_(_t.c.last_message_at, _t.c.id)
                bound = tuple_(bindparam("k_last", type_=UTCDateTime()), bindparam("k_id", type_=Integer))
                where.append(pos < bound if after == "lt" else pos <= bound)
            stmt = _summary_select(dialect).where(*where).order_by(*_ORDER)
            stmt = stmt.limit(literal_column(str(int(limit))))
            return stmt.offset(bindparam("off", type_=Integer)) if offset else stmt

        if len(_PAGE_STMTS) >= _MAX_SHAPES:
            _PAGE_STMTS.clear()
        found = _PAGE_STMTS[key] = Prepared(build)
    return found


_BY_ID = Prepared(lambda dialect: _summary_select(dialect).where(_t.c.id == bindparam("thread_id")))


def _page_rows(
    conn: Connection,
    status: ThreadStatus | str,
    queue: str | None,
    after: PageKey | None,
    limit: int,
    inclusive: bool = False,
) -> list:
    params: dict[str, Any] = {"status": str(status)}
    if queue is not None:
        params["queue"] = queue
    has_queue = queue is not None
    if after is None:
        stmt = _page_stmt(status=True, queue=has_queue, pinned=None, after=None, offset=False, limit=limit)
        return stmt.rows(conn, params)
    shape = "le" if inclusive else "lt"
    stmt = _page_stmt(status=True, queue=has_queue, pinned=after.pinned, after=shape, offset=False, limit=limit)
    rows = stmt.rows(
        conn, {**params, "k_last": time_param(conn.dialect, after.last_message_at), "k_id": after.thread_id}
    )
    if after.pinned and len(rows) < limit:  # past the last pinned row: the unpinned ones from the top
        rest = _page_stmt(status=True, queue=has_queue, pinned=False, after=None, offset=False, limit=limit)
        rows += rest.rows(conn, params)[: limit - len(rows)]
    return rows


def thread_page(
    conn: Connection,
    *,
    status: ThreadStatus | str | None = ThreadStatus.OPEN,
    queue: str | None = None,
    after: PageKey | None = None,
    limit: int = PAGE_SIZE,
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
        rows.sort(key=lambda r: (bool(r[_PINNED]), r[_LAST], r[_ID]), reverse=True)
        rows = rows[:limit]
    else:
        rows = _page_rows(conn, status, queue, after, limit, inclusive)
    return _summaries(conn, rows, with_candidates)


_KEY_AT: dict[tuple[bool, bool], Prepared] = {}


def _status_queue_filter(status: bool, queue: bool) -> list:
    """``status = :status`` and ``queue = :queue`` conditions for the parts a page statement filters on."""
    where = []
    if status:
        where.append(_t.c.status == bindparam("status"))
    if queue:
        where.append(_t.c.queue == bindparam("queue"))
    return where


def _key_at_stmt(status: bool, queue: bool) -> Prepared:
    found = _KEY_AT.get((status, queue))
    if found is None:

        def build(_dialect: str) -> Select:
            where = _status_queue_filter(status, queue)
            return (
                select(_t.c.pinned, _t.c.last_message_at, _t.c.id)
                .where(*where)
                .order_by(*_ORDER)
                .limit(1)
                .offset(bindparam("off", type_=Integer))
            )

        found = _KEY_AT[(status, queue)] = Prepared(build)
    return found


def key_at(conn: Connection, *, status: ThreadStatus | str | None, queue: str | None, offset: int) -> PageKey | None:
    """The keyset position of row ``offset`` of a listing, counted on the covering index only."""
    params: dict[str, Any] = {"off": max(0, offset)}
    if status is not None:
        params["status"] = str(status)
    if queue is not None:
        params["queue"] = queue
    rows = _key_at_stmt(status is not None, queue is not None).rows(conn, params)
    if not rows:
        return None
    pinned, last, tid = rows[0]
    return PageKey(bool(pinned), time_reader(conn.dialect)(last), tid)  # type: ignore[arg-type]


def thread_page_at(
    conn: Connection,
    *,
    status: ThreadStatus | str | None = ThreadStatus.OPEN,
    queue: str | None = None,
    offset: int = 0,
    limit: int = PAGE_SIZE,
    with_candidates: bool = True,
) -> list[ThreadSummary]:
    """Up to ``limit`` threads starting at position ``offset`` of the inbox order (scrollbar jumps).

    Skips ``offset`` entries of the covering index (no row reads), then reads one keyset
    page from there. With ``status=None`` there is no such index and the rows are sorted.
    """
    if limit <= 0:
        return []
    if status is None:
        params: dict[str, Any] = {"off": max(0, offset)}
        if queue is not None:
            params["queue"] = queue
        stmt = _page_stmt(status=False, queue=queue is not None, pinned=None, after=None, offset=True, limit=limit)
        return _summaries(conn, stmt.rows(conn, params), with_candidates)
    key = key_at(conn, status=status, queue=queue, offset=offset)
    if key is None:
        return []
    return thread_page(
        conn, status=status, queue=queue, after=key, limit=limit, with_candidates=with_candidates, inclusive=True
    )


def thread_total(
    conn: Connection, *, status: ThreadStatus | str | None = ThreadStatus.OPEN, queue: str | None = None
) -> int:
    """How many threads a listing has (from the counters table: a few rows, whatever the size)."""
    return queue_stats.total(conn, status=None if status is None else str(status), queue=queue)


def thread_summary(conn: Connection, thread_id: int) -> ThreadSummary | None:
    rows = _BY_ID.rows(conn, {"thread_id": thread_id})
    if not rows:
        return None
    return _summaries(conn, rows, True)[0]


def _summaries(conn: Connection, rows: Sequence[Any], with_candidates: bool) -> list[ThreadSummary]:
    cands: dict[int, tuple[PatientBrief, ...]] = {}
    if with_candidates:
        ambiguous = {r[_CONTACT] for r in rows if r[_PATIENT] is None and r[_CONTACT] is not None}
        if ambiguous:
            cands = candidates_for_contacts(conn, ambiguous)
    return _summaries_from_rows(conn, rows, cands)


_CANDIDATES_SQL = """SELECT pc.contact_id, p.id, p.mrn, p.first_name, p.last_name, p.dob
FROM patient_contacts pc JOIN patients p ON p.id = pc.patient_id
WHERE pc.contact_id IN ({ids})
ORDER BY pc.contact_id, p.last_name, p.first_name, p.id"""
_CANDIDATE_IDS = {
    "sqlite": "SELECT value FROM json_each(:ids)",  # the ids as one JSON array
    "postgresql": "SELECT unnest(CAST(:ids AS BIGINT[]))",  # … as one array
}


def _candidates_stmt(dialect: str):
    """One statement for any number of contacts: the ids are one parameter, so the SQL is
    compiled once and never re-rendered per page."""
    return text(_CANDIDATES_SQL.replace("{ids}", _CANDIDATE_IDS.get(dialect, _CANDIDATE_IDS["postgresql"])))


_CANDIDATES = Prepared(_candidates_stmt)


def candidates_for_contacts(conn: Connection, contact_ids: Iterable[int]) -> dict[int, tuple[PatientBrief, ...]]:
    """For each contact, the patients linked to it (a household's shared phone), by name."""
    wanted = sorted({int(c) for c in contact_ids})
    if not wanted:
        return {}
    sqlite = conn.dialect.name == "sqlite"
    rows = _CANDIDATES.rows(conn, {"ids": json.dumps(wanted) if sqlite else wanted})
    out: dict[int, list[PatientBrief]] = defaultdict(list)
    for contact_id, pid, mrn, first, last, dob in rows:
        if sqlite and isinstance(dob, str):
            dob = date.fromisoformat(dob)
        out[contact_id].append(PatientBrief(id=pid, mrn=mrn, name=person_name(first, last) or mrn, dob=dob))
    return {k: tuple(v) for k, v in out.items()}


def queue_counts(conn: Connection, *, extra_queues: Iterable[str] = ()) -> list[QueueCount]:
    """Per queue: open threads, open threads with unread messages, unacknowledged emergencies.

    Every default queue is listed (zero counts included), then any other queue in use.
    Read from the trigger-kept counters (``store/queue_stats.py``).
    """
    return queue_counts_and_backlog(conn, extra_queues=extra_queues)[0]


def queue_counts_and_backlog(conn: Connection, *, extra_queues: Iterable[str] = ()) -> tuple[list[QueueCount], int]:
    """:func:`queue_counts` and how many unfolded counter rows it summed (PostgreSQL; see
    :func:`omnidesk.store.queue_stats.fold`)."""
    totals, backlog = queue_stats.by_queue(conn, ThreadStatus.OPEN.value)
    names = list(QUEUE_LABELS)
    names += [q for q in extra_queues if q not in names]
    names += sorted(q for q in totals if q not in names)
    counts = [
        QueueCount(name, QUEUE_LABELS.get(name) or name.replace("_", " ").capitalize(), *totals.get(name, (0, 0, 0)))
        for name in names
    ]
    return counts, backlog


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
            messages.c.kind,
        )
        .where(messages.c.thread_id == thread_id)
        .order_by(messages.c.at, messages.c.id)
    ).all()
    msgs = tuple(message_from_row(r, tuple(atts.get(r.id, ()))) for r in msg_rows)
    card = patient_card(conn, summary.patient_id, now=now) if summary.patient_id is not None else None
    contact_id = conn.execute(select(_t.c.contact_id).where(_t.c.id == thread_id)).scalar_one_or_none()
    found = (*(card.opt_outs if card is not None else ()), *opt_outs_for(conn, [contact_id] if contact_id else []))
    stops = sorted({(o.contact, o.channel): o for o in found}.values(), key=lambda o: (o.at, o.contact, o.channel))
    return ThreadDetail(summary=summary, messages=msgs, patient=card, opt_outs=tuple(stops))


_CANCEL = '%"appointment.cancel"%'  # in the JSON text of a message's intents


def opt_outs_for(conn: Connection, contact_ids: Iterable[int]) -> tuple[OptOutView, ...]:
    """The opt-outs recorded for these contacts (oldest first), each with the message that asked
    and, when it also asked to cancel an appointment, where that request waits."""
    ids = sorted(set(contact_ids))
    if not ids:
        return ()
    m = messages
    rows = conn.execute(
        select(
            _c.c.value,
            opt_outs.c.channel,
            opt_outs.c.opted_out_at,
            m.c.body,
            cast(m.c.intents, Text).like(_CANCEL).label("cancel"),
            m.c.thread_id,
            _t.c.queue,
            _t.c.status,
        )
        .join(_c, _c.c.id == opt_outs.c.contact_id)
        .outerjoin(m, m.c.id == opt_outs.c.source_message_id)
        .outerjoin(_t, _t.c.id == m.c.thread_id)
        .where(opt_outs.c.contact_id.in_(ids))
        .order_by(opt_outs.c.opted_out_at, _c.c.value, opt_outs.c.channel)
    ).all()
    return tuple(
        OptOutView(
            contact=r.value,
            channel=Channel(r.channel),
            at=r.opted_out_at,
            words=r.body,
            cancellation_queue=r.queue if r.cancel else None,
            cancellation_open=bool(r.cancel) and r.status == ThreadStatus.OPEN.value,
            thread_id=r.thread_id,
        )
        for r in rows
    )


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
        opt_outs=opt_outs_for(conn, [r.id for r in links]),
    )


# ---------------------------------------------------------------------------- small writes


def mark_read(conn: Connection, thread_id: int) -> bool:
    """Set the thread's unread count to 0; True if it had unread messages."""
    result = conn.execute(update(_t).where(_t.c.id == thread_id, _t.c.unread_count != 0).values(unread_count=0))
    return result.rowcount > 0


def acknowledge_emergency(
    conn: Connection, thread_id: int, *, staff_id: int | None, at: datetime, expected_version: int
) -> bool:
    """Record who acknowledged the emergency and when, unpin it and bump the version
    (``emergency_since`` stays: how long the acknowledged emergency waited).

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
    """(id, version, urgency, pinned, emergency_ack_at, patient_id, emergency_since) of a thread, or None."""
    return conn.execute(
        select(
            _t.c.id,
            _t.c.version,
            _t.c.urgency,
            _t.c.pinned,
            _t.c.emergency_ack_at,
            _t.c.patient_id,
            _t.c.emergency_since,
        ).where(_t.c.id == thread_id)
    ).first()


__all__ = [
    "QUEUE_LABELS",
    "acknowledge_emergency",
    "candidates_for_contacts",
    "key_at",
    "mark_read",
    "opt_outs_for",
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
