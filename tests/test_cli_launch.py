"""`omnidesk` launch: the first page read by the prefetch helper is the one the console keeps."""

from __future__ import annotations

from pathlib import Path

import pytest

from omnidesk import cli
from omnidesk.services.setup import init_store
from omnidesk.store.engine import sqlite_url


def test_the_prefetched_first_page_is_used_not_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from omnidesk.app import OmnideskApp

    url = init_store(sqlite_url(tmp_path / "omnidesk.db"))
    seen: list[OmnideskApp] = []

    def fake_run(self: OmnideskApp, *a: object, **kw: object) -> None:
        seen.append(self)

    monkeypatch.setattr(OmnideskApp, "run", fake_run)
    monkeypatch.delenv("OMNIDESK_NO_PREFETCH", raising=False)
    assert cli.main(["--db", url]) == 0
    [app] = seen
    # preload_page ignores a page of another size; then the helper process was wasted work.
    assert app.backend is not None and app._open_pending
