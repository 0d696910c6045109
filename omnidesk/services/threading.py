"""A thread's denormalized fields, kept current message by message (pure: no store access).

``ThreadState`` mirrors one ``threads`` row; ``apply_message`` folds one inbound message and
its triage into it, in any arrival order (bulk imports of history arrive out of order):

- channels: sorted set; message_count +1; unread_count +1 (every ingested message is inbound);
- last_message_at / last_inbound_at: max; first_message_at: min; preview: from the newest
  message (first ~140 characters, whitespace collapsed); subject: the first non-empty one;
- urgency: the most urgent of the thread's messages (max); intents: union in a stable order,
  the primary of the most urgent (ties: the latest) message first;
- pinned: an emergency nobody has acknowledged. A NEW emergency on an acknowledged thread
  re-pins it (the acknowledgment is cleared: an old acknowledgment never hides a new
  emergency); emergency_since: when the thread became the emergency that waits — the time
  of the emergency message that flagged it (the earliest, while it stays flagged); kept
  after the acknowledgment, replaced by the next emergency that flags it again;
- queue: an emergency always goes to the emergency queue, even from an unknown or
  ambiguous sender (safety first); a thread without a patient otherwise sits in
  ``unmatched``; a new thread takes the triage queue; later messages move it only when
  they are more urgent than the thread was (so a staff member's re-routing sticks);
- due_at: the earliest outstanding target; after_hours: that of the newest message;
- a pending or snoozed thread that gets a new message is open again; a closed thread is
  reopened only by an email reply to it (``reopen=True``; an unrelated message starts a
  new thread instead);
- an auto-handled message (``Triage.auto_handled``: STOP/START/HELP alone, routine) is
  answered by the system, so it is not waiting work: it counts as a message (time, preview,
  channels, intents appended) but sets no unread, no due time, no queue, urgency or primary
  intent, and reopens nothing. A thread it starts is created closed (``closed_at`` = its
  time, ``auto_only``); the patient's next message within the window joins that thread,
  reopens it and routes it as if it were the first, so the STOP stays in the conversation.
  A consent keyword together with another intent (CANCEL answering a reminder) is work.
- a thread that holds only outbound messages (an appointment reminder, filed ``pending``:
  waiting on the patient) is routed by its first inbound message as if it were the first.

Header threading helpers live here too: ``clean_message_id`` and ``header_keys``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from omnidesk.model import (
    QUEUE_EMERGENCY,
    QUEUE_UNMATCHED,
    Channel,
    ThreadStatus,
    Triage,
    Urgency,
)

PREVIEW_CHARS = 140
_SPACE = re.compile(r"\s")
_MSGID = re.compile(r"<([^<>\s]+)>")

_RANK = {"emergency": 0, "urgent": 1, "routine": 2}
_EMERGENCY = Urgency.EMERGENCY.value
_ROUTINE = Urgency.ROUTINE.value
_OPEN = ThreadStatus.OPEN.value
_CLOSED = ThreadStatus.CLOSED.value
_CONSENT = "consent."


def urgency_rank(value: str) -> int:
    return _RANK.get(value, 2)


def make_preview(body: str, subject: str | None = None) -> str:
    """First ~140 characters of ``body`` (or the subject when the body is empty), one line."""
    if (  # already one clean line (most texts): nothing to collapse
        body
        and len(body) <= PREVIEW_CHARS
        and body.isascii()
        and body.isprintable()
        and "  " not in body
        and body[0] != " "
        and body[-1] != " "
    ):
        return body
    text = " ".join(body[: PREVIEW_CHARS * 8].split()) if body else ""
    if not text and subject:
        text = " ".join(subject[: PREVIEW_CHARS * 8].split())
    if len(text) > PREVIEW_CHARS:
        text = text[: PREVIEW_CHARS - 1].rstrip() + "…"
    return text


def clean_message_id(raw: str | None) -> str | None:
    """A Message-ID without angle brackets or spaces; ``None`` if it does not look like one (no ``@``)."""
    if not raw:
        return None
    found = _MSGID.search(raw)
    value = found.group(1) if found else raw.strip().strip("<>").strip()
    if "@" not in value or len(value) > 998 or _SPACE.search(value):
        return None
    return value


def parse_id_list(raw: str | Iterable[str] | None) -> tuple[str, ...]:
    """Message-IDs from a References/In-Reply-To header or a list, in order, cleaned and de-duplicated.

    Tokens without ``@`` (e.g. the ``<yes>`` an old git-send-email prompt wrote) are not
    Message-IDs and are dropped, so they cannot glue unrelated conversations together.
    """
    if not raw:
        return ()
    items = _MSGID.findall(raw) if isinstance(raw, str) else [x for r in raw for x in (_MSGID.findall(r) or [r])]
    out: list[str] = []
    for item in items:
        value = clean_message_id(item)
        if value and value not in out:
            out.append(value)
    return tuple(out)


def header_keys(message_id: str | None, in_reply_to: str | None, references: Sequence[str]) -> list[str]:
    """The ids that tie a message to its conversation, in lookup order: In-Reply-To, References
    (newest first), then its own Message-ID (a reply that arrived earlier points at it)."""
    keys: list[str] = []
    if in_reply_to:
        keys.append(in_reply_to)
    for ref in reversed(references):
        if ref not in keys:
            keys.append(ref)
    if message_id and message_id not in keys:
        keys.append(message_id)
    return keys


@dataclass(slots=True)
class ThreadState:
    """One ``threads`` row in memory while a batch is folded into it."""

    id: int | None
    patient_id: int | None
    contact_id: int | None
    status: str
    queue: str
    urgency: str
    pinned: bool
    intents: list[str]
    channels: list[str]
    subject: str | None
    preview: str
    message_count: int
    unread_count: int
    first_message_at: datetime
    last_message_at: datetime
    last_inbound_at: datetime | None
    due_at: datetime | None
    after_hours: bool
    emergency_ack_by: int | None = None
    emergency_ack_at: datetime | None = None
    emergency_since: datetime | None = None
    snoozed_until: datetime | None = None
    closed_at: datetime | None = None
    version: int = 1
    dirty: bool = False
    merged_into: ThreadState | None = field(default=None, repr=False)
    # Only auto-handled (consent) messages so far: closed, and the patient's next message
    # within the window joins it (and reopens it) as if it were the thread's first.
    auto_only: bool = False
    # The values last read from or written to the store (``values()`` minus ``updated_at``):
    # an update writes only the columns that differ from them. So ``intents`` and
    # ``channels`` are always replaced by new lists, never changed in place.
    saved: tuple[Any, ...] | None = field(default=None, repr=False)

    @classmethod
    def from_row(cls, row: Any) -> ThreadState:
        m = row._mapping
        state = cls(
            id=m["id"],
            patient_id=m["patient_id"],
            contact_id=m["contact_id"],
            status=m["status"],
            queue=m["queue"],
            urgency=m["urgency"],
            pinned=bool(m["pinned"]),
            intents=list(m["intents"] or []),
            channels=list(m["channels"] or []),
            subject=m["subject"],
            preview=m["preview"] or "",
            message_count=m["message_count"],
            unread_count=m["unread_count"],
            first_message_at=m["first_message_at"],
            last_message_at=m["last_message_at"],
            last_inbound_at=m["last_inbound_at"],
            due_at=m["due_at"],
            after_hours=bool(m["after_hours"]),
            emergency_ack_by=m["emergency_ack_by"],
            emergency_ack_at=m["emergency_ack_at"],
            emergency_since=m["emergency_since"],
            snoozed_until=m["snoozed_until"],
            closed_at=m["closed_at"],
            version=m["version"],
        )
        state.auto_only = state.status == _CLOSED and is_consent_only(state.intents)
        state.saved = state.values(None)[:-1]
        return state

    @classmethod
    def new(cls, patient_id: int | None, contact_id: int | None, at: datetime) -> ThreadState:
        # positional (field order above): this runs for every new thread of a bulk import
        return cls(
            None,  # id
            patient_id,
            contact_id,
            _OPEN,  # status
            "",  # queue
            _ROUTINE,  # urgency
            False,  # pinned
            [],  # intents
            [],  # channels
            None,  # subject
            "",  # preview
            0,  # message_count
            0,  # unread_count
            at,  # first_message_at
            at,  # last_message_at
            None,  # last_inbound_at
            None,  # due_at
            False,  # after_hours
            None,  # emergency_ack_by
            None,  # emergency_ack_at
            None,  # emergency_since
            None,  # snoozed_until
            None,  # closed_at
            1,  # version
            True,  # dirty
        )

    def resolve(self) -> ThreadState:
        """The thread this one now lives in (itself unless it was merged into another)."""
        state = self
        while state.merged_into is not None:
            state = state.merged_into
        return state

    def within(self, at: datetime, window: timedelta) -> bool:
        """Whether a message at ``at`` is recent enough to join (the thread's span widened by ``window``)."""
        return self.first_message_at - window <= at <= self.last_message_at + window

    def values(self, now: datetime | None) -> tuple[Any, ...]:
        """``row(now)``'s values, in ``row``'s column order (the bulk writers' fast path)."""
        return (
            self.patient_id,
            self.contact_id,
            self.status,
            self.queue,
            self.urgency,
            self.pinned,
            self.intents,
            self.channels,
            self.subject,
            self.preview,
            self.message_count,
            self.unread_count,
            self.first_message_at,
            self.last_message_at,
            self.last_inbound_at,
            self.due_at,
            self.after_hours,
            self.emergency_ack_by,
            self.emergency_ack_at,
            self.emergency_since,
            self.snoozed_until,
            self.closed_at,
            now,
        )

    def row(self, now: datetime) -> dict[str, Any]:
        """The column values to write (insert or update)."""
        return {
            "patient_id": self.patient_id,
            "contact_id": self.contact_id,
            "status": self.status,
            "queue": self.queue,
            "urgency": self.urgency,
            "pinned": self.pinned,
            "intents": self.intents,
            "channels": self.channels,
            "subject": self.subject,
            "preview": self.preview,
            "message_count": self.message_count,
            "unread_count": self.unread_count,
            "first_message_at": self.first_message_at,
            "last_message_at": self.last_message_at,
            "last_inbound_at": self.last_inbound_at,
            "due_at": self.due_at,
            "after_hours": self.after_hours,
            "emergency_ack_by": self.emergency_ack_by,
            "emergency_ack_at": self.emergency_ack_at,
            "emergency_since": self.emergency_since,
            "snoozed_until": self.snoozed_until,
            "closed_at": self.closed_at,
            "updated_at": now,
        }


def is_consent_only(intents: Sequence[str]) -> bool:
    """True when every intent is a consent keyword (STOP/START/HELP) and there is at least one."""
    return bool(intents) and all(i.startswith(_CONSENT) for i in intents)


def route_new(triage: Triage, has_patient: bool) -> str:
    """The queue of a thread started by a message with this triage."""
    if triage.classification.urgency == _EMERGENCY:
        return QUEUE_EMERGENCY
    if not has_patient:
        return QUEUE_UNMATCHED
    return triage.queue


def apply_message(
    state: ThreadState,
    *,
    channel: str,
    at: datetime,
    body: str,
    subject: str | None,
    triage: Triage,
    reopen: bool = False,
) -> None:
    """Fold one inbound message and its triage into ``state`` (see the module docstring).

    An auto-handled message (``triage.auto_handled``: consent only, routine) is recorded
    but is not work: no unread, no due time, no queue, urgency or primary-intent change, no
    reopening; a thread it starts is created closed (``closed_at`` = its time).
    """
    c = triage.classification
    urgency = c.urgency
    first = state.message_count == 0
    auto = triage.auto_handled and urgency != _EMERGENCY  # safety first: an emergency is always work
    newest = first or at >= state.last_message_at
    intents = c.intents

    if auto:
        if first:
            state.queue = route_new(triage, state.patient_id is not None)
            state.urgency = str(urgency)
            state.status = _CLOSED
            state.closed_at = at
            state.auto_only = True
        current = state.intents
        if intents and not all(i in current for i in intents):
            state.intents = current + [i for i in intents if i not in current]
    else:
        # a thread that so far holds only auto-handled messages, or only what we sent (an
        # appointment reminder), is routed as if this were its first
        as_first = first or state.auto_only or state.last_inbound_at is None
        old_rank = _RANK.get(state.urgency, 2)
        new_rank = _RANK.get(urgency, 2)
        if as_first:
            state.queue = route_new(triage, state.patient_id is not None)
        elif urgency == _EMERGENCY:
            state.queue = QUEUE_EMERGENCY
        elif state.queue == QUEUE_EMERGENCY:
            pass  # staff take an emergency thread out of that queue, ingest never does
        elif state.patient_id is None:
            state.queue = QUEUE_UNMATCHED
        elif new_rank < old_rank:
            state.queue = triage.queue

        # intents: union, the primary of the most urgent (ties: latest) message first.
        # (Lists are replaced, never changed in place: ``saved`` holds the old ones.)
        if intents:
            current = state.intents
            head = intents[0]
            merged = current
            if (as_first or new_rank < old_rank or (new_rank == old_rank and newest)) and (
                not current or current[0] != head
            ):
                merged = [head, *(i for i in current if i != head)]
            if len(intents) > 1 or head not in merged:
                extra = [i for i in intents if i not in merged]
                if extra:
                    merged = merged + extra
            state.intents = merged
        if as_first or new_rank < old_rank:
            state.urgency = str(urgency)

        if urgency == _EMERGENCY:
            since = state.emergency_since
            if not state.pinned or since is None or at < since:
                state.emergency_since = at  # a new emergency (or an earlier message of this one)
            state.pinned = True
            state.emergency_ack_by = None
            state.emergency_ack_at = None
        state.unread_count += 1
        due_at = triage.due_at
        if due_at is not None and (state.due_at is None or due_at < state.due_at):
            state.due_at = due_at
        status = state.status
        if status == _CLOSED:
            if reopen or state.auto_only:
                state.status = _OPEN
                state.closed_at = None
        elif status != _OPEN:
            state.status = _OPEN
            state.snoozed_until = None
        state.auto_only = False

    if channel not in state.channels:
        state.channels = sorted([*state.channels, channel])
    state.message_count += 1
    if newest:
        state.last_message_at = at
        state.preview = make_preview(body, subject)
        state.after_hours = bool(triage.after_hours)
    if first or at < state.first_message_at:
        state.first_message_at = at
    last_in = state.last_inbound_at
    if last_in is None or at > last_in:
        state.last_inbound_at = at
    if subject and not state.subject and subject.strip():
        state.subject = subject.strip()[:998]
    state.dirty = True


def merge_into(target: ThreadState, other: ThreadState) -> None:
    """Fold thread ``other`` into ``target`` (an email chain found to join two threads)."""
    if target.patient_id is None:
        target.patient_id = other.patient_id
    if target.contact_id is None:
        target.contact_id = other.contact_id
    if urgency_rank(other.urgency) < urgency_rank(target.urgency):
        target.urgency = other.urgency
        if other.queue == QUEUE_EMERGENCY or target.queue != QUEUE_EMERGENCY:
            target.queue = other.queue
        target.intents = list(other.intents) + [i for i in target.intents if i not in other.intents]
    else:
        target.intents = target.intents + [i for i in other.intents if i not in target.intents]
    if other.pinned:
        since = other.emergency_since
        if target.pinned and target.emergency_since is not None:
            since = target.emergency_since if since is None else min(since, target.emergency_since)
        target.emergency_since = since
        target.pinned = True
        target.emergency_ack_by = None
        target.emergency_ack_at = None
    target.channels = sorted(set(target.channels) | set(other.channels))
    target.message_count += other.message_count
    target.unread_count += other.unread_count
    if other.last_message_at > target.last_message_at:
        target.last_message_at = other.last_message_at
        target.preview = other.preview
        target.after_hours = other.after_hours
    target.first_message_at = min(target.first_message_at, other.first_message_at)
    if other.last_inbound_at and (target.last_inbound_at is None or other.last_inbound_at > target.last_inbound_at):
        target.last_inbound_at = other.last_inbound_at
    target.subject = target.subject or other.subject
    if other.due_at and (target.due_at is None or other.due_at < target.due_at):
        target.due_at = other.due_at
    if other.status != _CLOSED and target.status == _CLOSED:
        target.status = other.status
        target.closed_at = None
    target.auto_only = target.auto_only and other.auto_only
    target.dirty = True
    other.merged_into = target
    other.dirty = False


def requeue_after_match(triage_engine: Any, rows: Iterable[Any]) -> str | None:
    """The queue a formerly unmatched thread belongs in once its patient is known.

    ``rows`` are the thread's inbound messages ``(body, subject, channel, at, reminder_reply)`` in
    time order (``reminder_reply``: an SMS answering a reminder, as ingest marked it); they are
    re-triaged and folded exactly as ingest would have with the patient known.
    """
    state: ThreadState | None = None
    for body, subject, channel, at, reminder_reply in rows:
        if state is None:
            state = ThreadState.new(patient_id=0, contact_id=None, at=at)
        t = triage_engine.triage(body, subject, Channel(channel), at, reminder_reply=reminder_reply)
        apply_message(state, channel=channel, at=at, body=body, subject=subject, triage=t)
    return state.queue if state else None
