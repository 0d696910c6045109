"""The inbox use cases: queue counts, thread pages, one thread, search, emergency acknowledgment.

Reads run in read-only transactions (on SQLite they never wait for the ingest writer).
Opening a thread, searching and acknowledging are audited in the same transaction as
what they do. Listing pages is not audited (the list is scrolled constantly); exporting
the whole list (:func:`iter_threads`) is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime

from omnidesk.model import PageKey, QueueCount, SearchHit, ThreadDetail, ThreadStatus, ThreadSummary, Urgency
from omnidesk.services import audit
from omnidesk.services.context import Context
from omnidesk.services.errors import ConflictError, NotFound, store_errors
from omnidesk.services.permissions import THREAD_ACK_EMERGENCY, THREAD_VIEW, require
from omnidesk.store import queries as q
from omnidesk.store import queue_stats
from omnidesk.store.engine import reading, writing
from omnidesk.store.search import SearchQuery, search_messages

ITER_PAGE = 500


def _errors(ctx: Context):
    return store_errors(str(ctx.engine.url))


def _status(status: ThreadStatus | str | None) -> ThreadStatus | None:
    return None if status is None else ThreadStatus(status)


def queue_counts(ctx: Context) -> list[QueueCount]:
    """Each queue with its open threads, those with unread messages, and unacknowledged emergencies."""
    require(ctx, THREAD_VIEW)
    with _errors(ctx), reading(ctx.engine) as conn:
        counts, backlog = q.queue_counts_and_backlog(conn)
    if backlog >= queue_stats.FOLD_AT:  # PostgreSQL: fold the writers' per-transaction counter rows
        with _errors(ctx), writing(ctx.engine) as conn:
            queue_stats.fold(conn)
    return counts


def thread_page(
    ctx: Context,
    *,
    queue: str | None,
    status: ThreadStatus | str | None = ThreadStatus.OPEN,
    after: PageKey | None = None,
    limit: int = q.PAGE_SIZE,
) -> list[ThreadSummary]:
    """Up to ``limit`` threads in inbox order after ``after`` (a previous row's ``.key``; None: the top)."""
    require(ctx, THREAD_VIEW)
    with _errors(ctx), reading(ctx.engine) as conn:
        return q.thread_page(conn, status=_status(status), queue=queue, after=after, limit=limit)


def thread_page_at(
    ctx: Context,
    *,
    queue: str | None,
    status: ThreadStatus | str | None = ThreadStatus.OPEN,
    offset: int,
    limit: int = q.PAGE_SIZE,
) -> list[ThreadSummary]:
    """Up to ``limit`` threads from position ``offset`` in inbox order (for scrollbar jumps)."""
    require(ctx, THREAD_VIEW)
    with _errors(ctx), reading(ctx.engine) as conn:
        return q.thread_page_at(conn, status=_status(status), queue=queue, offset=offset, limit=limit)


def thread_total(ctx: Context, *, queue: str | None, status: ThreadStatus | str | None = ThreadStatus.OPEN) -> int:
    """How many threads the listing for ``queue``/``status`` has."""
    require(ctx, THREAD_VIEW)
    with _errors(ctx), reading(ctx.engine) as conn:
        return q.thread_total(conn, status=_status(status), queue=queue)


def iter_threads(
    ctx: Context, *, queue: str | None = None, status: ThreadStatus | str | None = None
) -> Iterator[ThreadSummary]:
    """Every thread of a listing in inbox order (keyset pages, a short transaction each).

    Checked and audited (``thread.export``) when called, before the first row is read.
    """
    require(ctx, THREAD_VIEW)
    st = _status(status)
    with _errors(ctx), writing(ctx.engine) as conn:
        audit.record(conn, ctx, "thread.export", queue=queue, status=st.value if st else None)
    return _iter_pages(ctx, st, queue)


def _iter_pages(ctx: Context, st: ThreadStatus | None, queue: str | None) -> Iterator[ThreadSummary]:
    after: PageKey | None = None
    while True:
        with _errors(ctx), reading(ctx.engine) as conn:
            page = q.thread_page(conn, status=st, queue=queue, after=after, limit=ITER_PAGE)
        yield from page
        if len(page) < ITER_PAGE:
            return
        after = page[-1].key


def open_thread(ctx: Context, thread_id: int) -> ThreadDetail:
    """The thread with its messages and patient card; marks it read and audits ``thread.view``."""
    require(ctx, THREAD_VIEW)
    now = datetime.now(UTC)
    with _errors(ctx), writing(ctx.engine) as conn:
        detail = q.thread_detail(conn, thread_id, now=now)
        if detail is None:
            raise NotFound(f"thread {thread_id} not found", code="thread")
        was_unread = detail.summary.unread_count
        if was_unread:
            q.mark_read(conn, thread_id)
            detail = dataclasses.replace(detail, summary=dataclasses.replace(detail.summary, unread_count=0))
        audit.record(
            conn,
            ctx,
            "thread.view",
            thread_id=thread_id,
            patient_id=detail.summary.patient_id,
            messages=len(detail.messages),
            unread=was_unread,
        )
    return detail


def search(ctx: Context, query: str, limit: int = 50) -> list[SearchHit]:
    """Messages containing every word of ``query`` (last word as a prefix), newest first.

    Any text is safe (quotes, operators, emoji, empty → no hits). Audited with the number
    of words and the threads shown, never the query text. Debounce search-as-you-type.
    """
    require(ctx, THREAD_VIEW)
    if not SearchQuery.parse(query).terms:
        return []
    with _errors(ctx), writing(ctx.engine) as conn:
        hits = search_messages(conn, query, limit=limit)
        audit.record(
            conn,
            ctx,
            "search",
            terms=len(SearchQuery.parse(query).terms),
            hits=len(hits),
            threads=sorted({h.thread_id for h in hits}),
        )
    return hits


def acknowledge_emergency(
    ctx: Context, thread_id: int, *, expected_version: int | None = None, at: datetime | None = None
) -> ThreadSummary:
    """Record that ``ctx``'s user has seen the emergency (who, when), unpin it, audit it.

    ``expected_version`` (a summary's ``version``) makes it fail with :class:`ConflictError`
    if the thread changed since it was shown; so does a second acknowledgment. The thread's
    ``emergency_since`` stays (how long it waited); a new emergency flags it again.
    ``at`` is when it happened (default now): only a loader of history (the demo) passes it,
    and it must lie between the emergency's start and now (``ValueError`` otherwise).
    """
    require(ctx, THREAD_ACK_EMERGENCY)
    now = datetime.now(UTC)
    if at is not None:
        if at.tzinfo is None or at > now:
            raise ValueError("an acknowledgment time must be aware and not in the future")
        now = at
    with _errors(ctx), writing(ctx.engine) as conn:
        state = q.thread_state(conn, thread_id)
        if state is None:
            raise NotFound(f"thread {thread_id} not found", code="thread")
        if expected_version is not None and state.version != expected_version:
            raise ConflictError(
                f"thread {thread_id} changed since it was shown", "look at it again, then retry", code="version"
            )
        if not state.pinned:
            if state.emergency_ack_at is not None:
                raise ConflictError(f"the emergency in thread {thread_id} was already acknowledged", code="acked")
            if state.urgency != Urgency.EMERGENCY.value:
                raise ConflictError(f"thread {thread_id} is not an emergency", code="not_emergency")
        if at is not None and state.emergency_since is not None and at < state.emergency_since:
            raise ValueError("an acknowledgment cannot come before the emergency it acknowledges")
        staff_id = ctx.user.id if ctx.user is not None else None
        if not q.acknowledge_emergency(conn, thread_id, staff_id=staff_id, at=now, expected_version=state.version):
            raise ConflictError(
                f"thread {thread_id} changed while acknowledging", "look at it again, then retry", code="version"
            )
        audit.record(conn, ctx, "thread.ack_emergency", thread_id=thread_id, patient_id=state.patient_id, at=now)
        summary = q.thread_summary(conn, thread_id)
    assert summary is not None
    return summary
