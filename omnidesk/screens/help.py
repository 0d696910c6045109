"""The help screen: every key, read from the bindings themselves (so a keymap shows up here too)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingsMap, BindingType
from textual.containers import VerticalScroll
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widgets import Footer, Static

from omnidesk.widgets.banner import EmergencyBanner


@dataclass(frozen=True)
class KeyHelp:
    group: str
    keys: tuple[str, ...]
    description: str
    tooltip: str
    binding_id: str | None


# Textual's own bindings, in words a front desk reads (action -> (description, tooltip)).
_BUILT_IN: dict[str, tuple[str, str]] = {
    "help_quit": ("Quit hint", "Shows how to leave (q or ctrl+q)"),
    "command_palette": ("Command palette", "Every action by name; type to filter"),
    "screen.copy_text": ("Copy", "Copy the selected text"),
}


def describe(binding: Binding) -> tuple[str, str]:
    """(description, tooltip) of ``binding`` as the help shows them."""
    if binding.action in _BUILT_IN:
        return _BUILT_IN[binding.action]
    description = binding.description or binding.action.replace("_", " ")
    return description[:1].upper() + description[1:], binding.tooltip or ""


def _group_of(node: DOMNode) -> str:
    group = getattr(node, "HELP_GROUP", None)
    if group:
        return str(group)
    if isinstance(node, App):
        return "Everywhere"
    return type(node).__name__


def _entries(app: App, group: str, bindings: BindingsMap) -> list[KeyHelp]:
    if app._keymap:
        bindings = bindings.copy()
        bindings.apply_keymap(app._keymap)
    merged: dict[tuple[str, str | None, str], list[Binding]] = {}
    for _key, binding in bindings:
        ident = (binding.action, binding.id, binding.description)
        merged.setdefault(ident, []).append(binding)
    out = []
    for (_action, binding_id, _description), same in merged.items():
        keys = tuple(dict.fromkeys(app.get_key_display(b) for b in same))
        description, tooltip = describe(same[0])
        out.append(KeyHelp(group, keys, description, tooltip, binding_id))
    return out


def collect_bindings(app: App, nodes: Iterable[DOMNode]) -> list[KeyHelp]:
    """Every binding of ``nodes`` (with the app's keymap applied); keys of one binding share an entry."""
    out: list[KeyHelp] = []
    for node in nodes:
        out.extend(_entries(app, _group_of(node), node._bindings))
    return out


def screen_keys(app: App, screen: type[Screen]) -> list[KeyHelp]:
    """The keys a screen adds itself (not those it inherits), for screens not open yet (e.g. search)."""
    own = BindingsMap(screen.__dict__.get("BINDINGS", []))
    return _entries(app, str(getattr(screen, "HELP_GROUP", screen.__name__)), own)


def help_nodes(app: App, screen: Screen) -> list[DOMNode]:
    """The nodes whose keys the help lists: the app, the screen, and every widget on it."""
    nodes: list[DOMNode] = [app, screen]
    # Only widgets that can take focus: a key bound on one that cannot (the footer) never fires.
    nodes.extend(w for w in screen.walk_children() if w._bindings.key_to_bindings and w.can_focus)
    return nodes


def render_help(entries: list[KeyHelp], *, with_ids: bool = True) -> Table:
    """The keys as a table: keys, what they do, and (``with_ids``) the binding id a keymap names."""
    table = Table(box=None, show_header=False, padding=(0, 2), expand=False)
    table.add_column("keys", style="bold", no_wrap=True)
    table.add_column("what")
    if with_ids:
        table.add_column("id", style="dim", no_wrap=True)
    blank = ("",) * len(table.columns)
    current = None
    for e in entries:
        if e.group != current:
            if current is not None:
                table.add_row(*blank)
            table.add_row(Text(e.group, style="bold underline"), *blank[1:])
            current = e.group
        what = Text(e.description)
        if e.tooltip and e.tooltip != e.description:
            what.append(f" — {e.tooltip}", "dim")
        row = [Text(" / ".join(e.keys)), what] + ([e.binding_id or ""] if with_ids else [])
        table.add_row(*row)
    return table


class HelpTable:
    """:func:`render_help` for the width it gets: the id column only where it leaves room to read."""

    WIDE = 110

    def __init__(self, entries: list[KeyHelp]) -> None:
        self.entries = entries

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield render_help(self.entries, with_ids=options.max_width >= self.WIDE)


class HelpScreen(Screen[None]):
    """Lists every key of the screen it was opened from."""

    HELP_GROUP: ClassVar[str] = "Help"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark", "close", "Close help", id="help.close", tooltip="Back to where you were"),
        Binding("j,down", "scroll_down", "Scroll down", id="help.down", show=False),
        Binding("k,up", "scroll_up", "Scroll up", id="help.up", show=False),
    ]

    def __init__(self, entries: list[KeyHelp]) -> None:
        super().__init__(id="help")
        self.entries = entries

    def compose(self) -> ComposeResult:
        yield EmergencyBanner(id="banner")
        yield Static(Text(" Keys — every key of the console; Esc or ? closes this help", "bold"), id="help-title")
        legend = Text(" Channels: S SMS · E email · V voicemail · P portal.   Rows: ", "dim")
        legend.append("!!", "bold white on red")
        legend.append(" emergency waiting · ✓ acknowledged · ! urgent · ● unread · AH after hours", "dim")
        yield Static(legend, id="help-legend")
        with VerticalScroll(id="help-body"):
            yield Static(HelpTable(self.entries), id="help-table")
        yield Footer()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_scroll_down(self) -> None:
        self.query_one("#help-body", VerticalScroll).scroll_down()

    def action_scroll_up(self) -> None:
        self.query_one("#help-body", VerticalScroll).scroll_up()
