"""The one command-palette provider: the console's main actions, and a jump to each queue."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider


class OmnideskCommands(Provider):
    """Search, acknowledge, refresh, why, help, quit, and "Go to queue …"."""

    def _commands(self) -> list[tuple[str, Callable[[], Any], str]]:
        app: Any = self.app
        cmds: list[tuple[str, Callable[[], Any], str]] = [
            ("Search messages", app.action_search, "Full-text search over every message"),
            ("Acknowledge emergency", app.action_acknowledge, "Acknowledge the waiting emergency"),
            ("Refresh", app.refresh_all, "Reload queue counts, emergencies and the list"),
            ("Why: show rule matches", app.action_why, "Show or hide which rule set each tag"),
            ("Help: list every key", app.action_help, "Every key binding"),
            ("Quit", app.action_leave, "Leave omnidesk"),
        ]
        for queue, label in app.queue_choices():
            cmds.append((f"Go to queue: {label}", partial(app.go_to_queue, queue), f"Show the {label} queue"))
        return cmds

    async def discover(self) -> Hits:
        for name, callback, help_text in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
