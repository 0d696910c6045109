"""Plain domain types shared by every layer (stdlib only).

Nothing here touches the database, the network or the terminal. Times are
timezone-aware UTC ``datetime`` objects unless a field says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum


class Channel(StrEnum):
    """Where a message came from or goes to."""

    SMS = "sms"
    EMAIL = "email"
    VOICEMAIL = "voicemail"
    PORTAL = "portal"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class MessageKind(StrEnum):
    """What an outbound message was for (``messages.kind``; inbound messages have none)."""

    REMINDER = "reminder"  # an appointment reminder: a reply to it is read with that in mind
    REPLY = "reply"


class ThreadStatus(StrEnum):
    OPEN = "open"
    PENDING = "pending"
    SNOOZED = "snoozed"
    CLOSED = "closed"


class Urgency(StrEnum):
    """How soon a message needs a human; ``rank`` orders them (0 = most urgent)."""

    EMERGENCY = "emergency"
    URGENT = "urgent"
    ROUTINE = "routine"

    @property
    def rank(self) -> int:
        return _URGENCY_RANK[self]


_URGENCY_RANK = {Urgency.EMERGENCY: 0, Urgency.URGENT: 1, Urgency.ROUTINE: 2}


class Intent(StrEnum):
    """What the patient wants. A message carries one or more, primary first."""

    APPOINTMENT_BOOK = "appointment.book"
    APPOINTMENT_RESCHEDULE = "appointment.reschedule"
    APPOINTMENT_CANCEL = "appointment.cancel"
    APPOINTMENT_CONFIRM = "appointment.confirm"
    REFILL = "refill"
    BILLING = "billing"
    INSURANCE = "insurance"
    RESULTS = "results"
    RECORDS = "records"
    CLINICAL = "clinical"
    GENERAL = "general"
    CONSENT_OPT_OUT = "consent.opt_out"
    CONSENT_OPT_IN = "consent.opt_in"
    CONSENT_HELP = "consent.help"


class ContactKind(StrEnum):
    PHONE = "phone"
    EMAIL = "email"


class Role(StrEnum):
    FRONT_DESK = "front_desk"
    NURSE = "nurse"
    BILLING = "billing"
    MANAGER = "manager"
    ADMIN = "admin"


# Queue names are configurable strings; these are the defaults every practice starts with.
QUEUE_EMERGENCY = "emergency"
QUEUE_NURSE = "nurse"
QUEUE_BILLING = "billing"
QUEUE_FRONT_DESK = "front_desk"
QUEUE_UNMATCHED = "unmatched"

# Rows in one inbox page: about a screenful. The store's default, the console's list and the
# launch prefetch all read this, so a page read early is one the console can use.
INBOX_PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class AttachmentIn:
    """An attachment as a channel delivered it."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class InboundMessage:
    """One message from outside, normalized by a channel adapter or a file loader."""

    channel: Channel
    provider_id: str
    sender: str
    recipient: str
    body: str
    received_at: datetime
    subject: str | None = None
    message_id: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    attachments: tuple[AttachmentIn, ...] = ()


@dataclass(frozen=True, slots=True)
class RuleMatch:
    """Why a tag is on a message: the rule id, what it set, and the text it matched."""

    rule: str
    sets: str
    text: str


@dataclass(frozen=True, slots=True)
class Classification:
    """What the rules engine says about one message's text."""

    intents: tuple[str, ...]
    urgency: Urgency
    matched: tuple[RuleMatch, ...] = ()
    lang: str = "en"


@dataclass(frozen=True, slots=True)
class Triage:
    """Classification plus routing: the queue, the response target and the clock."""

    classification: Classification
    queue: str
    due_at: datetime | None
    after_hours: bool = False
    next_open_at: datetime | None = None
    # Consent-only (STOP/START/HELP) messages are answered automatically and logged: filed in a
    # queue for the record, but not waiting work (no due time, not counted as open work).
    auto_handled: bool = False


@dataclass(frozen=True, slots=True)
class StaffUser:
    id: int
    username: str
    display_name: str
    role: Role


@dataclass(frozen=True, slots=True)
class PageKey:
    """Keyset position in the inbox order: (pinned, last_message_at, id), all descending."""

    pinned: bool
    last_message_at: datetime
    thread_id: int


@dataclass(frozen=True, slots=True)
class QueueCount:
    queue: str
    label: str
    open_count: int
    unread_count: int = 0
    emergency_count: int = 0


@dataclass(frozen=True, slots=True)
class PatientBrief:
    id: int
    mrn: str
    name: str
    dob: date | None


