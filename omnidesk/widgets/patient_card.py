"""The patient card: who the thread is with, how to reach them, what is coming up."""

from __future__ import annotations

from datetime import date, tzinfo
from typing import ClassVar

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from omnidesk.model import PatientBrief, PatientCard, ThreadDetail
from omnidesk.widgets.formatting import CHANNEL_NAMES, local_time
from omnidesk.widgets.opt_out import opt_out_line
from omnidesk.widgets.safe_text import clean, safe_text


def _dob(d: date | None) -> str:
    return d.isoformat() if d else "—"


class _OneLineOrTwo:
    """``first · second`` on one line when it fits, else ``first`` over ``second`` (never split mid-item)."""

    def __init__(self, first: str, second: str, style: str = "") -> None:
        self.first, self.second, self.style = first, second, style

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        line = f"{self.first} · {self.second}"
        text = line if cell_len(line) <= options.max_width else f"{self.first}\n{self.second}"
        yield Text(text, self.style)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        longest = max(cell_len(self.first), cell_len(self.second))
        return Measurement(longest, cell_len(f"{self.first} · {self.second}"))


def _grid() -> Table:
    """Two columns; the second wraps inside itself, so a long line never runs under the first."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    return grid


def render_card(card: PatientCard, tz: tzinfo | None, labels: dict[str, str] | None = None) -> RenderableType:
    """The patient: name, MRN, date of birth, language, how to reach them (and any opt-out), what is coming up."""
    out = Text()
    out.append_text(safe_text(card.name, "bold"))
    out.append(f"   MRN {clean(card.mrn)}", "dim")
    out.append(f"\nDOB {_dob(card.dob)}")
    out.append(f" · language {clean(card.preferred_language or '—')}")
    pref = card.preferred_channel
    out.append(f" · prefers {CHANNEL_NAMES.get(pref or '', clean(pref or '—'))}")
    for label, values in (("Phone", card.phones), ("Email", card.emails)):
        if values:
            out.append(f"\n{label}: ", "dim")
            out.append_text(safe_text(", ".join(values)))
    if card.shared_contact:
        out.append("\nShares a phone or email with another patient", "yellow")
    for o in card.opt_outs:
        out.append("\n")
        out.append_text(opt_out_line(o, tz, labels))
    out.append("\nUpcoming: ", "dim")
    if not card.upcoming:
        out.append("none", "dim")
        return out
    appointments = _grid()
    for appt in card.upcoming[:4]:
        what = safe_text(f"{appt.visit_type} · {appt.provider} · {appt.status}".strip(" ·"))
        what.no_wrap = False
        appointments.add_row(Text(f"  {local_time(appt.start_at, tz)}"), what)
    parts: list[RenderableType] = [out, appointments]
    if len(card.upcoming) > 4:
        parts.append(Text(f"  … {len(card.upcoming) - 4} more", "dim"))
    return Group(*parts)


def render_candidates(contact: str | None, candidates: tuple[PatientBrief, ...]) -> RenderableType:
    """An unmatched thread's sender and the patients it may be (a shared phone or email)."""
    out = Text("Unmatched — this contact belongs to several patients\n", "bold yellow")
    if contact:
        out.append("From: ", "dim")
        out.append_text(safe_text(contact))
        out.append("\n")
    out.append("Candidates:", "dim")
    people = _grid()
    for c in candidates:
        name = Text("  • ")
        name.append_text(safe_text(c.name, "bold"))
        people.add_row(name, _OneLineOrTwo(f"DOB {_dob(c.dob)}", f"MRN {clean(c.mrn)}", "dim"))
    return Group(out, people)


class PatientCardView(VerticalScroll, can_focus=True, inherit_bindings=False):
    """Shows the patient of the open thread, or its candidates, or the unknown sender."""

    HELP_GROUP: ClassVar[str] = "Patient card"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j,down", "scroll_down", "Scroll down", id="patient.down", tooltip="Scroll the card down", show=False),
        Binding("k,up", "scroll_up", "Scroll up", id="patient.up", tooltip="Scroll the card up", show=False),
    ]

    DEFAULT_CSS = """
    PatientCardView { height: auto; max-height: 12; padding: 0 1; border-bottom: solid $primary-darken-2; }
    PatientCardView > Static { width: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.tz: tzinfo | None = None
        self.labels: dict[str, str] = {}

    def compose(self):
        yield Static(Text("No thread open.", "dim"), id="patient-card-body")

    def show(self, detail: ThreadDetail | None) -> None:
        """Show the patient (or candidates, or the sender) of ``detail``."""
        body = self.query_one("#patient-card-body", Static)
        if detail is None:
            body.update(Text("No thread open.", "dim"))
        elif detail.patient is not None:
            body.update(render_card(detail.patient, self.tz, self.labels))
        elif detail.summary.candidates:
            body.update(render_candidates(detail.summary.contact, detail.summary.candidates))
        else:
            text = Text("Unknown sender: ", "bold")
            text.append_text(safe_text(detail.summary.contact or "no contact on file"))
            text.append("\nNot linked to any patient yet.", "dim")
            body.update(text)
