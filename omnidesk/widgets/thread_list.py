"""The inbox thread list: a virtual list that holds only the pages it has shown.

A ``ScrollView`` whose ``render_line`` draws row ``scroll_y + y`` from a small cache of
pages (toolong's ``LogLines`` is the model). Its virtual height is the thread total, so a
queue of 100,000 threads costs the same to open as one of ten. Pages come from a
:class:`ThreadSource` in a thread worker: keyset paging (``page_after``) from the page
before when it is cached, an offset (``page_at``) for far jumps. Nothing here knows about
the database; the screen hands in a source whose methods call the services.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar, Protocol

from rich.cells import set_cell_size
from rich.segment import Segment
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from omnidesk.model import INBOX_PAGE_SIZE, PageKey, ThreadSummary
from omnidesk.widgets.thread_row import RowStyles, row_segments


class ThreadSource(Protocol):
    """Where the list's rows come from. Called from worker threads, never from the UI thread."""

    def total(self) -> int:
        """How many rows the list has (not counting :meth:`pinned`)."""
        ...

    def pinned(self) -> list[ThreadSummary]:
        """Rows shown above the list itself (e.g. unacknowledged emergencies of other queues)."""
        ...

    def page_after(self, after: PageKey | None, limit: int) -> list[ThreadSummary]:
        """Up to ``limit`` rows following ``after`` in inbox order (keyset; None = from the top)."""
        ...

    def page_at(self, offset: int, limit: int) -> list[ThreadSummary]:
        """Up to ``limit`` rows starting at row ``offset``."""
        ...


@dataclass
class ListSource:
    """An in-memory :class:`ThreadSource` (tests, and anything that already holds its rows)."""

    rows: Sequence[ThreadSummary]
    extra: Sequence[ThreadSummary] = ()
    calls: list[tuple[str, object]] = field(default_factory=list)

    def total(self) -> int:
        self.calls.append(("total", None))
        return len(self.rows)

    def pinned(self) -> list[ThreadSummary]:
        return list(self.extra)

    def page_after(self, after: PageKey | None, limit: int) -> list[ThreadSummary]:
        self.calls.append(("after", after))
        start = 0
        if after is not None:
            start = next((i + 1 for i, r in enumerate(self.rows) if r.id == after.thread_id), len(self.rows))
        return list(self.rows[start : start + limit])

    def page_at(self, offset: int, limit: int) -> list[ThreadSummary]:
        self.calls.append(("at", offset))
        return list(self.rows[offset : offset + limit])


