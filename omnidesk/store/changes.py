"""A change feed: wake a console as soon as another connection commits a change to the inbox.

Several consoles (and the ingest or sync process) write one store, and an emergency must
reach every open screen within the budget (ARCHITECTURE.md: commit → visible ≤ 50 ms p99
on SQLite, ≤ 250 ms on PostgreSQL) without anyone pressing ``r``, and without a busy timer
in an idle console.

* **PostgreSQL**: statement triggers on ``threads`` (migration 0003) call
  ``pg_notify('omnidesk_changes', <schema>)``; the notification is delivered when the
  writer's transaction commits. The feed holds one connection that ``LISTEN``\\ s and blocks
  until a notification for its own schema arrives. Every new message, staff action or
  queue move updates its thread, so this one trigger covers what the inbox shows.
* **SQLite** (one machine): ``PRAGMA data_version`` changes when another connection has
  committed. On Linux the feed sleeps in ``select`` on an inotify watch of the database's
  directory and looks when the ``-wal`` file is written, every millisecond until the commit
  shows, and at least every :data:`WATCH_RECHECK_S`; elsewhere every :data:`SQLITE_POLL_S`.

A feed says *that* something changed, not what: the console reloads what it shows (a
page, the counts, the emergencies — a few milliseconds).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import select
import struct
import sys
import time
from pathlib import Path
from typing import Protocol

from sqlalchemy import Engine

from omnidesk.store.engine import sqlite_path

CHANNEL = "omnidesk_changes"
SQLITE_POLL_S = 0.015  # without inotify: how often data_version is read
SETTLE_S = 0.25  # after a write to the -wal file, how long to look for the commit it belongs to
SETTLE_POLL_S = 0.001
# Even with inotify, look this often: a write the watch did not report (a commit whose frames
# were read as an earlier commit's, a file system without events) is then late by this much
# at most, for ~20 cheap reads a second while idle.
WATCH_RECHECK_S = 0.05

# inotify(7)
_IN_MODIFY = 0x00000002
_IN_CREATE = 0x00000100
_IN_MOVED_TO = 0x00000080
_IN_NONBLOCK = os.O_NONBLOCK
_IN_CLOEXEC = os.O_CLOEXEC
_EVENT = struct.Struct("iIII")


class ChangeFeed(Protocol):
    def wait(self, timeout: float) -> bool:
        """Block up to ``timeout`` seconds; True as soon as another connection committed a change."""
        ...

    def close(self) -> None:
        """Release the feed's connection (and watch)."""
        ...


def open_feed(engine: Engine) -> ChangeFeed:
    """The change feed for ``engine``'s database (PostgreSQL LISTEN, else SQLite data_version)."""
    if engine.dialect.name == "postgresql":
        return _PgFeed(engine)
    return _SqliteFeed(engine)


class _PgFeed:
    def __init__(self, engine: Engine) -> None:
        self._raw = engine.raw_connection()
        try:
            conn = self._raw.driver_connection
            conn.autocommit = True  # LISTEN takes effect at once; this connection never returns to the pool
            self._schema = conn.execute("SELECT current_schema()").fetchone()[0]
            conn.execute(f"LISTEN {CHANNEL}")
            self._conn = conn
        except BaseException:
            self._raw.invalidate()
            raise

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            for note in self._conn.notifies(timeout=remaining, stop_after=1):
                if note.payload == self._schema:  # another schema in the same database is another store
                    return True
        return False

    def close(self) -> None:
        self._raw.invalidate()  # autocommit and LISTEN must not leak into the pool


class _SqliteFeed:
    def __init__(self, engine: Engine) -> None:
        self._raw = engine.raw_connection()
        self._cursor = self._raw.driver_connection.cursor()
        self._version = self._read()
        path = sqlite_path(str(engine.url))
        self._watch = _WalWatch.open(path) if path is not None else None

    def _read(self) -> int:
        return self._cursor.execute("PRAGMA data_version").fetchone()[0]

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        settle_until = 0.0
        while True:
            version = self._read()
            if version != self._version:
                self._version = version
                return True
            now = time.monotonic()
            remaining = deadline - now
            if remaining <= 0:
                return False
            if self._watch is None:
                time.sleep(min(remaining, SQLITE_POLL_S))
            elif now < settle_until:
                # the WAL was written but the commit is not visible yet (fsync, then the
                # wal-index in shared memory, which inotify cannot see): look again shortly
                time.sleep(min(remaining, SETTLE_POLL_S))
            elif self._watch.wait(min(remaining, WATCH_RECHECK_S)):
                settle_until = time.monotonic() + SETTLE_S

    def close(self) -> None:
        if self._watch is not None:
            self._watch.close()
        self._cursor.close()
        self._raw.close()


class _WalWatch:
    """An inotify watch for writes to one database's ``-wal`` file (Linux only)."""

    def __init__(self, fd: int, name: bytes) -> None:
        self._fd = fd
        self._name = name

    @classmethod
    def open(cls, db: Path) -> _WalWatch | None:
        """The watch, or None where inotify is not available (then the feed polls)."""
        if not sys.platform.startswith("linux"):
            return None
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
            fd = libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
            if fd < 0:
                return None
            directory = os.fsencode(db.resolve().parent)
            if libc.inotify_add_watch(fd, directory, _IN_MODIFY | _IN_CREATE | _IN_MOVED_TO) < 0:
                os.close(fd)
                return None
        except (OSError, AttributeError):
            return None
        return cls(fd, os.fsencode(db.name) + b"-wal")

    def wait(self, timeout: float) -> bool:
        """True as soon as the ``-wal`` file is written; False after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([self._fd], [], [], remaining)
            if ready and self._wal_written():
                return True
        return False

    def _wal_written(self) -> bool:
        try:
            data = os.read(self._fd, 64 * 1024)
        except BlockingIOError:
            return False
        found = False
        offset = 0
        while offset + _EVENT.size <= len(data):
            _wd, _mask, _cookie, length = _EVENT.unpack_from(data, offset)
            name = data[offset + _EVENT.size : offset + _EVENT.size + length].rstrip(b"\0")
            found = found or name == self._name
            offset += _EVENT.size + length
        return found

    def close(self) -> None:
        os.close(self._fd)
