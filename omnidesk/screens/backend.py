"""The console's window onto the services: every call the screens make, in one place.

All methods block (they run in thread workers, never on the UI thread). Services are
imported on first use so the console draws its first frame before SQLAlchemy is loaded.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any

from omnidesk.model import QUEUE_EMERGENCY, PageKey, QueueCount, SearchHit, ThreadDetail, ThreadStatus, ThreadSummary

if TYPE_CHECKING:
    from omnidesk.services.context import Context

ALL = "all"
EMERGENCY_LIMIT = 50


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
        from omnidesk.services import inbox

        return inbox.thread_total(self.backend.ctx, queue=_queue_arg(self.queue), status=self.status)

    def pinned(self) -> list[ThreadSummary]:
        if self.queue in (ALL, QUEUE_EMERGENCY):
            return []
        return [t for t in self.backend.emergencies() if t.queue != self.queue]

    def page_after(self, after: PageKey | None, limit: int) -> list[ThreadSummary]:
        from omnidesk.services import inbox

        if after is None and (first := self.backend.take_prefetched(self.queue, limit)) is not None:
            return first
        q = _queue_arg(self.queue)
        return inbox.thread_page(self.backend.ctx, queue=q, status=self.status, after=after, limit=limit)

    def page_at(self, offset: int, limit: int) -> list[ThreadSummary]:
        from omnidesk.services import inbox

        q = _queue_arg(self.queue)
        return inbox.thread_page_at(self.backend.ctx, queue=q, status=self.status, offset=offset, limit=limit)


class Backend:
    """Holds the :class:`Context` and the clock; one method per thing the console asks for."""

    def __init__(
        self,
        ctx: Context,
        *,
        clock: Callable[[], datetime] | None = None,
        live_source: Any = None,
        tz: tzinfo | None = None,
    ) -> None:
        self.ctx = ctx
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.live_source = live_source
        self._tz = tz
        self._practice: tuple[tzinfo | None, dict[str, str]] | None = None
        self._prefetched: dict[tuple[str, int], list[ThreadSummary]] = {}

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
        from omnidesk.services import inbox

        return inbox.queue_counts(self.ctx)

    def emergencies(self) -> list[ThreadSummary]:
        """Unacknowledged emergencies, in any queue (they lead the inbox order)."""
        from omnidesk.services import inbox

        rows = inbox.thread_page(self.ctx, queue=None, status=ThreadStatus.OPEN, after=None, limit=EMERGENCY_LIMIT)
        return [t for t in rows if t.pinned]

    def open_thread(self, thread_id: int) -> ThreadDetail:
        from omnidesk.services import inbox

        return inbox.open_thread(self.ctx, thread_id)

    def search(self, query: str, limit: int = 50) -> list[SearchHit]:
        from omnidesk.services import inbox

        return inbox.search(self.ctx, query, limit=limit)

    def acknowledge(self, thread_id: int) -> ThreadSummary:
        from omnidesk.services import inbox

        return inbox.acknowledge_emergency(self.ctx, thread_id)

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
