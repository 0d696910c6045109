"""The inbox's first page, read by a second process while the console loads.

Launch time is mostly imports: SQLAlchemy (~0.25 s of CPU) to read the store and Textual
(~0.2 s) to draw. Python runs one thread at a time, so a worker thread cannot overlap
them; a forked child can. :func:`start_first_page` forks before either is imported: the
child opens the store, reads the first page and sends it back through a pipe, while the
parent imports the console. The console draws those rows in its first frame and opens
the store itself in a worker once that frame is up.

The child's answer is only ever rows. If anything goes wrong there (no ``fork`` on this
platform, a missing database, a bad user, a crash, a timeout), :meth:`PendingPage.result`
returns None and the caller opens the store the ordinary way, which reports the problem
with its usual message. The rows stay in memory: nothing is written anywhere.

This module imports nothing heavy (the stdlib-only domain types, which both processes need).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import time
from typing import TYPE_CHECKING

# Both processes need the domain types (stdlib only): imported once, before the fork.
from omnidesk.model import ThreadStatus

if TYPE_CHECKING:
    from omnidesk.model import ThreadSummary

ENV_OFF = "OMNIDESK_NO_PREFETCH"  # set to 1 to read the first page in-process (debugging)
WAIT_S = 10.0


class PendingPage:
    """The child's answer, to collect once: :meth:`result`."""

    def __init__(self, pid: int | None, fd: int | None, limit: int) -> None:
        self.pid, self.fd, self.limit = pid, fd, limit

    def result(self, timeout: float = WAIT_S) -> list[ThreadSummary] | None:
        """The first page (up to ``limit`` rows, inbox order), or None when the child had none to give."""
        if self.pid is None or self.fd is None:
            return None
        chunks: list[bytes] = []
        deadline = time.monotonic() + timeout
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                    return None  # too slow (a locked or far database): the caller's way reports it
                chunk = os.read(self.fd, 1 << 16)
                if not chunk:
                    break
                chunks.append(chunk)
            # Unpickling is safe here: the bytes come from our own child over a private pipe.
            answer = pickle.loads(b"".join(chunks)) if chunks else None
        except Exception:
            return None
        finally:
            self.close()
        return answer if isinstance(answer, list) else None

    def close(self) -> None:
        """Stop waiting: close the pipe and reap the child (ending it if it is still at work)."""
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None
        if self.pid is not None:
            with contextlib.suppress(OSError, ChildProcessError):
                done, _ = os.waitpid(self.pid, os.WNOHANG)
                if not done:
                    os.kill(self.pid, signal.SIGKILL)
                    os.waitpid(self.pid, 0)
            self.pid = None


def start_first_page(url: str | None, username: str | None, *, limit: int) -> PendingPage:
    """Fork a child that reads the first ``limit`` rows of the whole inbox (open threads).

    Call it before SQLAlchemy or Textual is imported and before any thread is started.
    """
    if not hasattr(os, "fork") or os.environ.get(ENV_OFF) == "1":
        return PendingPage(None, None, limit)
    read_fd, write_fd = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_fd)
        os.close(write_fd)
        return PendingPage(None, None, limit)
    if pid == 0:  # the child: never returns
        os.close(read_fd)
        _child(write_fd, url, username, limit)
    os.close(write_fd)
    return PendingPage(pid, read_fd, limit)


def _child(fd: int, url: str | None, username: str | None, limit: int) -> None:
    status = 1
    try:
        devnull = os.open(os.devnull, os.O_RDWR)
        for std in (0, 1, 2):  # never touch the console's terminal
            os.dup2(devnull, std)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        rows = _read_first_page(url, username, limit)
        data = pickle.dumps(rows, protocol=pickle.HIGHEST_PROTOCOL)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        status = 0
    except BaseException:
        pass  # the parent falls back to its own way, which reports the problem
    finally:
        os._exit(status)


def _read_first_page(url: str | None, username: str | None, limit: int) -> list[ThreadSummary]:
    from omnidesk.services import inbox
    from omnidesk.services.setup import open_context

    ctx = open_context(url, username)
    try:
        return inbox.thread_page(ctx, queue=None, status=ThreadStatus.OPEN, after=None, limit=limit)
    finally:
        ctx.engine.dispose()
