"""The console: wires the services (through :class:`~omnidesk.screens.backend.Backend`) to the screens.

The app owns what spans screens: opening the store, the emergency watch (banner on every
screen, the bell for a new emergency, a 1 s tick only while one waits), acknowledging,
the live sync loop (a worker that reschedules itself with ``set_timer``), following other
writers (another workstation, the ingest process: a worker blocked on the store's change feed
reloads what is shown when one commits), and turning a failed service call into a
notification instead of a crash.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from contextlib import suppress
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input
from textual.worker import get_current_worker

from omnidesk.model import ThreadDetail, ThreadSummary
from omnidesk.screens.backend import Backend
from omnidesk.screens.inbox import InboxScreen
from omnidesk.screens.messages import (
    Acknowledged,
    ContextReady,
    EmergenciesLoaded,
    NewMessages,
    ServiceFailed,
    error_text,
    run_service,
)
from omnidesk.widgets.banner import EmergencyBanner
from omnidesk.widgets.formatting import DEFAULT_QUEUE_LABELS, emergency_start
from omnidesk.widgets.queue_list import QueueList
from omnidesk.widgets.thread_list import ThreadList

if TYPE_CHECKING:
    from textual.command import Provider

LIVE_INTERVAL_S = 3.0
LIVE_MAX_BACKOFF_S = 60.0
AGE_REFRESH_S = 60.0
FEED_WAIT_S = 0.25  # the change feed's longest block: how soon the worker notices the app is closing
FEED_MAX_BACKOFF_S = 60.0
# Another workstation's change reloads counts, list and emergencies in three workers; the screen
# is held until all three are in (one frame, not three), for at most this long.
FRAME_HOLD_S = 0.15
_FRAME_PARTS = frozenset({"counts", "list", "emergencies"})


class _StoreChanged(Message):
    """Another connection committed a change to the inbox (bursts merge into one reload)."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, _StoreChanged)


class _SyncFinished(Message):
    def __init__(self, ok: bool) -> None:
        super().__init__()
        self.ok = ok


def _commands() -> type[Provider]:
    """The command-palette provider, imported when the palette first opens (fast launch)."""
    from omnidesk.screens.commands import OmnideskCommands

    return OmnideskCommands


