"""The console's window onto the services: every call the screens make, in one place.

All methods block (they run in thread workers, never on the UI thread). Services are
imported on first use so the console draws its first frame before SQLAlchemy is loaded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from types import ModuleType
from typing import TYPE_CHECKING, Any

from omnidesk.model import QUEUE_EMERGENCY, PageKey, QueueCount, SearchHit, ThreadDetail, ThreadStatus, ThreadSummary

if TYPE_CHECKING:
    from omnidesk.services.context import Context

ALL = "all"
EMERGENCY_LIMIT = 50
OPEN_WAIT_S = 60.0


def _queue_arg(queue: str) -> str | None:
    return None if queue == ALL else queue


@dataclass
class InboxSource:
    """A thread-list page source for one queue (implements ``widgets.thread_list.ThreadSource``).

    Queues other than All and Emergency get the unacknowledged emergencies of other queues
    pinned above their own rows, so an emergency is at the top of every list.
    """

    backend: Backend
    queue: str
    status: ThreadStatus | None = ThreadStatus.OPEN

    def total(self) -> int:
        ctx, inbox = self.backend.services()
        return inbox.thread_total(ctx, queue=_queue_arg(self.queue), status=self.status)

    def pinned(self) -> list[ThreadSummary]:
        if self.queue in (ALL, QUEUE_EMERGENCY):
            return []
        return [t for t in self.backend.emergencies() if t.queue != self.queue]

    def page_after(self, after: PageKey | None, limit: int) -> list[ThreadSummary]:
        if after is None and (first := self.backend.take_prefetched(self.queue, limit)) is not None:
            return first
        ctx, inbox = self.backend.services()
        q = _queue_arg(self.queue)
        return inbox.thread_page(ctx, queue=q, status=self.status, after=after, limit=limit)

    def page_at(self, offset: int, limit: int) -> list[ThreadSummary]:
        ctx, inbox = self.backend.services()
        q = _queue_arg(self.queue)
        return inbox.thread_page_at(ctx, queue=q, status=self.status, offset=offset, limit=limit)


class Backend:
    """Holds the :class:`Context` and the clock; one method per thing the console asks for."""

    def __init__(
        self,
        ctx: Context | None,
        *,
        clock: Callable[[], datetime] | None = None,
        live_source: Any = None,
        tz: tzinfo | None = None,
    ) -> None:
        self._ctx = ctx
        self._opened = threading.Event()
        self._open_error: BaseException | None = None
        if ctx is not None:
            self._opened.set()
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.live_source = live_source
        self._tz = tz
        self._practice: tuple[tzinfo | None, dict[str, str]] | None = None
        self._prefetched: dict[tuple[str, int], list[ThreadSummary]] = {}

    @property
    def ctx(self) -> Context:
        """The store's context. While it is still being opened (``Backend(None)``), waits for it:
        every caller is a worker thread, and a page already on screen came from elsewhere."""
        if not self._opened.wait(OPEN_WAIT_S):
            from omnidesk.services.errors import StoreError

            raise StoreError("the database is taking too long to open", "check that it is reachable", code="slow")
        if self._ctx is None:
            raise self._open_error or RuntimeError("the store was not opened")
        return self._ctx

    def opened(self, ctx: Context) -> None:
        """The store is open now (for a backend made before it was)."""
        self._ctx = ctx
        self._opened.set()

    def open_failed(self, error: BaseException) -> None:
        """The store could not be opened: every call waiting for it raises ``error``."""
        self._open_error = error
        self._opened.set()

    def services(self) -> tuple[Context, ModuleType]:
        """(context, ``omnidesk.services.inbox``): the context first, so a call made while the
        store is still opening waits before it imports anything (the first frame is drawing)."""
        ctx = self.ctx
        from omnidesk.services import inbox

        return ctx, inbox

    def put_prefetched(self, queue: str, limit: int, rows: list[ThreadSummary]) -> None:
        """A first page read elsewhere (before the store was open here); the list takes it once."""
        self._prefetched[(queue, limit)] = rows

    def prefetch(self, queue: str, limit: int) -> None:
        """Fetch ``queue``'s first page now, while the screen is still being built; the list takes it once."""
        self._prefetched[(queue, limit)] = self.source(queue).page_after(None, limit)

    def take_prefetched(self, queue: str, limit: int) -> list[ThreadSummary] | None:
        return self._prefetched.pop((queue, limit), None)

    @property
    def username(self) -> str | None:
        user = self.ctx.user
        return user.display_name if user is not None else None

    def practice(self) -> tuple[tzinfo | None, dict[str, str]]:
        """(time zone, queue labels) of the practice, loaded once; a given ``tz`` wins."""
        if self._practice is None:
            tz, labels = self._tz, {}
            with suppress(Exception):  # the machine's zone and the default labels stand
                tz = tz or self.practice_tz()
                labels = self.queue_labels()
            self._practice = (tz, labels)
        return self._practice

    def practice_tz(self) -> tzinfo | None:
        """The practice's time zone from the rules configuration, when it declares one."""
        triage = self.ctx.triage
        for holder in (getattr(triage, "config", None), triage, getattr(triage, "hours", None)):
            for attr in ("tz", "timezone", "zone"):
                value = getattr(holder, attr, None)
                if isinstance(value, tzinfo):
                    return value
                if isinstance(value, str) and value:
                    from zoneinfo import ZoneInfo

                    try:
                        return ZoneInfo(value)
                    except Exception:
                        continue
        return None

    def queue_labels(self) -> dict[str, str]:
        """Queue labels from the rules configuration (``[(id, label), ...]`` or a mapping), if it has any."""
        queues = getattr(self.ctx.triage, "queues", None)
        if isinstance(queues, dict):
            queues = list(queues.items())
        out: dict[str, str] = {}
        for item in queues or ():
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], str):
                out[str(item[0])] = item[1]
        return out

    def source(self, queue: str) -> InboxSource:
        return InboxSource(self, queue)

    def queue_counts(self) -> list[QueueCount]:
        ctx, inbox = self.services()
        return inbox.queue_counts(ctx)

    def emergencies(self) -> list[ThreadSummary]:
        """Unacknowledged emergencies, in any queue (they lead the inbox order)."""
        ctx, inbox = self.services()
        rows = inbox.thread_page(ctx, queue=None, status=ThreadStatus.OPEN, after=None, limit=EMERGENCY_LIMIT)
        return [t for t in rows if t.pinned]

    def open_thread(self, thread_id: int) -> ThreadDetail:
        ctx, inbox = self.services()
        return inbox.open_thread(ctx, thread_id)

    def search(self, query: str, limit: int = 50) -> list[SearchHit]:
        ctx, inbox = self.services()
        return inbox.search(ctx, query, limit=limit)

    def acknowledge(self, thread_id: int) -> ThreadSummary:
        ctx, inbox = self.services()
        return inbox.acknowledge_emergency(ctx, thread_id)

    def change_feed(self) -> Any:
        """A feed whose ``wait(timeout)`` is True once another connection committed a change."""
        from omnidesk.services import watch

        return watch.open_change_feed(self.ctx)

    def sync_once(self) -> int:
        """Run the live source once (``source.run_once(ctx)`` or ``source(ctx)``); return the new-message count."""
        source = self.live_source
        if source is None:
            return 0
        run = getattr(source, "run_once", source)
        report = run(self.ctx)
        if report is None:
            return 0
        if isinstance(report, int):
            return report
        return int(getattr(report, "new", 0))
