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
from omnidesk.widgets.formatting import queue_label, waited


def banner_text(
    emergencies: Sequence[ThreadSummary],
    now: datetime,
    labels: dict[str, str],
    key: str = "a",
    total: int | None = None,
) -> Text | None:
    """The banner line for the oldest waiting emergency (None when there is none).

    ``total`` is how many wait in all, when more than ``emergencies`` holds.
    """
    if not emergencies:
        return None
    oldest = min(emergencies, key=lambda t: (t.last_message_at, t.id))
    queue = labels.get(oldest.queue, queue_label(oldest.queue))
    text = Text(f" EMERGENCY — {queue} — waiting {waited(oldest.last_message_at, now)} — press {key} to acknowledge")
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
    ) -> None:
        """Show (or hide, when ``emergencies`` is empty) the banner as of ``now``."""
        self.emergencies = tuple(emergencies)
        text = banner_text(emergencies, now, labels, key, total)
        self.set_class(text is not None, "-active")
        self.update(text or "")
