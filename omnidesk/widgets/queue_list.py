"""The queue list on the left: Emergency pinned on top (red while an emergency waits), All, then each queue."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from omnidesk.model import (
    QUEUE_BILLING,
    QUEUE_EMERGENCY,
    QUEUE_FRONT_DESK,
    QUEUE_NURSE,
    QUEUE_UNMATCHED,
    QueueCount,
)
from omnidesk.widgets.formatting import ALL_QUEUES, queue_label

DEFAULT_ORDER = (QUEUE_EMERGENCY, ALL_QUEUES, QUEUE_FRONT_DESK, QUEUE_NURSE, QUEUE_BILLING, QUEUE_UNMATCHED)


class QueueList(Widget, can_focus=True):
    """Queues with their open counts. Moving the highlight switches the thread list."""

    HELP_GROUP: ClassVar[str] = "Queues"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j,down", "cursor_down", "Down", id="queues.down", tooltip="Next queue", show=False),
        Binding("k,up", "cursor_up", "Up", id="queues.up", tooltip="Previous queue", show=False),
        Binding("enter", "choose", "Open queue", id="queues.open", tooltip="Go to the threads of this queue"),
    ]

    DEFAULT_CSS = """
    QueueList { width: 24; height: 1fr; padding: 0 0; background: $surface; }
    """

    cursor: reactive[int] = reactive(1, init=False)

    class Changed(Message):
        """The highlighted queue changed (``queue`` is ``"all"`` for every queue)."""

        def __init__(self, queue_list: QueueList, queue: str) -> None:
            super().__init__()
            self.queue_list = queue_list
            self.queue = queue

        @property
        def control(self) -> QueueList:
            return self.queue_list

    class Chosen(Changed):
        """Enter on a queue."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.queues: list[str] = list(DEFAULT_ORDER)
        self.labels: dict[str, str] = {q: queue_label(None if q == ALL_QUEUES else q) for q in self.queues}
        self.counts: dict[str, int] = {}
        self.unread: dict[str, int] = {}
        self.unacknowledged = 0

    @property
    def queue(self) -> str:
        """The highlighted queue key."""
        return self.queues[min(self.cursor, len(self.queues) - 1)]

    def set_counts(self, counts: Sequence[QueueCount]) -> None:
        """Show fresh counts (labels from the service win over the defaults)."""
        current = self.queue
        self.counts = {c.queue: c.open_count for c in counts}
        self.unread = {c.queue: c.unread_count for c in counts}
        for c in counts:
            if c.label:
                self.labels[c.queue] = c.label
            if c.queue not in self.queues:
                self.queues.append(c.queue)
        if ALL_QUEUES not in self.counts:
            self.counts[ALL_QUEUES] = sum(c.open_count for c in counts if c.queue != ALL_QUEUES)
            self.unread[ALL_QUEUES] = sum(c.unread_count for c in counts if c.queue != ALL_QUEUES)
        self.unacknowledged = sum(c.emergency_count for c in counts if c.queue != ALL_QUEUES)
        self.set_reactive(QueueList.cursor, self.queues.index(current))
        self.refresh()

    def select(self, queue: str) -> None:
        """Highlight ``queue`` (and announce it)."""
        if queue in self.queues:
            self.cursor = self.queues.index(queue)

    def watch_cursor(self) -> None:
        self.refresh()
        self.post_message(self.Changed(self, self.queue))

    def action_cursor_down(self) -> None:
        self.cursor = min(self.cursor + 1, len(self.queues) - 1)

    def action_cursor_up(self) -> None:
        self.cursor = max(self.cursor - 1, 0)

    def action_choose(self) -> None:
        self.post_message(self.Chosen(self, self.queue))

    def on_click(self, event) -> None:
        row = event.y - 1
        if 0 <= row < len(self.queues):
            self.cursor = row
            self.action_choose()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def render(self) -> Text:
        width = max(self.size.width, 10)
        out = Text(" Queues\n", style="bold")
        for i, q in enumerate(self.queues):
            label = self.labels.get(q, q)
            count = self.counts.get(q)
            num = "" if count is None else str(count)
            line_style = ""
            if q == QUEUE_EMERGENCY:
                if self.unacknowledged:
                    line_style = "bold white on red"
                    num = f"{self.unacknowledged} waiting"
                    if cell_len(label) + cell_len(num) + 3 > width:
                        num = f"{self.unacknowledged}!"
                else:
                    line_style = "red"
            if i == self.cursor:
                line_style = f"{line_style} reverse" if self.has_focus else f"{line_style} underline"
            gap = max(width - 2 - cell_len(label) - cell_len(num), 1)
            out.append(f" {label}{' ' * gap}{num} ", style=line_style)
            out.append("\n")
        out.rstrip()
        return out
