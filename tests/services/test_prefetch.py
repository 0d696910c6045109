"""The first page read by a forked helper while the console loads (launch time)."""

from __future__ import annotations

import os

import pytest

from omnidesk.model import ThreadStatus
from omnidesk.services import inbox
from omnidesk.services.prefetch import ENV_OFF, start_first_page
from omnidesk.services.setup import init_store, open_context
from omnidesk.store.engine import sqlite_url
from tests.tui.conftest import seed

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return sqlite_url(seed(tmp_path_factory.mktemp("prefetch"), None))


def test_the_child_reads_the_same_first_page(url: str) -> None:
    ctx = open_context(url)
    try:
        expected = inbox.thread_page(ctx, queue=None, status=ThreadStatus.OPEN, limit=100)
    finally:
        ctx.engine.dispose()
    pending = start_first_page(url, None, limit=100)
    rows = pending.result()
    assert rows == expected and rows  # the same summaries, candidates and all
    assert rows[0].pinned
    assert pending.pid is None and pending.fd is None  # reaped and closed


def test_any_problem_means_none_so_the_caller_reports_it_its_way(url: str, tmp_path) -> None:
    assert start_first_page(sqlite_url(tmp_path / "missing.db"), None, limit=100).result() is None
    assert start_first_page(url, "nobody", limit=100).result() is None
    empty = init_store(sqlite_url(tmp_path / "empty.db"))
    assert start_first_page(empty, None, limit=100).result() == []


def test_it_can_be_switched_off(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_OFF, "1")
    pending = start_first_page(url, None, limit=100)
    assert pending.pid is None and pending.result() is None


def test_a_slow_child_is_not_waited_for(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    import omnidesk.services.prefetch as prefetch

    real = prefetch._read_first_page

    def slow(*args, **kw):
        time.sleep(30)
        return real(*args, **kw)

    monkeypatch.setattr(prefetch, "_read_first_page", slow)
    pending = start_first_page(url, None, limit=100)
    pid = pending.pid
    started = time.monotonic()
    assert pending.result(timeout=0.5) is None
    assert time.monotonic() - started < 5
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # ended and reaped, not left behind