class OmnideskApp(App[None]):
    """The omnidesk console. ``ctx_factory`` opens the store (in a worker, off the UI thread, or
    before the console runs: :meth:`preload`)."""

    TITLE = "omnidesk"
    CSS_PATH = str(Path(__file__).with_name("app.tcss"))
    HELP_GROUP: ClassVar[str] = "Everywhere"
    COMMANDS = App.COMMANDS | {_commands}

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "leave", "Quit", id="app.quit", tooltip="Leave omnidesk"),
        Binding("question_mark", "help", "Help", id="app.help", tooltip="List every key"),
        Binding("a", "acknowledge", "Acknowledge", id="app.acknowledge", tooltip="Acknowledge the waiting emergency"),
    ]
    # Single-letter keys that would type into a text box: hidden from the footer (and off) there.
    _LETTER_ACTIONS: ClassVar[frozenset[str]] = frozenset({"leave", "help", "acknowledge"})

    def __init__(
        self,
        ctx_factory: Callable[[], Any],
        *,
        live: bool = False,
        live_source: Any = None,
        clock: Callable[[], datetime] | None = None,
        tz: tzinfo | None = None,
        live_interval: float = LIVE_INTERVAL_S,
        follow_changes: bool = True,
        keymap: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.ctx_factory = ctx_factory
        self.live = live
        self.live_source = live_source
        self.live_interval = live_interval
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.tz: tzinfo | None = tz
        self.backend: Backend | None = None
        self.queue_labels: dict[str, str] = dict(DEFAULT_QUEUE_LABELS)
        self.emergencies: list[ThreadSummary] = []
        self._known_emergencies: set[int] | None = None
        self._tick: Timer | None = None
        self._sync_delay = live_interval
        self._sync_failing = False
        self._held: set[str] | None = None  # parts of a held frame still loading (see FRAME_HOLD_S)
        self._hold_timer: Timer | None = None
        self.follow_changes = follow_changes
        self._initial_keymap = dict(keymap or {})
        self._preload_error: Exception | None = None
        self._open_pending = False  # a backend made before the store was open (preload_page)
        self._opening = False
        self.inbox = InboxScreen()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self._LETTER_ACTIONS and isinstance(self.focused, Input):
            return False
        if action == "acknowledge":  # in the footer only while an emergency waits
            return bool(self.emergencies)
        return True

    def action_leave(self) -> None:
        """``q``: quit (``ctrl+q`` quits from anywhere, even while typing)."""
        self.exit()

    # ------------------------------------------------------------ startup
    def preload(self) -> None:
        """Open the store and read the first page now, before :meth:`run` (the command line calls it).

        Python runs one thread at a time, so reading the first page in a worker while the
        screen is built gains nothing at launch; read before, the very first frame shows
        the rows instead of "Loading…" and a second paint. A failure is reported inside
        the console once it runs, as it would be from the worker.
        """
        if self.backend is not None:
            return
        try:
            ctx = self.ctx_factory()
        except Exception as exc:
            self._preload_error = exc
            return
        backend = self.make_backend(ctx)
        with suppress(Exception):  # if it fails, the list's own load reports it
            backend.prefetch(self.inbox.queue, ThreadList.PAGE_SIZE)
        self.backend = backend

    def preload_page(self, rows: list[ThreadSummary], limit: int) -> None:
        """The inbox's first page, read before the store is open in this process (by a helper
        process, see ``omnidesk.services.prefetch``): the first frame shows it, and the store
        opens in a worker once that frame is up. ``limit`` is the page size it was read with."""
        if self.backend is not None or limit != ThreadList.PAGE_SIZE:
            return
        backend = self.make_backend(None)
        backend.put_prefetched(self.inbox.queue, limit, list(rows))
        self.backend = backend
        self._open_pending = True

    def on_mount(self) -> None:
        if self._initial_keymap:
            self.set_keymap(self._initial_keymap)
        self.push_screen(self.inbox)
        if self._preload_error is not None:
            self.post_message(ServiceFailed("opening the store", self._preload_error))
        elif self.backend is not None:  # (with a pending store, the inbox opens it after its first frame)
            self.post_message(ContextReady())
        else:
            self._open_store()
        self.set_interval(AGE_REFRESH_S, self._refresh_ages)

    def open_pending_store(self) -> None:
        """Open the store behind a backend made before it was (see :meth:`preload_page`), once."""
        if self._open_pending and not self._opening:
            self._opening = True
            self._open_store()

    @work(thread=True, group="open", exit_on_error=False)
    def _open_store(self) -> None:
        pending = self.backend if self._open_pending else None
        try:
            ctx = self.ctx_factory()
        except Exception as exc:
            if pending is not None:
                pending.open_failed(exc)
            self.post_message(ServiceFailed("opening the store", exc))
            return
        if pending is not None:
            pending.opened(ctx)
            return
        backend = self.make_backend(ctx)
        # Fast launch: the first page is read here, in parallel with building the screen.
        with suppress(Exception):  # if it fails, the list's own load reports it
            backend.prefetch(self.inbox.queue, ThreadList.PAGE_SIZE)
        self.backend = backend
        self.post_message(ContextReady())

    def apply_practice(self, tz: tzinfo | None, labels: dict[str, str]) -> None:
        """Use the practice's time zone and queue labels (known once a thread is first opened)."""
        self.tz = tz
        self.queue_labels.update(labels)
        self.inbox.apply_practice(tz, self.queue_labels)
        self._update_banners()

    def make_backend(self, ctx: Any) -> Backend:
        """The console's service gateway for ``ctx`` (None: not open yet; tests may substitute one)."""
        return Backend(ctx, clock=self.clock, live_source=self.live_source, tz=self.tz)

    @on(ContextReady)
    def _context_ready(self) -> None:
        if self.inbox.is_mounted:  # else the screen starts itself when it mounts
            self.inbox.start()  # then counts and emergencies, once the first rows are shown
        if self.live:
            self._schedule_sync()
        if self.follow_changes:
            self._follow_changes()

    # ----------------------------------------------------------- refresh
    def refresh_all(self) -> None:
        """Counts, emergencies and the visible window of the list, keeping the cursor."""
        self.inbox.refresh_data()
        self.refresh_emergencies()

    def refresh_emergencies(self) -> None:
        if self.backend is not None:
            run_service(self, self.backend.emergencies, EmergenciesLoaded, what="checking emergencies", group="emerg")

    def _refresh_ages(self) -> None:
        for screen in self.screen_stack:
            for widget in screen.query(ThreadList):
                widget.refresh()

    @on(NewMessages)
    def _new_messages(self, msg: NewMessages) -> None:
        self.refresh_all()

    # --------------------------------------------------------- emergency
    @on(EmergenciesLoaded)
    def _emergencies_loaded(self, msg: EmergenciesLoaded) -> None:
        ids = {t.id for t in msg.threads}
        new = ids - (self._known_emergencies or set())
        self._known_emergencies = ids
        had = bool(self.emergencies)
        self.emergencies = msg.threads
        if new:
            self.bell()
        if bool(msg.threads) != had:  # the footer shows the acknowledge key only while one waits
            self.refresh_bindings()  # (it rebuilds the footer: not on every reload)
        if msg.threads and self._tick is None:
            self._tick = self.set_interval(1.0, self._update_banners)
        elif not msg.threads and self._tick is not None:
            self._tick.stop()
            self._tick = None
        self._update_banners()
        self.part_loaded("emergencies")

    def acknowledge_key(self) -> str:
        keys = self._keymap.get("app.acknowledge")
        return self.get_key_display(Binding(keys.split(",")[0], "")) if keys else "a"

    def refresh_banners(self) -> None:
        """Redraw the emergency banner on every screen (e.g. after new counts)."""
        self._update_banners()

    def _update_banners(self) -> None:
        now = self.clock()
        key = self.acknowledge_key()
        queues = self.inbox.query(QueueList)  # none while the console starts or shuts down
        total = queues.first().unacknowledged if queues else None
        target = self._ack_target()
        for screen in self.screen_stack:
            for banner in screen.query(EmergencyBanner):
                banner.show(
                    self.emergencies,
                    now,
                    self.queue_labels,
                    key,
                    total if self.emergencies else 0,
                    target.id if target is not None else None,
                )

    def note_detail(self, detail: ThreadDetail) -> None:
        """An opened thread: the banner follows it when it is a waiting emergency."""
        self.call_after_refresh(self._update_banners)

    def action_acknowledge(self) -> None:
        """Acknowledge the open thread if it is a waiting emergency, else the banner's (the oldest); then show it."""
        if self.backend is None:
            return
        target = self._ack_target()
        if target is None:
            self.notify("No emergency is waiting.", timeout=3)
            return
        backend, thread_id = self.backend, target.id
        run_service(self, lambda: backend.acknowledge(thread_id), Acknowledged, what="acknowledging", group="ack")

    def _ack_target(self) -> ThreadSummary | None:
        # Not the highlighted row: the cursor rests on the top row without anyone choosing it,
        # and the banner names the thread the key acts on.
        current = self.inbox.current
        if current is not None and current.summary.id in {t.id for t in self.emergencies}:
            return current.summary
        if self.emergencies:
            return min(self.emergencies, key=lambda t: (emergency_start(t), t.id))
        return None

    @on(Acknowledged)
    def _acknowledged(self, msg: Acknowledged) -> None:
        summary = msg.summary
        label = self.queue_labels.get(summary.queue, summary.queue)
        self.notify(f"Emergency acknowledged ({label}, thread #{summary.id}).", timeout=4)
        self.emergencies = [t for t in self.emergencies if t.id != summary.id]
        self.refresh_bindings()
        self._update_banners()
        self.refresh_all()
        if self.inbox.current is not None and self.inbox.current.summary.id == summary.id:
            self.inbox.update_summary(summary)
        else:
            self.inbox.open_thread(summary.id)

    # --------------------------------------------------------------- live
    def _schedule_sync(self) -> None:
        self.set_timer(self._sync_delay, self._sync)

    @work(thread=True, group="sync", exclusive=True, exit_on_error=False)
    def _sync(self) -> None:
        backend = self.backend
        if backend is None:
            return
        ok = True
        try:
            new = backend.sync_once()
            if new:
                self.post_message(NewMessages(new))
        except Exception as exc:
            ok = False
            if not self._sync_failing:
                self.post_message(ServiceFailed("receiving new messages", exc))
        self.post_message(_SyncFinished(ok))

    @work(thread=True, group="feed", exclusive=True, exit_on_error=False)
    def _follow_changes(self) -> None:
        """Block on the store's change feed; post a reload for every commit by another connection.

        A feed that fails (database gone, PostgreSQL restarting) is reported once, reopened with
        a growing delay, and followed by one reload: changes made meanwhile were not announced.
        """
        worker = get_current_worker()
        delay = 1.0
        failing = False
        while not worker.is_cancelled:
            backend = self.backend
            try:
                if backend is None:
                    raise RuntimeError("the store is not open")
                feed = backend.change_feed()
                try:
                    if failing:
                        failing, delay = False, 1.0
                        self.post_message(_StoreChanged())
                    while not worker.is_cancelled:
                        if feed.wait(FEED_WAIT_S):
                            self.post_message(_StoreChanged())
                finally:
                    feed.close()
            except Exception as exc:
                if not failing:
                    failing = True
                    self.post_message(ServiceFailed("following other workstations' changes", exc))
                end = time.monotonic() + delay
                while not worker.is_cancelled and time.monotonic() < end:
                    time.sleep(FEED_WAIT_S)
                delay = min(delay * 2, FEED_MAX_BACKOFF_S)

    @on(_StoreChanged)
    def _store_changed(self) -> None:
        if self._held is None:
            self._begin_batch()
            self._held = set(_FRAME_PARTS)
            self._hold_timer = self.set_timer(FRAME_HOLD_S, self._release_frame)
        self.refresh_all()

    def part_loaded(self, part: str) -> None:
        """One of a held frame's reloads ("counts", "list", "emergencies") is on screen: paint once all are."""
        if self._held is not None:
            self._held.discard(part)
            if not self._held:
                self._release_frame()

    def _release_frame(self) -> None:
        if self._held is not None:
            self._held = None
            if self._hold_timer is not None:
                self._hold_timer.stop()
                self._hold_timer = None
            self._end_batch()

    @on(_SyncFinished)
    def _sync_finished(self, msg: _SyncFinished) -> None:
        self._sync_failing = not msg.ok
        self._sync_delay = self.live_interval if msg.ok else min(self._sync_delay * 2, LIVE_MAX_BACKOFF_S)
        self._schedule_sync()

    # ------------------------------------------------------------ errors
    @on(ServiceFailed)
    def _service_failed(self, msg: ServiceFailed) -> None:
        message, hint = error_text(msg.error)
        self.notify(f"{message}\n{hint}" if hint else message, title=f"Problem {msg.what}", severity="error")
        if msg.what == "acknowledging":  # e.g. someone else acknowledged it first: show the truth
            self.refresh_all()

    @on(ThreadList.LoadFailed)
    def _list_failed(self, msg: ThreadList.LoadFailed) -> None:
        message, hint = error_text(msg.error)
        self.notify(f"{message}\n{hint}" if hint else message, title="Problem loading threads", severity="error")

    # ----------------------------------------------------------- actions
    def action_help(self) -> None:
        from omnidesk.screens.help import HelpScreen, KeyHelp, collect_bindings, help_nodes, screen_keys
        from omnidesk.screens.search import SearchScreen

        if isinstance(self.screen, HelpScreen):
            self.screen.dismiss(None)
            return
        entries = collect_bindings(self, help_nodes(self, self.screen))
        if not isinstance(self.screen, SearchScreen):  # its keys, before it is open
            enter = self.get_key_display(Binding("enter", ""))
            what = "Search now; on a result, open its thread"
            entries.append(KeyHelp("Search", (enter,), "Search / open", what, None))
            entries.extend(screen_keys(self, SearchScreen))
        entries.extend(screen_keys(self, HelpScreen))
        self.push_screen(HelpScreen(entries))
        self.call_later(self._update_banners)

    def action_search(self) -> None:
        from omnidesk.screens.search import SearchScreen

        if isinstance(self.screen, SearchScreen):
            return

        def opened(thread_id: int | None) -> None:
            if thread_id is not None:
                self.inbox.open_thread(thread_id)

        self.push_screen(SearchScreen(), opened)
        self.call_later(self._update_banners)

    def action_why(self) -> None:
        self.inbox.action_why()

    def queue_choices(self) -> list[tuple[str, str]]:
        """(queue key, label) for every queue in the list."""
        if not self.inbox.is_mounted:
            return list(DEFAULT_QUEUE_LABELS.items())
        queues = self.inbox.query_one(QueueList)
        return [(q, queues.labels.get(q, q)) for q in queues.queues]

    def go_to_queue(self, queue: str) -> None:
        while self.screen is not self.inbox and len(self.screen_stack) > 1:
            self.pop_screen()
        self.inbox.select_queue(queue)
