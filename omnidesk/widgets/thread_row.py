"""One row of the thread list as segments: marker, unread dot, who, channels, intents, preview, flags, due, age.

Pure (no widget state), so the list can render any row in any width and tests can read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style

from omnidesk.model import ThreadStatus, ThreadSummary, Urgency
from omnidesk.widgets.formatting import CHANNEL_ICONS, CHANNEL_STYLES, age, due_label, emergency_start, intents_label
from omnidesk.widgets.safe_text import clean

# Fixed column widths in cells (each includes its trailing gap); the preview takes the rest.
MARK, UNREAD, NAME, CHANNELS, AFTER_HOURS, DUE, AGE = 3, 2, 21, 5, 3, 9, 4
FIXED = MARK + UNREAD + NAME + CHANNELS + AFTER_HOURS + DUE + AGE
NARROW_NAME = 15  # below 60 cells
NARROW = 60
WIDE_NAME = 27  # from 110 cells: "Unmatched (4 candidates)" and most full names fit
WIDE = 110


@dataclass(frozen=True)
class RowStyles:
    """Styles the list resolves from its CSS (component classes)."""

    base: Style = field(default_factory=Style)
    dim: Style = field(default_factory=lambda: Style(dim=True))
    emergency: Style = field(default_factory=lambda: Style(color="white", bgcolor="red", bold=True))
    cursor: Style | None = None


def display_name(t: ThreadSummary) -> str:
    """Who the thread is with: the patient, "Unmatched (n candidates)", or the sender's contact."""
    if t.patient_name:
        return t.patient_name
    if t.candidates:
        n = len(t.candidates)
        return f"Unmatched ({n} candidate{'s' if n != 1 else ''})"
    return t.contact or "Unknown sender"


def list_name(t: ThreadSummary, room: int) -> str:
    """:func:`display_name`, shortened for an unmatched thread when it does not fit in ``room`` cells."""
    name = display_name(t)
    if t.patient_name or not t.candidates or cell_len(name) <= room:
        return name
    n = len(t.candidates)
    shorter = f"{n} possible patients" if n != 1 else "1 possible patient"
    return shorter if cell_len(shorter) <= room else f"{n} candidates"


def _fit(text: str, width: int) -> str:
    """``text`` in exactly ``width`` cells, the last one a gap; cut with an ellipsis when too long."""
    if width <= 0:
        return ""
    room = width - 1
    if cell_len(text) > room:
        text = set_cell_size(text, max(room - 1, 0)) + "…" if room > 1 else set_cell_size(text, room)
    return set_cell_size(text, room) + " "


def _marker(t: ThreadSummary, styles: RowStyles) -> tuple[str, Style]:
    if t.pinned:
        return "!! ", styles.emergency
    if t.urgency is Urgency.EMERGENCY:
        return " ✓ ", Style(color="red")
    if t.urgency is Urgency.URGENT:
        return " ! ", Style(color="yellow", bold=True)
    return "   ", Style()


def row_segments(t: ThreadSummary, width: int, now: datetime, styles: RowStyles) -> list[Segment]:
    """The segments of one row, exactly ``width`` cells wide."""
    unread = t.unread_count > 0
    name_style = Style(bold=unread)
    if t.pinned:
        name_style += Style(color="red", bold=True)
    elif t.patient_id is None:
        name_style += Style(italic=True)
    due_text, late = due_label(t.due_at, now)
    if t.status is not ThreadStatus.OPEN:  # a closed or snoozed thread is not late: say what it is
        due_text, late = t.status.value, False
    preview = clean(t.preview)
    if t.subject and "email" in t.channels:
        preview = f"{clean(t.subject)} — {preview}"

    name_width = WIDE_NAME if width >= WIDE else NAME if width >= NARROW else NARROW_NAME
    cells: list[tuple[str, Style]] = [
        _marker(t, styles),
        ("● " if unread else "  ", Style(color="dodger_blue1", bold=True)),
        (_fit(clean(list_name(t, name_width - 1)), name_width), name_style),
    ]
    flex = width - FIXED + NAME - name_width
    icons = "".join(CHANNEL_ICONS.get(c, "?") for c in t.channels)[: CHANNELS - 1]
    channel_cells = [(icon, Style.parse(CHANNEL_STYLES.get(c, ""))) for icon, c in zip(icons, t.channels, strict=False)]
    channel_cells.append((" " * (CHANNELS - len(icons)), Style()))
    cells.extend(channel_cells)
    if flex >= 30:  # room for the intents column
        intents_width = 14 if flex < 60 else 22
        cells.append((_fit(intents_label(t.intents, limit=1 if flex < 60 else 2), intents_width), styles.dim))
        flex -= intents_width
    compact = flex < 12  # a narrow list keeps the preview and shows only a breach
    if compact:
        flex += AFTER_HOURS + DUE - 2
    cells.append((_fit(preview, max(flex, 0)), Style() if unread else styles.dim))
    if compact:
        cells.append(("! " if late else "  ", Style(color="red", bold=True)))
    else:
        cells.append(("AH " if t.after_hours else "   ", Style(color="magenta")))
        cells.append((_fit(due_text, DUE), Style(color="red", bold=True) if late else styles.dim))
    # the age of the last message; for a waiting emergency, how long it has waited
    since = emergency_start(t) if t.pinned else t.last_message_at
    cells.append((age(since, now).rjust(AGE - 1) + " ", Style(color="red", bold=True) if t.pinned else Style()))

    segments: list[Segment] = []
    used = 0
    for text, style in cells:
        if used >= width:
            break
        if used + cell_len(text) > width:
            text = set_cell_size(text, width - used)
        seg_style = styles.base + style
        if styles.cursor is not None:
            seg_style += styles.cursor
        segments.append(Segment(text, seg_style))
        used += cell_len(text)
    if used < width:
        pad = styles.base + styles.cursor if styles.cursor is not None else styles.base
        segments.append(Segment(" " * (width - used), pad))
    return segments
