"""The inbox: queues on the left, the thread list in the middle, the conversation and patient on the right."""

from __future__ import annotations

import dataclasses
from datetime import tzinfo
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

from omnidesk.model import ThreadDetail, ThreadSummary
from omnidesk.screens.messages import CountsLoaded, ThreadOpened, run_service
from omnidesk.widgets.banner import EmergencyBanner
from omnidesk.widgets.conversation import Conversation
from omnidesk.widgets.formatting import ALL_QUEUES, queue_label
from omnidesk.widgets.patient_card import PatientCardView
from omnidesk.widgets.queue_list import QueueList
from omnidesk.widgets.thread_list import ThreadList


class InboxScreen(Screen[None]):
    """The main screen. It asks the services (through the app's backend) and shows the answers."""

    HELP_GROUP: ClassVar[str] = "Inbox"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "next_pane", "Next pane", id="inbox.next-pane", tooltip="Move to the next pane", show=False),
        Binding(
            "shift+tab", "prev_pane", "Prev pane", id="inbox.prev-pane", tooltip="Move to the previous pane", show=False
        ),
        Binding("slash", "search", "Search", id="inbox.search", key_display="/", tooltip="Search every message"),
        Binding("w", "why", "Why", id="inbox.why", tooltip="Show or hide which rule set each tag"),
        Binding("r", "refresh", "Refresh", id="inbox.refresh", tooltip="Reload counts and the list", show=False),
        Binding(
            "escape",
            "back",
            "Back",
            id="inbox.back",
            tooltip="Back one step: to the thread list, then close the open thread, then to the queues",
        ),
    ]

    AUTO_FOCUS = "ThreadList"

    def __init__(self) -> None:
        super().__init__(id="inbox")
        self.queue = ALL_QUEUES
        self.current: ThreadDetail | None = None
        self._practice_applied = False
        self._loading_started = False
        self._started = False

    @property
    def omni(self) -> Any:
        """The running ``OmnideskApp`` (typed loosely: screens sit below the app layer)."""
        return self.app

    def compose(self) -> ComposeResult:
        yield EmergencyBanner(id="banner")
        with Horizontal(id="panes"):
            yield QueueList(id="queues")
            with Vertical(id="middle"):
                yield Static(queue_label(None), id="list-title")
                yield ThreadList(clock=self.omni.clock, id="threads")
            with Vertical(id="right"):
                yield PatientCardView(id="patient")
                yield Conversation(clock=self.omni.clock, id="conversation")
        yield Footer()

    def on_resize(self) -> None:
        self.set_class(self.size.width < 130, "-narrow")
        self.set_class(self.size.width < 100, "-tight")

    # ------------------------------------------------------------- loading
    def on_mount(self) -> None:
        if self.omni.backend is not None:  # opened before the console started: rows in the first frame
            self.start()

    def start(self) -> None:
        """The store is open: load counts and the list (called once, by the app or on mount)."""
        backend = self.omni.backend
        if backend is None or self._loading_started:
            return
        self._loading_started = True
        self.apply_practice(self.omni.tz, self.omni.queue_labels)
        first = backend.take_prefetched(self.queue, ThreadList.PAGE_SIZE)
        # Counts and emergencies follow the first rows (see _load_the_rest).
        self.query_one(ThreadList).load(backend.source(self.queue), first_page=first)
        # Rows read by a helper process: open the store here once they are on screen (its
        # imports would only slow the first frame down).
        self.call_after_refresh(self.omni.open_pending_store)

    def apply_practice(self, tz: tzinfo | None, labels: dict[str, str]) -> None:
        """Show times in ``tz`` and queues by ``labels`` (redraws an open thread)."""
        conversation, card = self.query_one(Conversation), self.query_one(PatientCardView)
        conversation.tz = card.tz = tz
        conversation.labels = card.labels = labels
        self.query_one(QueueList).labels.update(labels)
        self.query_one(QueueList).refresh()
        if self.current is not None:
            conversation.show(self.current, scroll_to_end=False)
            card.show(self.current)
        self._update_title()

    def load_counts(self) -> None:
        backend = self.omni.backend
        if backend is not None:
            run_service(self, backend.queue_counts, CountsLoaded, what="loading queue counts", group="counts")

    def refresh_data(self) -> None:
        """Reload counts and the visible window, keeping the highlighted thread."""
        self.load_counts()
        self.query_one(ThreadList).reload()

    def open_thread(self, thread_id: int) -> None:
        """Load a thread into the conversation and patient card (audited as a view by the service)."""
        backend = self.omni.backend
        if backend is None:
            return

        def call() -> ThreadOpened:
            # The practice settings load with the first thread opened (the rules files take a few
            # hundred ms and MB): the inbox itself never waits for them.
            return ThreadOpened(backend.open_thread(thread_id), backend.practice())

        run_service(self, call, lambda msg: msg, what="opening a thread", group="open")

    @on(CountsLoaded)
    def _counts_loaded(self, msg: CountsLoaded) -> None:
        queues = self.query_one(QueueList)
        queues.labels.update(self.omni.queue_labels)
        queues.set_counts(msg.counts)
        self.omni.queue_labels.update({c.queue: c.label for c in msg.counts if c.label})
        self._update_title()
        self.omni.refresh_banners()
        self.omni.part_loaded("counts")

    @on(ThreadOpened)
    def _thread_opened(self, msg: ThreadOpened) -> None:
        if msg.practice is not None and not self._practice_applied:
            self._practice_applied = True
            self.omni.apply_practice(*msg.practice)
        self.omni.note_detail(msg.detail)
        self.show_detail(msg.detail)
        self.query_one(Conversation).focus()
        # The service marked it read; let the row show that without a full reload.
        self.query_one(ThreadList).reload()

    def show_detail(self, detail: ThreadDetail) -> None:
        self.current = detail
        self.add_class("-reading")
        self.query_one(Conversation).show(detail)
        self.query_one(PatientCardView).show(detail)

    def close_thread(self) -> None:
        """Put the open thread away: the list gets the room back."""
        self.current = None
        self.remove_class("-reading")
        self.query_one(Conversation).show(None)
        self.query_one(PatientCardView).show(None)
        self.query_one(ThreadList).focus()
        self.omni.refresh_banners()  # back to the emergency that waited longest

    def update_summary(self, summary: ThreadSummary) -> None:
        """A newer summary of a thread (e.g. acknowledged): refresh the open conversation's header."""
        if self.current is not None and self.current.summary.id == summary.id:
            self.current = dataclasses.replace(self.current, summary=summary)
            self.query_one(Conversation).update_summary(summary)

    @on(QueueList.Changed)
    def _queue_changed(self, msg: QueueList.Changed) -> None:
        if msg.queue == self.queue and not isinstance(msg, QueueList.Chosen):
            return
        if msg.queue != self.queue:
            self.queue = msg.queue
            self._update_title()
            backend = self.omni.backend
            if backend is not None:
                self.query_one(ThreadList).load(backend.source(self.queue))
        if isinstance(msg, QueueList.Chosen):
            self.query_one(ThreadList).focus()

    @on(ThreadList.Selected)
    def _thread_selected(self, msg: ThreadList.Selected) -> None:
        self.open_thread(msg.thread.id)

    @on(ThreadList.Loaded)
    def _list_loaded(self, msg: ThreadList.Loaded) -> None:
        self._update_title()
        self._load_the_rest()
        self.omni.part_loaded("list")

    @on(ThreadList.LoadFailed)
    def _list_failed(self) -> None:
        self._load_the_rest()  # the emergency check must not depend on the list loading
        self.omni.part_loaded("list")

    def _load_the_rest(self) -> None:
        # Once the first rows are on screen: the counts and the emergency check (not before, so
        # their queries do not compete with the first page for the CPU).
        if not self._started:
            self._started = True
            self.load_counts()
            self.omni.refresh_emergencies()

    def _update_title(self) -> None:
        queues = self.query_one(QueueList)
        label = queues.labels.get(self.queue, queue_label(None if self.queue == ALL_QUEUES else self.queue))
        threads = self.query_one(ThreadList)
        total = f"{threads.total:,}" if threads.total_known else "…"
        self.query_one("#list-title", Static).update(f" {label} · {total} open")

    # ------------------------------------------------------------- actions
    def _panes(self) -> list:
        """The panes Tab moves between: the ones on screen now."""
        panes = [
            self.query_one(QueueList),
            self.query_one(ThreadList),
            self.query_one(Conversation),
            self.query_one(PatientCardView),
        ]
        return [p for p in panes if p.display and p.parent is not None and p.parent.display]

    def _cycle(self, step: int) -> None:
        panes = self._panes()
        focused = self.focused
        threads = self.query_one(ThreadList)
        start = panes.index(threads) if threads in panes else 0
        index = next((i for i, p in enumerate(panes) if focused is p or (focused and p in focused.ancestors)), start)
        panes[(index + step) % len(panes)].focus()

    def action_next_pane(self) -> None:
        self._cycle(1)

    def action_prev_pane(self) -> None:
        self._cycle(-1)

    def action_back(self) -> None:
        """Escape: from the conversation to the list; on the list, close the open thread, else go to the queues."""
        focused = self.focused
        threads = self.query_one(ThreadList)
        if focused is not threads:
            threads.focus()
        elif self.current is not None:
            self.close_thread()
        else:
            self.query_one(QueueList).focus()

    def action_search(self) -> None:
        self.omni.action_search()

    def action_why(self) -> None:
        self.query_one(Conversation).toggle_why()

    def action_refresh(self) -> None:
        self.omni.refresh_all()

    def select_queue(self, queue: str) -> None:
        """Switch to ``queue`` and focus the thread list."""
        queues = self.query_one(QueueList)
        queues.select(queue)
        self.query_one(ThreadList).focus()
