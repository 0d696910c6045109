"""Typed messages the service workers post back to the UI, and the one helper that runs them.

Every blocking call into the services runs in a thread worker (``exit_on_error=False``);
its result comes back as one of these messages, its failure as :class:`ServiceFailed`
(the console shows a notification and carries on).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import tzinfo
from typing import TypeVar

from textual.dom import DOMNode
from textual.message import Message
from textual.worker import Worker

from omnidesk.model import QueueCount, SearchHit, ThreadDetail, ThreadSummary

T = TypeVar("T")


class ServiceFailed(Message):
    """A service call raised. ``what`` says which action (no PHI); ``error`` is the exception."""

    def __init__(self, what: str, error: BaseException) -> None:
        super().__init__()
        self.what = what
        self.error = error


class CountsLoaded(Message):
    def __init__(self, counts: Sequence[QueueCount]) -> None:
        super().__init__()
        self.counts = list(counts)


class ThreadOpened(Message):
    """A thread to show, with the practice's (time zone, queue labels) to show it in."""

    def __init__(self, detail: ThreadDetail, practice: tuple[tzinfo | None, dict[str, str]] | None = None) -> None:
        super().__init__()
        self.detail = detail
        self.practice = practice


class EmergenciesLoaded(Message):
    """The unacknowledged emergencies now (oldest first is not implied)."""

    def __init__(self, threads: Sequence[ThreadSummary]) -> None:
        super().__init__()
        self.threads = list(threads)


class Acknowledged(Message):
    def __init__(self, summary: ThreadSummary) -> None:
        super().__init__()
        self.summary = summary


class SearchDone(Message):
    def __init__(self, query: str, hits: Sequence[SearchHit]) -> None:
        super().__init__()
        self.query = query
        self.hits = list(hits)


class NewMessages(Message):
    """The sync loop stored ``count`` new messages. Bursts merge into one (``can_replace``)."""

    def __init__(self, count: int) -> None:
        super().__init__()
        self.count = count

    def can_replace(self, message: Message) -> bool:
        if isinstance(message, NewMessages):
            self.count += message.count
            return True
        return False


class ContextReady(Message):
    """The store is open; the console can load."""


def error_text(error: BaseException) -> tuple[str, str | None]:
    """(message, hint) safe to show: an ``OmnideskError``'s own words, else only the error's type.

    Other exceptions may quote SQL parameters or message text, so their text is never shown.
    """
    from omnidesk.services.errors import OmnideskError

    if isinstance(error, OmnideskError):
        return str(getattr(error, "message", None) or error), getattr(error, "hint", None)
    return f"Unexpected error ({type(error).__name__})", "The action did not complete; the console keeps running."


def run_service(
    node: DOMNode,
    call: Callable[[], T],
    done: Callable[[T], Message | None],
    *,
    what: str,
    group: str,
    exclusive: bool = True,
) -> Worker[None]:
    """Run ``call`` in a thread worker; post ``done(result)`` to ``node``, or :class:`ServiceFailed`."""

    def work() -> None:
        try:
            result = call()
        except Exception as exc:
            node.post_message(ServiceFailed(what, exc))
            return
        message = done(result)
        if message is not None:
            node.post_message(message)

    return node.run_worker(work, name=what, group=group, thread=True, exclusive=exclusive, exit_on_error=False)