@dataclass(frozen=True, slots=True)
class ThreadSummary:
    """One row of the inbox: everything the list shows, kept current at ingest."""

    id: int
    patient_id: int | None
    patient_name: str | None
    contact: str | None
    status: ThreadStatus
    queue: str
    priority: int
    urgency: Urgency
    intents: tuple[str, ...]
    channels: tuple[str, ...]
    message_count: int
    unread_count: int
    last_message_at: datetime
    preview: str
    subject: str | None
    assignee: str | None
    due_at: datetime | None
    after_hours: bool
    emergency_ack_by: str | None
    emergency_ack_at: datetime | None
    candidates: tuple[PatientBrief, ...] = ()
    # The store's ``threads.pinned`` (what the inbox is ordered and keyset-paged by); None
    # when the summary was built elsewhere, then ``pinned`` is derived from urgency and ack.
    stored_pinned: bool | None = None
    # ``threads.version`` when read: pass it back for optimistic concurrency (0 = unknown).
    version: int = 0
    # When the thread became the emergency that waits (``threads.emergency_since``: its first
    # emergency message since the last acknowledgment); kept after the acknowledgment (how long
    # it waited); None when the store does not say (never an emergency, or acknowledged before 0002).
    emergency_since: datetime | None = None

    @property
    def pinned(self) -> bool:
        """An unacknowledged emergency sits above everything else."""
        if self.stored_pinned is not None:
            return self.stored_pinned
        return self.urgency is Urgency.EMERGENCY and self.emergency_ack_at is None

    @property
    def key(self) -> PageKey:
        return PageKey(self.pinned, self.last_message_at, self.id)


@dataclass(frozen=True, slots=True)
class AttachmentView:
    id: int
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True, slots=True)
class MessageView:
    id: int
    channel: Channel
    direction: Direction
    sender: str
    recipient: str
    subject: str | None
    body: str
    at: datetime
    delivery_status: str | None
    intents: tuple[str, ...]
    urgency: Urgency
    matched: tuple[RuleMatch, ...]
    attachments: tuple[AttachmentView, ...] = ()
    kind: str | None = None  # what an outbound message was for (MessageKind)


@dataclass(frozen=True, slots=True)
class AppointmentView:
    id: int
    start_at: datetime
    duration_min: int
    provider: str
    location: str
    status: str
    visit_type: str


@dataclass(frozen=True, slots=True)
class OptOutView:
    """A number (or address) that asked not to be written to on a channel, and how it asked.

    ``words`` is the patient's message that asked (their text: show it as data, never
    markup). When that same message also asked to cancel an appointment (CANCEL answering a
    reminder), ``cancellation_queue`` is the queue of the thread that request waits in and
    ``cancellation_open`` whether that thread is still open.
    """

    contact: str
    channel: Channel
    at: datetime
    words: str | None = None
    cancellation_queue: str | None = None
    cancellation_open: bool = False
    thread_id: int | None = None


@dataclass(frozen=True, slots=True)
class PatientCard:
    id: int
    mrn: str
    first_name: str
    last_name: str
    dob: date | None
    preferred_language: str | None
    preferred_channel: str | None
    phones: tuple[str, ...]
    emails: tuple[str, ...]
    upcoming: tuple[AppointmentView, ...] = ()
    shared_contact: bool = False
    opt_outs: tuple[OptOutView, ...] = ()  # the patient's numbers and addresses that opted out

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass(frozen=True, slots=True)
class ThreadDetail:
    summary: ThreadSummary
    messages: tuple[MessageView, ...]
    patient: PatientCard | None
    opt_outs: tuple[OptOutView, ...] = ()  # the thread's sender and the patient's contacts that opted out


@dataclass(frozen=True, slots=True)
class SearchHit:
    message_id: int
    thread_id: int
    channel: Channel
    at: datetime
    patient_name: str | None
    subject: str | None
    snippet: str


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One message for a channel adapter to send (built from an outbox row)."""

    channel: Channel
    recipient: str
    body: str
    subject: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    outbox_id: int | None = None


@dataclass(frozen=True, slots=True)
class SendReceipt:
    """What a channel said about a send: its provider id and a status (``sent``, ``queued``, ``failed``).

    ``error`` is a provider code and a short reason, never PHI; ``permanent`` means do not retry.
    """

    provider_id: str | None
    status: str
    error: str | None = None
    permanent: bool = False


@dataclass(slots=True)
class IngestReport:
    """What one ingest run did. ``rejected`` holds (line number, reason) pairs; reasons carry no PHI."""

    new: int = 0
    duplicate: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)


@dataclass(slots=True)
class ImportReport:
    """What one CSV import did; ``errors`` holds (line number, reason) pairs."""

    added: int = 0
    updated: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    unchanged: int = 0  # rows that matched a stored record exactly (a re-import)
