"""The virtual thread list against an in-memory source: windowed paging, keys, refresh, failures."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC

import pytest
from textual.app import App, ComposeResult

from omnidesk.model import PageKey, ThreadSummary, Urgency
from omnidesk.widgets.thread_list import ListSource, ThreadList
from omnidesk.widgets.thread_row import RowStyles, display_name, row_segments
from tests.tui.rows import NOW, ambiguous, row

BIG = 100_000


class ListApp(App[None]):
    def __init__(self, source: ListSource, first_page: list[ThreadSummary] | None = None) -> None:
        super().__init__()
        self.source = source
        self.first_page = first_page
        self.at_mount: tuple[int, ThreadSummary | None, bool] | None = None
        self.highlights: list[int | None] = []
        self.selected: list[int] = []
        self.failures: list[BaseException] = []

    def compose(self) -> ComposeResult:
        yield ThreadList(clock=lambda: NOW)

    def on_mount(self) -> None:
        tl = self.query_one(ThreadList)
        tl.focus()
        tl.load(self.source, first_page=self.first_page)
        self.at_mount = (tl.row_count, tl.row(0), tl.total_known)

    def on_thread_list_highlighted(self, msg: ThreadList.Highlighted) -> None:
        self.highlights.append(msg.thread.id if msg.thread else None)

    def on_thread_list_selected(self, msg: ThreadList.Selected) -> None:
        self.selected.append(msg.thread.id)

    def on_thread_list_load_failed(self, msg: ThreadList.LoadFailed) -> None:
        self.failures.append(msg.error)


def line_text(tl: ThreadList, y: int) -> str:
    return "".join(seg.text for seg in tl.render_line(y))


async def settle(pilot, n: int = 3) -> None:
    for _ in range(n):
        await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


class Generated(ListSource):
    """``BIG`` rows made on demand (row i has id i), so a test does not build 100k objects."""

    def total(self) -> int:
        self.calls.append(("total", None))
        return BIG

    def page_after(self, after: PageKey | None, limit: int) -> list[ThreadSummary]:
        self.calls.append(("after", after))
        start = after.thread_id + 1 if after else 1
        return [row(i) for i in range(start, min(start + limit, BIG + 1))]

    def page_at(self, offset: int, limit: int) -> list[ThreadSummary]:
        self.calls.append(("at", offset))
        return [row(i) for i in range(offset + 1, min(offset + 1 + limit, BIG + 1))]


@pytest.fixture
def big() -> ListSource:
    return Generated([])


async def test_a_hundred_thousand_rows_load_one_page(big: ListSource) -> None:
    app = ListApp(big)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        tl = app.query_one(ThreadList)
        assert tl.row_count == BIG
        assert tl.virtual_size.height == BIG
        assert tl.cached_pages == 1
        assert big.calls == [("after", None), ("total", None)]  # the first page goes out before the count
        assert "Patient 1 " in line_text(tl, 0)


async def test_keys_move_the_cursor_and_enter_selects(big: ListSource) -> None:
    app = ListApp(big)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        tl = app.query_one(ThreadList)
        await pilot.press("j", "j", "down", "k")
        assert tl.cursor == 2
        assert tl.highlighted.id == 3
        await pilot.press("enter")
        await pilot.pause()
        assert app.selected == [3]
        await pilot.press("pagedown")
        assert tl.cursor > 20
        await pilot.press("home")
        assert tl.cursor == 0
        await pilot.press("up")
        assert tl.cursor == 0


async def test_end_jumps_by_offset_and_scrolling_down_pages_by_keyset(big: ListSource) -> None:
    app = ListApp(big)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        tl = app.query_one(ThreadList)
        await pilot.press("end")
        await settle(pilot)
        assert tl.cursor == BIG - 1
        assert tl.highlighted is not None and tl.highlighted.id == BIG
        size = ThreadList.PAGE_SIZE
        assert ("at", (BIG // size - 1) * size) in big.calls  # one far jump, one offset query
        assert tl.cached_pages <= 3
        await pilot.press("home")
        await settle(pilot)
        tl.move_to(size)
        for _ in range(10):  # walking down past the end of the first page
            await pilot.press("j")
        await settle(pilot)
        assert tl.highlighted.id == size + 11
        # The second page came from the first one's last key, not an offset.
        assert ("after", PageKey(False, row(size).last_message_at, size)) in big.calls


async def test_pinned_rows_sit_above_the_list() -> None:
    emergency = row(9000, urgency=Urgency.EMERGENCY, queue="emergency", patient_name="Ana Ruiz")
    source = ListSource([row(i) for i in range(1, 50)], extra=[emergency])
    app = ListApp(source)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        tl = app.query_one(ThreadList)
        assert tl.row_count == 50
        assert tl.highlighted.id == 9000
        assert line_text(tl, 0).startswith("!!")
        await pilot.press("j")
        assert tl.highlighted.id == 1


async def test_reload_keeps_the_highlighted_thread_when_new_rows_arrive_on_top() -> None:
    rows = [row(i) for i in range(1, 300)]
    source = ListSource(rows)
    app = ListApp(source)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        tl = app.query_one(ThreadList)
        for _ in range(5):
            await pilot.press("j")
        assert tl.highlighted.id == 6
        source.rows = [row(1001), row(1002), *rows]
        tl.reload()
        await settle(pilot)
        assert tl.row_count == 301
        assert tl.highlighted.id == 6
        assert tl.cursor == 7


async def test_a_failing_source_is_reported_not_fatal() -> None:
    class Broken(ListSource):
        def page_after(self, after: PageKey | None, limit: int) -> list[ThreadSummary]:
            raise RuntimeError("database went away")

    app = ListApp(Broken([row(1)]))
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        assert len(app.failures) == 1
        assert app.is_running
        assert "Could not load" in line_text(app.query_one(ThreadList), 0)


async def test_a_first_page_read_beforehand_is_drawn_at_once(big: ListSource) -> None:
    """``load(first_page=...)``: the rows are there before any worker ran; only the total is fetched."""
    first = big.page_after(None, ThreadList.PAGE_SIZE)
    big.calls.clear()

    app = ListApp(big, first_page=first)
    async with app.run_test(size=(120, 30)) as pilot:
        assert app.at_mount is not None
        count, top, known = app.at_mount
        assert count == ThreadList.PAGE_SIZE and top is first[0] and not known
        await settle(pilot)
        assert "Patient 1 " in line_text(app.query_one(ThreadList), 0)
        tl = app.query_one(ThreadList)
        assert tl.row_count == BIG and tl.total_known
        assert big.calls == [("total", None)]  # page 0 was not read again


async def test_a_short_list_is_not_counted() -> None:
    source = ListSource([row(i) for i in range(1, 8)])
    app = ListApp(source)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        tl = app.query_one(ThreadList)
        assert tl.row_count == 7 and tl.total_known
        assert source.calls == [("after", None)]


async def test_empty_list_says_so() -> None:
    app = ListApp(ListSource([]))
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        tl = app.query_one(ThreadList)
        assert "No open threads" in line_text(tl, 0)
        await pilot.press("j", "enter")
        assert app.selected == []


def _plain(t: ThreadSummary, width: int = 100) -> str:
    return "".join(s.text for s in row_segments(t, width, NOW, RowStyles()))


def test_row_is_exactly_as_wide_as_asked() -> None:
    from rich.cells import cell_len

    wide = row(1, patient_name="名前がとても長い患者さんの名前", preview="😀" * 80, after_hours=True)
    for width in (40, 79, 100, 160):
        assert cell_len(_plain(wide, width)) == width


def test_row_shows_markup_literally_and_flags() -> None:
    t = row(
        7,
        preview="[bold red]x[/] \x1b[31mred\x1b[0m",
        unread_count=2,
        after_hours=True,
        due_at=NOW.replace(hour=13),
        channels=("email", "sms", "voicemail"),
        intents=("refill", "billing"),
    )
    text = _plain(t, 140)
    assert "[bold red]x[/] red" in text and "\x1b" not in text
    assert "●" in text and "AH" in text and "late 2h" in text and "ESV" in text and "refill" in text
    assert text.rstrip().endswith("7m")


def test_row_names() -> None:
    assert display_name(ambiguous(3)) == "Unmatched (2 candidates)"
    assert display_name(row(4, patient_name=None, contact="a@b.org")) == "a@b.org"
    assert display_name(row(5, patient_name=None, contact=None)) == "Unknown sender"
    late = replace(row(6), urgency=Urgency.EMERGENCY)
    assert _plain(late).startswith("!!")
    acked = replace(late, emergency_ack_at=NOW, emergency_ack_by="Front Desk")
    assert _plain(acked).startswith(" ✓")


def test_a_closed_thread_is_not_late() -> None:
    from omnidesk.model import ThreadStatus

    overdue = row(8, due_at=NOW.replace(hour=10))
    assert "late 5h" in _plain(overdue, 140)
    closed = replace(overdue, status=ThreadStatus.CLOSED)
    assert "closed" in _plain(closed, 140) and "late" not in _plain(closed, 140)


def test_the_header_dates_an_acknowledgment_from_another_day() -> None:
    from datetime import timedelta

    from omnidesk.model import ThreadStatus
    from omnidesk.widgets.conversation import render_thread_header

    t = replace(row(9, due_at=NOW - timedelta(days=3)), urgency=Urgency.EMERGENCY, emergency_ack_by="Nurse")
    today = render_thread_header(replace(t, emergency_ack_at=NOW - timedelta(minutes=5)), UTC, NOW, {}).plain
    assert "acknowledged by Nurse at 14:55" in today and "late 3d" in today
    earlier = replace(t, emergency_ack_at=NOW - timedelta(days=3), status=ThreadStatus.CLOSED)
    text = render_thread_header(earlier, UTC, NOW, {}).plain
    assert "acknowledged by Nurse at Tue 11 Mar 15:00" in text
    assert "late" not in text  # closed: its old target no longer matters
