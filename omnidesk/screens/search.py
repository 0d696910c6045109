"""Search every message: type, Enter, pick a hit, Enter opens its thread."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from omnidesk.model import SearchHit
from omnidesk.screens.messages import SearchDone, run_service
from omnidesk.widgets.banner import EmergencyBanner
from omnidesk.widgets.formatting import CHANNEL_ICONS, CHANNEL_STYLES, age
from omnidesk.widgets.safe_text import safe_text

DEBOUNCE_S = 0.3
NAME_WIDTH = 24
RESULT_LIMIT = 50


def hit_prompt(hit: SearchHit, now: datetime) -> Text:
    """One result line: channel, age, patient (or "unmatched"), subject and snippet — all as plain text."""
    out = Text()
    ch = hit.channel.value
    out.append(f"{CHANNEL_ICONS.get(ch, '?')} ", CHANNEL_STYLES.get(ch, ""))
    out.append(f"{age(hit.at, now):>4} ", "dim")
    who = safe_text(hit.patient_name or "Unmatched sender", "bold", limit=NAME_WIDTH)
    who.pad_right(NAME_WIDTH - who.cell_len)
    out.append_text(who)
    out.append(f" #{hit.thread_id:<6} ", "dim")
    if hit.subject:
        out.append_text(safe_text(hit.subject, "italic", limit=40))
        out.append(" — ", "dim")
    out.append_text(safe_text(hit.snippet, limit=160))
    return out


class SearchScreen(Screen[int | None]):
    """Dismisses with the thread id to open, or None."""

    HELP_GROUP: ClassVar[str] = "Search"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="search.close", tooltip="Back to the inbox without opening anything"),
        Binding("down", "results", "Results", id="search.results", tooltip="Move to the results", show=False),
    ]

    def __init__(self) -> None:
        super().__init__(id="search")
        self.hits: list[SearchHit] = []
        self._debounce: Timer | None = None
        self._last_query: str | None = None

    @property
    def omni(self) -> Any:
        return self.app

    def compose(self) -> ComposeResult:
        yield EmergencyBanner(id="banner")
        yield Static(Text(' Search every message (words, "exact phrases", names)', "bold"), id="search-title")
        yield Input(placeholder="Search…", id="search-input")
        yield Static(Text(" Type and press Enter.", "dim"), id="search-status")
        yield OptionList(id="search-results")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Changed, "#search-input")
    def _changed(self, event: Input.Changed) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        if len(event.value.strip()) >= 3:
            self._debounce = self.set_timer(DEBOUNCE_S, self._search_now)

    @on(Input.Submitted, "#search-input")
    def _submitted(self, event: Input.Submitted) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        if self._last_query == event.value.strip() and self.hits:
            self.action_results()
            return
        self._search_now(focus_results=True)

    def _search_now(self, focus_results: bool = False) -> None:
        query = self.query_one(Input).value.strip()
        backend = self.omni.backend
        if not query or backend is None:
            return
        self._last_query = query
        self._focus_results = focus_results
        self.query_one("#search-status", Static).update(Text(" Searching…", "dim"))
        run_service(
            self,
            lambda: backend.search(query, limit=RESULT_LIMIT),
            lambda hits: SearchDone(query, hits),
            what="searching",
            group="search",
        )

    @on(SearchDone)
    def _done(self, msg: SearchDone) -> None:
        if msg.query != self.query_one(Input).value.strip():
            return
        self.hits = msg.hits
        now = self.omni.clock() if callable(getattr(self.omni, "clock", None)) else datetime.now(UTC)
        results = self.query_one(OptionList)
        results.clear_options()
        results.add_options([Option(hit_prompt(h, now)) for h in msg.hits])
        n = len(msg.hits)
        if n >= RESULT_LIMIT:
            status = f" The {n} newest matching messages — add words to narrow it down"
        elif n:
            status = f" {n} message{'s' if n != 1 else ''} (newest first)"
        else:
            status = " No messages match."
        self.query_one("#search-status", Static).update(Text(status, "dim"))
        if n:
            results.highlighted = 0
            if getattr(self, "_focus_results", False):
                results.focus()

    @on(OptionList.OptionSelected, "#search-results")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        hit = self.hits[event.option_index]
        self.dismiss(hit.thread_id)

    def action_results(self) -> None:
        if self.hits:
            self.query_one(OptionList).focus()

    def action_close(self) -> None:
        self.dismiss(None)
