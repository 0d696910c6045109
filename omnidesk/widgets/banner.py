"""The emergency banner across the top of every screen.

It names the queue, how long the oldest unacknowledged emergency has waited and the key
that acknowledges it — and nothing a patient wrote (no name, no message text).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rich.text import Text
from textual.widgets import Static

from omnidesk.model import ThreadSummary
from omnidesk.widgets.formatting import emergency_start, queue_label, waited


def banner_text(
    emergencies: Sequence[ThreadSummary],
    now: datetime,
    labels: dict[str, str],
    key: str = "a",
    total: int | None = None,
    target: int | None = None,
) -> Text | None:
    """The banner line for the emergency that has waited longest (None when there is none).

    It names the queue and the thread number (what ``key`` acknowledges), never the patient.

    ``target`` is the thread the key acknowledges when it is not the oldest (the open one).
    ``total`` is how many wait in all, when more than ``emergencies`` holds. The wait counts
    from when each thread became an emergency: the store's ``emergency_since`` (see
    :func:`~omnidesk.widgets.formatting.emergency_start`).
    """
    if not emergencies:
        return None
    chosen = [t for t in emergencies if t.id == target]  # the one the key acts on, when not the oldest
    oldest = chosen[0] if chosen else min(emergencies, key=lambda t: (emergency_start(t), t.id))
    queue = labels.get(oldest.queue, queue_label(oldest.queue))
    wait = waited(emergency_start(oldest), now)
    text = Text(f" EMERGENCY — {queue} #{oldest.id} — waiting {wait} — press {key} to acknowledge")
    waiting = max(total or 0, len(emergencies))
    if waiting > 1:
        text.append(f"  (+{waiting - 1} more)")
    text.append(" ")
    return text


class EmergencyBanner(Static):
    """Hidden while nothing waits; a red bar while an unacknowledged emergency exists."""

    DEFAULT_CSS = """
    EmergencyBanner {
        display: none;
        dock: top;
        height: 1;
        width: 1fr;
        background: $error;
        color: $text;
        text-style: bold;
    }
    EmergencyBanner.-active { display: block; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)
        self.emergencies: tuple[ThreadSummary, ...] = ()

    def show(
        self,
        emergencies: Sequence[ThreadSummary],
        now: datetime,
        labels: dict[str, str],
        key: str = "a",
        total: int | None = None,
        target: int | None = None,
    ) -> None:
        """Show (or hide, when ``emergencies`` is empty) the banner as of ``now``."""
        self.emergencies = tuple(emergencies)
        text = banner_text(emergencies, now, labels, key, total, target)
        shown = self.has_class("-active")
        self.set_class(text is not None, "-active")
        # One line, full width: a new text (the clock ticks every second) needs no layout pass,
        # which would re-render the whole screen and delay the thread list's next frame.
        self.update(text or "", layout=shown != (text is not None))
