"""Driving channel adapters into ingest: poll with the stored cursor, store the messages, advance the cursor.

Invariant (ARCHITECTURE.md #1): a cursor never runs ahead of the messages it covers. The
new cursor is written in the same transaction as the last batch of messages it covers
(ingest's ``before_commit`` hook). Re-polling from an older cursor is harmless: ingest
drops duplicates on (channel, provider id).

Adapters are async; this module is synchronous (``asyncio.run`` per poll), so the console
can call it from a thread worker and ``omnidesk sync`` can run it headless.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, select, update

from omnidesk.channels.base import Cursor, InboundChannel
from omnidesk.model import IngestReport
from omnidesk.services.context import Context
from omnidesk.services.ingest import ingest
from omnidesk.store.engine import reading
from omnidesk.store.schema import channel_cursors

log = logging.getLogger("omnidesk.sync")


def load_cursor(ctx: Context, name: str) -> Cursor:
    """The stored cursor called ``name`` (``None`` if there is none yet)."""
    with reading(ctx.engine) as conn:
        return conn.execute(select(channel_cursors.c.value).where(channel_cursors.c.name == name)).scalar_one_or_none()


def save_cursor(conn: Connection, name: str, value: Cursor) -> None:
    """Write cursor ``name`` in the caller's transaction."""
    now = datetime.now(UTC)
    done = conn.execute(
        update(channel_cursors).where(channel_cursors.c.name == name).values(value=value, updated_at=now)
    ).rowcount
    if not done:
        conn.execute(channel_cursors.insert().values(name=name, value=value, updated_at=now))


def run_once(ctx: Context, channel: InboundChannel, cursor_name: str) -> IngestReport:
    """Poll ``channel`` once from the stored cursor, ingest what it returns and store the new cursor.

    The cursor is written inside the transaction of the last batch of messages (ingest's
    ``before_commit``), so it is never stored unless every message it covers is.
    """
    cursor = load_cursor(ctx, cursor_name)
    messages, new_cursor = asyncio.run(channel.poll(cursor))
    if not messages and new_cursor == cursor:
        return IngestReport()
    return ingest(ctx, messages, before_commit=lambda conn: save_cursor(conn, cursor_name, new_cursor))


@dataclass(frozen=True, slots=True)
class Source:
    """One channel to poll and the name of its cursor in ``channel_cursors``."""

    channel: InboundChannel
    cursor_name: str


class SyncLoop:
    """Polls every source every ``interval`` seconds until stopped; usable headless or from a worker.

    ``step()`` does one round and returns {cursor name: report}; ``run(stop)`` repeats it until the
    ``threading.Event`` is set. ``on_report(name, report)`` is called after every poll that stored
    something (the console uses it to refresh). A failing source is logged by cursor name and
    error type only (no PHI) and retried with a back-off; it never stops the other sources.
    """

    def __init__(
        self,
        ctx: Context,
        sources: Sequence[Source],
        *,
        interval: float = 5.0,
        on_report: Callable[[str, IngestReport], Any] | None = None,
        max_backoff: float = 300.0,
    ) -> None:
        self.ctx = ctx
        self.sources = list(sources)
        self.interval = interval
        self.on_report = on_report
        self.max_backoff = max_backoff
        self._failures: dict[str, int] = {}
        self._next_try: dict[str, float] = {}
        self._stop = threading.Event()

    def step(self, *, clock: Callable[[], float] | None = None) -> dict[str, IngestReport]:
        """Poll each source that is due once; return the reports of the ones that ran."""
        now = (clock or time.monotonic)()
        out: dict[str, IngestReport] = {}
        for src in self.sources:
            name = src.cursor_name
            if self._next_try.get(name, 0.0) > now:
                continue
            try:
                report = run_once(self.ctx, src.channel, name)
            except Exception as exc:  # a channel outage must not stop the loop
                fails = self._failures.get(name, 0) + 1
                self._failures[name] = fails
                delay = min(self.interval * 2**fails, self.max_backoff)
                self._next_try[name] = now + delay
                log.warning("sync %s failed (%s); retry in %.0fs", name, type(exc).__name__, delay)
                continue
            self._failures.pop(name, None)
            self._next_try.pop(name, None)
            out[name] = report
            if self.on_report and (report.new or report.rejected):
                self.on_report(name, report)
        return out

    def run_once(self, ctx: Context | None = None) -> IngestReport:
        """One round over every due source, as a single report (what the console's live worker calls)."""
        if ctx is not None:
            self.ctx = ctx
        total = IngestReport()
        for report in self.step().values():
            total.new += report.new
            total.duplicate += report.duplicate
            total.rejected.extend(report.rejected)
        return total

    def run(self, stop: threading.Event | None = None) -> None:
        """Repeat :meth:`step` every ``interval`` seconds until ``stop`` (or :meth:`stop`) is set."""
        if stop is not None:
            self._stop = stop
        while not self._stop.is_set():
            self.step()
            self._stop.wait(self.interval)

    def stop(self) -> None:
        """Ask :meth:`run` to return after the current round."""
        self._stop.set()
