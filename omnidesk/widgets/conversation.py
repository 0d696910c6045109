"""The conversation pane: every channel's messages of one thread in one timeline, oldest first."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, tzinfo
from typing import ClassVar

from rich.console import Group, RenderableType
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from omnidesk.model import Direction, MessageView, OptOutView, ThreadDetail, ThreadStatus, ThreadSummary, Urgency
from omnidesk.widgets.formatting import (
    CHANNEL_NAMES,
    CHANNEL_STYLES,
    INTENT_SHORT,
    ago,
    due_label,
    local_time,
    queue_label,
    waited,
)
from omnidesk.widgets.opt_out import opt_out_line
from omnidesk.widgets.safe_text import clean, safe_body, safe_text
from omnidesk.widgets.thread_row import display_name


def emergency_status(t: ThreadSummary, tz: tzinfo | None, now: datetime | None = None) -> Text | None:
    """ "EMERGENCY since HH:MM:SS — not acknowledged" or "acknowledged by X at HH:MM (waited 3m 05s)"
    (None for other threads). The start is the store's ``emergency_since`` when it has one.

    A date is added to a time that was not today (``now``, in ``tz``)."""
    if t.urgency is not Urgency.EMERGENCY:
        return None

    def when(at: datetime, fmt: str) -> str:
        today = now is not None and local_time(at, tz, fmt="%Y-%m-%d") == local_time(now, tz, fmt="%Y-%m-%d")
        return local_time(at, tz, fmt=fmt if today else f"%a %d %b {fmt}")

    since = t.emergency_since
    if t.emergency_ack_at is None:
        start = f" since {when(since, '%H:%M:%S')}" if since is not None else ""
        return Text(f" EMERGENCY{start} — not acknowledged ", style="bold white on red")
    who = clean(t.emergency_ack_by or "staff")
    at = t.emergency_ack_at
    line = f"Emergency acknowledged by {who} at {when(at, '%H:%M')}"
    if since is not None and since <= at:
        line += f" (waited {waited(since, at)})"
    return Text(line, "red")


def render_thread_header(
    t: ThreadSummary,
    tz: tzinfo | None,
    now: datetime,
    labels: dict[str, str],
    opt_outs: Sequence[OptOutView] = (),
) -> Text:
    """The thread's title line, its tags, the emergency's state and any opt-out on record."""
    out = Text()
    out.append_text(safe_text(display_name(t), "bold"))
    out.append(f"  #{t.id}", "dim")
    out.append("\n")
    out.append(f"{labels.get(t.queue, queue_label(t.queue))} · {t.status.value} · {t.urgency.value}", "dim")
    if t.assignee:
        out.append(" · assigned to ")
        out.append_text(safe_text(t.assignee))
    due, late = due_label(t.due_at, now) if t.status is ThreadStatus.OPEN else ("", False)
    if due:
        out.append(" · ")
        out.append(due, "bold red" if late else "dim")
    if t.after_hours:
        out.append(" · after hours", "magenta")
    status = emergency_status(t, tz, now)
    if status is not None:
        out.append("\n")
        out.append_text(status)
    for o in opt_outs:
        out.append("\n")
        out.append_text(opt_out_line(o, tz, labels))
    return out


def render_message(m: MessageView, tz: tzinfo | None, now: datetime, *, why: bool) -> RenderableType:
    """One message: channel, direction, local time, sender, subject, body and tags (and why, on request)."""
    head = Text()
    inbound = m.direction is Direction.INBOUND
    head.append("◀ " if inbound else "▶ ", "bold" if inbound else "bold green")
    head.append(CHANNEL_NAMES.get(m.channel.value, m.channel.value), CHANNEL_STYLES.get(m.channel.value, "bold"))
    head.append(" ")
    head.append(local_time(m.at, tz))
    head.append(f" · {ago(m.at, now)}", "dim")
    head.append(" · " if inbound else " · to ", "dim")
    head.append_text(safe_text(m.sender if inbound else m.recipient, "dim"))
    if m.kind and not inbound:
        head.append(f" · {clean(m.kind)}", "bold green")
    if m.delivery_status and not inbound:
        head.append(f" · {clean(m.delivery_status)}", "dim")
    parts: list[RenderableType] = [head]
    if m.subject:
        subject = Text("Subject: ", "bold")
        subject.append_text(safe_text(m.subject))
        parts.append(subject)
    parts.append(safe_body(m.body))
    if m.attachments:
        att = Text("Attachments: ", "dim")
        att.append_text(safe_text(", ".join(f"{a.filename} ({a.size} B)" for a in m.attachments), "dim"))
        parts.append(att)
    tags = Text()
    if m.intents:
        tags.append(" ".join(f"#{INTENT_SHORT.get(i, i)}" for i in m.intents), "cyan")
    if m.urgency is not Urgency.ROUTINE:
        tags.append(f"  {m.urgency.value.upper()}", "bold red" if m.urgency is Urgency.EMERGENCY else "bold yellow")
    if tags:
        parts.append(tags)
    if why:
        if m.matched:
            for match in m.matched:
                line = Text("  why: rule ", "dim")
                rule, sets = clean(match.rule), clean(match.sets)
                line.append(rule, "bold")
                line.append(f" → {sets} matched " if sets and sets != rule else " matched ", "dim")
                line.append_text(safe_text(f"“{clean(match.text)}”", "italic"))
                parts.append(line)
        else:
            parts.append(Text("  why: no rule matched (default tags)", "dim"))
    parts.append(Text(""))
    return Group(*parts)


class Conversation(VerticalScroll, can_focus=True, inherit_bindings=False):
    """One thread's timeline. ``show(detail)`` replaces it; ``why`` toggles the rule matches."""

    HELP_GROUP: ClassVar[str] = "Conversation"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j,down", "scroll_down", "Scroll down", id="conversation.down", tooltip="Scroll down", show=False),
        Binding("k,up", "scroll_up", "Scroll up", id="conversation.up", tooltip="Scroll up", show=False),
        Binding(
            "pagedown,space",
            "page_down",
            "Page down",
            id="conversation.page-down",
            tooltip="Down one screen",
            show=False,
        ),
        Binding("pageup", "page_up", "Page up", id="conversation.page-up", tooltip="Up one screen", show=False),
        Binding("home,g", "scroll_home", "Top", id="conversation.top", tooltip="Oldest message", show=False),
        Binding("end,G", "scroll_end", "Bottom", id="conversation.bottom", tooltip="Newest message", show=False),
    ]

    DEFAULT_CSS = """
    Conversation { height: 1fr; padding: 0 1; background: $surface; }
    Conversation > Static { width: 1fr; }
    Conversation > #conversation-header { padding: 0 0 1 0; }
    """

    def __init__(self, *, clock: Callable[[], datetime] | None = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.tz: tzinfo | None = None
        self.labels: dict[str, str] = {}
        self.detail: ThreadDetail | None = None
        self.why = False

    def compose(self):
        yield Static(Text("Select a thread and press Enter to open it.", "dim"), id="conversation-header")
        yield Static("", id="conversation-body")

    def show(self, detail: ThreadDetail | None, *, scroll_to_end: bool = True) -> None:
        """Show ``detail`` (None clears the pane)."""
        self.detail = detail
        self._redraw()
        if scroll_to_end:
            self.call_after_refresh(self.scroll_end, animate=False)

    def update_summary(self, summary: ThreadSummary) -> None:
        """Refresh the header with a newer summary of the shown thread (e.g. after acknowledging)."""
        if self.detail is not None and self.detail.summary.id == summary.id:
            self.detail = dataclasses.replace(self.detail, summary=summary)
            self._redraw()

    def toggle_why(self) -> bool:
        """Show or hide which rule set each tag; returns the new state."""
        self.why = not self.why
        self._redraw()
        return self.why

    def _redraw(self) -> None:
        header = self.query_one("#conversation-header", Static)
        body = self.query_one("#conversation-body", Static)
        if self.detail is None:
            header.update(Text("Select a thread and press Enter to open it.", "dim"))
            body.update("")
            return
        now = self.clock()
        head = render_thread_header(self.detail.summary, self.tz, now, self.labels, self.detail.opt_outs)
        if self.why:
            head.append("\nShowing why each tag was set", "italic dim")
        header.update(head)
        if not self.detail.messages:
            body.update(Text("No messages.", "dim"))
            return
        body.update(Group(*(render_message(m, self.tz, now, why=self.why) for m in self.detail.messages)))