class ThreadList(ScrollView, can_focus=True, inherit_bindings=False):
    """The virtual, paged list of threads in one queue."""

    HELP_GROUP: ClassVar[str] = "Thread list"
    PAGE_SIZE: ClassVar[int] = INBOX_PAGE_SIZE
    MAX_PAGES: ClassVar[int] = 60

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j,down", "cursor_down", "Down", id="threads.down", tooltip="Highlight the next thread", show=False),
        Binding("k,up", "cursor_up", "Up", id="threads.up", tooltip="Highlight the previous thread", show=False),
        Binding("pagedown", "page_down", "Page down", id="threads.page-down", tooltip="Down one screen", show=False),
        Binding("pageup", "page_up", "Page up", id="threads.page-up", tooltip="Up one screen", show=False),
        Binding("home,g", "first", "First", id="threads.first", tooltip="Jump to the top of the list", show=False),
        Binding("end,G", "last", "Last", id="threads.last", tooltip="Jump to the bottom of the list", show=False),
        Binding("enter", "open", "Open", id="threads.open", tooltip="Open the highlighted thread"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "thread-list--cursor",
        "thread-list--cursor-blurred",
        "thread-list--placeholder",
        "thread-list--emergency",
        "thread-list--dim",
    }

    DEFAULT_CSS = """
    ThreadList { background: $surface; overflow-x: hidden; }
    ThreadList > .thread-list--cursor { background: $accent 60%; text-style: bold; }
    ThreadList > .thread-list--cursor-blurred { background: $panel-lighten-2; }
    ThreadList > .thread-list--placeholder { color: $text-muted; }
    ThreadList > .thread-list--emergency { color: $text; background: $error; text-style: bold; }
    ThreadList > .thread-list--dim { color: $text-muted; }
    """

    cursor: reactive[int] = reactive(0, always_update=True, init=False)

    class Highlighted(Message):
        """The cursor moved to ``thread`` (None while the row is still loading or the list is empty)."""

        def __init__(self, thread_list: ThreadList, thread: ThreadSummary | None, index: int) -> None:
            super().__init__()
            self.thread_list = thread_list
            self.thread = thread
            self.index = index

        @property
        def control(self) -> ThreadList:
            return self.thread_list

    class Selected(Message):
        """Enter on a loaded row: open ``thread``."""

        def __init__(self, thread_list: ThreadList, thread: ThreadSummary) -> None:
            super().__init__()
            self.thread_list = thread_list
            self.thread = thread

        @property
        def control(self) -> ThreadList:
            return self.thread_list

    class LoadFailed(Message):
        """A page could not be fetched; ``error`` is the exception (its message carries no PHI)."""

        def __init__(self, error: BaseException) -> None:
            super().__init__()
            self.error = error

    class Loaded(Message):
        """A (re)load finished: ``total`` rows plus ``pinned`` rows are known."""

        def __init__(self, thread_list: ThreadList, total: int, pinned: int) -> None:
            super().__init__()
            self.thread_list = thread_list
            self.total = total
            self.pinned = pinned

    class _Reset(Message):
        def __init__(
            self,
            gen: int,
            total: int,
            pinned: list[ThreadSummary],
            pages: dict[int, list[ThreadSummary]],
            *,
            exact: bool = True,
            keep_id: int | None = None,
        ) -> None:
            super().__init__()
            self.gen, self.total, self.pinned, self.pages = gen, total, pinned, pages
            self.exact, self.keep_id = exact, keep_id

    class _Total(Message):
        def __init__(self, gen: int, total: int) -> None:
            super().__init__()
            self.gen, self.total = gen, total

    class _Page(Message):
        def __init__(self, gen: int, page: int, rows: list[ThreadSummary]) -> None:
            super().__init__()
            self.gen, self.page, self.rows = gen, page, rows

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] | None = None,
        empty_text: str = "No open threads here.",
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.empty_text = empty_text
        self._source: ThreadSource | None = None
        self._gen = 0
        self._total = 0
        self._pinned: list[ThreadSummary] = []
        self._pages: OrderedDict[int, list[ThreadSummary]] = OrderedDict()
        self._pending: set[int] = set()
        self._wanted: set[int] = set()
        self._loading = False
        self._counting = False
        self._failed = False
        self.fetch_log: list[tuple[str, int]] = []  # ("after"|"at", page) per fetch, for tests and benchmarks

    # ----------------------------------------------------------------- data
    @property
    def row_count(self) -> int:
        """All rows: pinned ones first, then the source's."""
        return len(self._pinned) + self._total

    @property
    def total(self) -> int:
        """The source's rows (without the pinned rows from elsewhere)."""
        return self._total

    @property
    def is_loading(self) -> bool:
        """True until the first (re)load of the current source has arrived."""
        return self._loading

    @property
    def total_known(self) -> bool:
        """False while the list shows its first page and the total is still being counted."""
        return not (self._loading or self._counting)

    @property
    def cached_pages(self) -> int:
        return len(self._pages)

    def row(self, index: int) -> ThreadSummary | None:
        """The row at ``index`` if it is loaded, else None."""
        npin = len(self._pinned)
        if index < 0 or index >= self.row_count:
            return None
        if index < npin:
            return self._pinned[index]
        page, pos = divmod(index - npin, self.PAGE_SIZE)
        rows = self._pages.get(page)
        if rows is None or pos >= len(rows):
            return None
        return rows[pos]

    @property
    def highlighted(self) -> ThreadSummary | None:
        return self.row(self.cursor)

    def index_of(self, thread_id: int) -> int | None:
        """The row index of a loaded thread, or None when it is not in a cached page."""
        for i, t in enumerate(self._pinned):
            if t.id == thread_id:
                return i
        npin = len(self._pinned)
        for page, rows in self._pages.items():
            for pos, t in enumerate(rows):
                if t.id == thread_id:
                    return npin + page * self.PAGE_SIZE + pos
        return None

    def load(
        self,
        source: ThreadSource,
        *,
        keep_position: bool = False,
        first_page: list[ThreadSummary] | None = None,
    ) -> None:
        """Show ``source``. With ``keep_position`` (a refresh) the highlighted thread stays highlighted.

        ``first_page`` (the source's first page, already read) is shown at once, so the
        first frame has rows; the pinned rows and the total follow from a worker.
        """
        self._source = source
        self._gen += 1
        self._pending.clear()
        self._wanted.clear()
        self._loading = self._loading or not keep_position  # a refresh keeps showing what it has
        gen = self._gen
        keep_id: int | None = None
        first = 0
        if keep_position:
            current = self.highlighted
            keep_id = current.id if current is not None else None
            first = max(int(self.scroll_y) - len(self._pinned), 0) // self.PAGE_SIZE
        else:
            self._pages.clear()
            self._pinned = []
            self._total = 0
            self.cursor = 0
            self.scroll_to(y=0, animate=False, immediate=True)
            self._update_size()
            self.refresh()
        last = max(int(self.scroll_y) + max(self.size.height, 1) - len(self._pinned), 0) // self.PAGE_SIZE
        want = list(range(first, last + 1)) if keep_position else [0]

        size = self.PAGE_SIZE

        given = first_page if not keep_position else None
        if given is not None:
            self._apply_reset(gen, len(given), [], {0: given}, exact=len(given) < size)

        def fetch() -> None:
            try:
                if not keep_position:
                    # The first page goes out before the count: a short queue needs no count at
                    # all, and a long one shows its rows while the total is still being counted.
                    pinned = source.pinned()
                    rows = given if given is not None else source.page_after(None, size)
                    exact = len(rows) < size
                    if given is None or pinned:
                        self.post_message(self._Reset(gen, len(rows), pinned, {0: rows}, exact=exact))
                    if not exact:
                        self.post_message(self._Total(gen, source.total()))
                    return
                total = source.total()
                pinned = source.pinned()
                pages: dict[int, list[ThreadSummary]] = {}
                for page in want:
                    if page * size >= max(total, 1):
                        break
                    if page == 0:
                        pages[0] = source.page_after(None, size)
                    elif page - 1 in pages and pages[page - 1]:
                        pages[page] = source.page_after(pages[page - 1][-1].key, size)
                    else:
                        pages[page] = source.page_at(page * size, size)
            except Exception as exc:
                self.post_message(self.LoadFailed(exc))
                return
            self.post_message(self._Reset(gen, total, pinned, pages, keep_id=keep_id))

        self.run_worker(fetch, thread=True, group="thread-list-load", exclusive=True, exit_on_error=False)

    def reload(self) -> None:
        """Fetch the total and the visible window again, keeping the highlighted thread."""
        if self._source is not None:
            self.load(self._source, keep_position=True)

    def _on_thread_list__reset(self, msg: _Reset) -> None:
        msg.stop()
        self._apply_reset(msg.gen, msg.total, msg.pinned, msg.pages, exact=msg.exact, keep_id=msg.keep_id)

    def _apply_reset(
        self,
        gen: int,
        total: int,
        pinned: list[ThreadSummary],
        pages: dict[int, list[ThreadSummary]],
        *,
        exact: bool,
        keep_id: int | None = None,
    ) -> None:
        if gen != self._gen:
            return
        old_cursor = self.cursor
        self._loading = self._failed = False
        self._counting = not exact
        self._total = total
        self._pinned = list(pinned)
        self._pages.clear()
        self._pages.update(sorted(pages.items()))
        self._update_size()
        new_cursor = old_cursor
        if keep_id is not None:
            found = self.index_of(keep_id)
            if found is not None:
                new_cursor = found
                delta = found - old_cursor
                if delta and self.scroll_y > 0:
                    self.scroll_to(y=self.scroll_y + delta, animate=False, immediate=True)
        self.cursor = min(new_cursor, max(self.row_count - 1, 0))
        self.refresh()
        self.post_message(self.Loaded(self, self._total, len(self._pinned)))

    def on_thread_list_load_failed(self, msg: LoadFailed) -> None:
        # Not stopped: the app shows the error. The list stops saying "Loading…".
        self._loading = self._counting = False
        self._failed = True
        self.refresh()

    def _on_thread_list__total(self, msg: _Total) -> None:
        msg.stop()
        if msg.gen != self._gen:
            return
        self._counting = False
        self._total = msg.total
        self._update_size()
        self.refresh()
        self.post_message(self.Loaded(self, self._total, len(self._pinned)))

    def _on_thread_list__page(self, msg: _Page) -> None:
        msg.stop()
        self._pending.discard(msg.page)
        if msg.gen != self._gen:
            return
        self._pages[msg.page] = msg.rows
        self._evict()
        self.refresh()
        if self.row(self.cursor) is not None and self._page_of(self.cursor) == msg.page:
            self._post_highlight()

    def _page_of(self, index: int) -> int | None:
        npin = len(self._pinned)
        return None if index < npin else (index - npin) // self.PAGE_SIZE

    def _evict(self) -> None:
        keep = {self._page_of(self.cursor)}
        top = int(self.scroll_y)
        keep.update(self._page_of(i) for i in (top, top + self.size.height))
        while len(self._pages) > self.MAX_PAGES:
            victim = next((p for p in self._pages if p not in keep), None)
            if victim is None:
                break
            del self._pages[victim]

    def _want_page(self, page: int) -> None:
        if page in self._pending or page in self._pages or self._source is None or self._loading:
            return
        self._wanted.add(page)
        if len(self._wanted) == 1:
            self.call_later(self._fetch_wanted)

    def _fetch_wanted(self) -> None:
        wanted, self._wanted = sorted(self._wanted), set()
        for page in wanted:
            if page not in self._pending and page not in self._pages:
                self._fetch_page(page)

    def _fetch_page(self, page: int) -> None:
        source, gen, size = self._source, self._gen, self.PAGE_SIZE
        if source is None:
            return
        self._pending.add(page)
        prev = self._pages.get(page - 1)
        after = prev[-1].key if page > 0 and prev and len(prev) == size else None
        how = "after" if page == 0 or after is not None else "at"
        self.fetch_log.append((how, page))

        def fetch() -> None:
            try:
                rows = source.page_after(after, size) if how == "after" else source.page_at(page * size, size)
            except Exception as exc:
                self.post_message(self.LoadFailed(exc))
                return
            self.post_message(self._Page(gen, page, rows))

        self.run_worker(fetch, thread=True, group="thread-list-page", exit_on_error=False)

    def _update_size(self) -> None:
        self.virtual_size = Size(self.scrollable_content_region.width or 1, self.row_count)

    def on_resize(self) -> None:
        self._update_size()

    # --------------------------------------------------------------- cursor
    def watch_cursor(self, old: int, new: int) -> None:
        if self.row_count == 0:
            return
        self.refresh_line(old)
        self.refresh_line(new)
        self._scroll_cursor_into_view()
        # Prefetch the next page when the cursor nears the end of the one it is on.
        page = self._page_of(new)
        near_end = (new - len(self._pinned)) % self.PAGE_SIZE > self.PAGE_SIZE - 25
        if page is not None and near_end and (page + 1) * self.PAGE_SIZE < self._total:
            self._want_page(page + 1)
        self._post_highlight()

    def _post_highlight(self) -> None:
        self.post_message(self.Highlighted(self, self.row(self.cursor), self.cursor))

    def _scroll_cursor_into_view(self) -> None:
        height = max(self.scrollable_content_region.height, 1)
        top = int(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)

    def move_to(self, index: int) -> None:
        """Put the cursor on row ``index`` (clamped)."""
        if self.row_count:
            self.cursor = min(max(index, 0), self.row_count - 1)

    def action_cursor_down(self) -> None:
        self.move_to(self.cursor + 1)

    def action_cursor_up(self) -> None:
        self.move_to(self.cursor - 1)

    def action_page_down(self) -> None:
        self.move_to(self.cursor + max(self.scrollable_content_region.height - 1, 1))

    def action_page_up(self) -> None:
        self.move_to(self.cursor - max(self.scrollable_content_region.height - 1, 1))

    def action_first(self) -> None:
        self.move_to(0)

    def action_last(self) -> None:
        self.move_to(self.row_count - 1)

    def action_open(self) -> None:
        thread = self.highlighted
        if thread is not None:
            self.post_message(self.Selected(self, thread))

    def on_click(self, event) -> None:
        index = int(self.scroll_y) + event.y
        if 0 <= index < self.row_count:
            if index == self.cursor and event.chain > 1:
                self.action_open()
            self.cursor = index

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    # ------------------------------------------------------------ rendering
    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width or self.size.width
        index = int(self.scroll_y) + y
        base = self.rich_style
        if self.row_count == 0:
            if y == 0:
                text = "Loading…" if self._loading else self.empty_text
                if self._failed:
                    text = "Could not load the threads (refresh to try again)."
                style = base + self.get_component_rich_style("thread-list--placeholder")
                return Strip([Segment(set_cell_size(f" {text}", width), style)], width)
            return Strip.blank(width, base)
        if index >= self.row_count:
            return Strip.blank(width, base)
        thread = self.row(index)
        if thread is None:
            page = self._page_of(index)
            if page is not None:
                self._want_page(page)
            style = base + self.get_component_rich_style("thread-list--placeholder")
            return Strip([Segment(set_cell_size("   …", width), style)], width)
        cursor = None
        if index == self.cursor:
            cursor = self.get_component_rich_style(
                "thread-list--cursor" if self.has_focus else "thread-list--cursor-blurred"
            )
        styles = RowStyles(
            base=base,
            dim=self.get_component_rich_style("thread-list--dim"),
            emergency=self.get_component_rich_style("thread-list--emergency"),
            cursor=cursor,
        )
        return Strip(row_segments(thread, width, self.clock(), styles), width)
