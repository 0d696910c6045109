"""Small, pure formatting helpers shared by the widgets (ages, due times, labels, icons)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta, tzinfo

from omnidesk.model import (
    QUEUE_BILLING,
    QUEUE_EMERGENCY,
    QUEUE_FRONT_DESK,
    QUEUE_NURSE,
    QUEUE_UNMATCHED,
    Channel,
    Direction,
    MessageView,
    ThreadSummary,
    Urgency,
)

ALL_QUEUES = "all"
"""The queue list's key for "every queue" (the services take ``queue=None`` for it)."""

DEFAULT_QUEUE_LABELS: dict[str, str] = {
    QUEUE_EMERGENCY: "Emergency",
    ALL_QUEUES: "All",
    QUEUE_FRONT_DESK: "Front desk",
    QUEUE_NURSE: "Nurse",
    QUEUE_BILLING: "Billing",
    QUEUE_UNMATCHED: "Unmatched",
}

CHANNEL_ICONS: dict[str, str] = {
    Channel.SMS.value: "S",
    Channel.EMAIL.value: "E",
    Channel.VOICEMAIL.value: "V",
    Channel.PORTAL.value: "P",
}
CHANNEL_STYLES: dict[str, str] = {
    Channel.SMS.value: "bold green",
    Channel.EMAIL.value: "bold cyan",
    Channel.VOICEMAIL.value: "bold magenta",
    Channel.PORTAL.value: "bold blue",
}
CHANNEL_NAMES: dict[str, str] = {
    Channel.SMS.value: "SMS",
    Channel.EMAIL.value: "Email",
    Channel.VOICEMAIL.value: "Voicemail",
    Channel.PORTAL.value: "Portal",
}

INTENT_SHORT: dict[str, str] = {
    "appointment.book": "book",
    "appointment.reschedule": "resched",
    "appointment.cancel": "cancel",
    "appointment.confirm": "confirm",
    "refill": "refill",
    "billing": "billing",
    "insurance": "insurance",
    "results": "results",
    "records": "records",
    "clinical": "clinical",
    "general": "general",
    "consent.opt_out": "opt-out",
    "consent.opt_in": "opt-in",
    "consent.help": "help",
}


def queue_label(queue: str | None) -> str:
    """A queue's display label from the defaults (the service's labels win when known)."""
    if queue is None:
        return DEFAULT_QUEUE_LABELS[ALL_QUEUES]
    return DEFAULT_QUEUE_LABELS.get(queue, queue.replace("_", " ").capitalize())


def short_duration(delta: timedelta) -> str:
    """A compact duration: "now", "45s"-free minutes "4m", hours "2h", days "3d", weeks "5w"."""
    secs = max(int(delta.total_seconds()), 0)
    if secs < 60:
        return "now"
    minutes = secs // 60
    if minutes < 60:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if days < 100:
        return f"{days}d"
    return f"{days // 7}w"


def age(at: datetime, now: datetime) -> str:
    """How long ago ``at`` was, compactly ("4m", "2h", "3d")."""
    return short_duration(now - at)


def ago(at: datetime, now: datetime) -> str:
    """How long ago, in words a clerk reads at a glance: "just now", "4m ago", "3d ago"."""
    span = short_duration(now - at)
    return "just now" if span == "now" else f"{span} ago"


def emergency_start(t: ThreadSummary, messages: Iterable[MessageView] = ()) -> datetime:
    """When ``t`` became the emergency that waits (what the banner's clock counts from).

    The store's ``emergency_since`` when it has one; else, from the thread's ``messages``
    (when it is open), its first inbound emergency message since the last acknowledgment;
    else its last message (which can only make the wait look shorter, never longer).
    """
    if t.emergency_since is not None:
        return t.emergency_since
    ack = t.emergency_ack_at
    times = [
        m.at
        for m in messages
        if m.urgency is Urgency.EMERGENCY and m.direction is Direction.INBOUND and (ack is None or m.at > ack)
    ]
    return min(times, default=t.last_message_at)


def waited(since: datetime, now: datetime) -> str:
    """How long an emergency has waited, to the second under an hour: "3m 05s", "1h 04m", "2d 3h"."""
    secs = max(int((now - since).total_seconds()), 0)
    if secs < 3600:
        return f"{secs // 60}m {secs % 60:02d}s"
    if secs < 86400:
        return f"{secs // 3600}h {secs % 3600 // 60:02d}m"
    return f"{secs // 86400}d {secs % 86400 // 3600}h"


def due_label(due_at: datetime | None, now: datetime) -> tuple[str, bool]:
    """("due 45m", False) before the target, ("late 2h", True) once it has passed."""
    if due_at is None:
        return "", False
    if due_at <= now:
        span = short_duration(now - due_at)
        return ("due now" if span == "now" else f"late {span}"), True
    return f"due {short_duration(due_at - now)}", False


def intents_label(intents: tuple[str, ...] | list[str], limit: int = 2) -> str:
    """The first ``limit`` intents as short labels, "+n" for the rest."""
    shown = [INTENT_SHORT.get(i, i) for i in intents[:limit]]
    rest = len(intents) - limit
    return ", ".join(shown) + (f" +{rest}" if rest > 0 else "")


def local_time(at: datetime, tz: tzinfo | None, *, with_date: bool = True, fmt: str | None = None) -> str:
    """``at`` in the practice's time zone: "Tue 14 Mar 09:41" (or "09:41", or ``fmt``)."""
    local = at.astimezone(tz) if tz is not None else at.astimezone()
    return local.strftime(fmt or ("%a %d %b %H:%M" if with_date else "%H:%M"))
