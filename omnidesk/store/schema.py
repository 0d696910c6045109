"""The thread store's tables (SQLAlchemy Core; the same schema on SQLite and PostgreSQL).

Design notes:
- ``threads`` is kept current at ingest (counts, last message, preview, tags), so the
  inbox page is an index range scan and never aggregates over ``messages``.
- The inbox order is ``(pinned DESC, last_message_at DESC, id DESC)``; ``pinned`` is
  true for an unacknowledged emergency. ``ix_threads_inbox`` serves it per status+queue.
- A contact (phone in E.164 or lower-cased email) exists once; ``patient_contacts``
  links it to zero, one or several patients (households share numbers).
- Every time is UTC (``UTCDateTime`` stores naive UTC on SQLite, ``timestamptz`` on
  PostgreSQL, and always hands back aware datetimes).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeDecorator

# Integer primary keys that are BIGINT on PostgreSQL and the rowid alias on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC; refuses naive datetimes on the way in, returns aware ones on the way out."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware UTC time")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


naming = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=naming)

patients = Table(
    "patients",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("mrn", String(64), nullable=False, unique=True),
    Column("first_name", String(200), nullable=False),
    Column("last_name", String(200), nullable=False),
    Column("dob", Date),
    Column("preferred_language", String(16)),
    Column("preferred_channel", String(16)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
Index("ix_patients_name", patients.c.last_name, patients.c.first_name)

contacts = Table(
    "contacts",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("kind", String(8), nullable=False),  # ContactKind
    Column("value", String(320), nullable=False),  # E.164 phone or lower-cased email
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("kind", "value", name="uq_contacts_kind_value"),
)

patient_contacts = Table(
    "patient_contacts",
    metadata,
    Column("patient_id", ForeignKey("patients.id", ondelete="CASCADE"), primary_key=True),
    Column("contact_id", ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True),
    Column("label", String(16), nullable=False),  # mobile | home | email
)
Index("ix_patient_contacts_contact", patient_contacts.c.contact_id)

staff = Table(
    "staff",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("role", String(16), nullable=False),  # Role
    Column("password_hash", String(255)),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", UTCDateTime, nullable=False),
)

threads = Table(
    "threads",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("patient_id", ForeignKey("patients.id", ondelete="SET NULL")),
    Column("contact_id", ForeignKey("contacts.id", ondelete="SET NULL")),
    Column("status", String(16), nullable=False),  # ThreadStatus
    Column("queue", String(32), nullable=False),
    Column("assignee_id", ForeignKey("staff.id", ondelete="SET NULL")),
    Column("priority", Integer, nullable=False, server_default=text("0")),
    Column("urgency", String(16), nullable=False),  # Urgency
    Column("pinned", Boolean, nullable=False, server_default=text("false")),
    Column("intents", JSON, nullable=False),  # list[str], primary first
    Column("channels", JSON, nullable=False),  # sorted list[str]
    Column("subject", Text),
    Column("preview", Text, nullable=False, server_default=text("''")),
    Column("message_count", Integer, nullable=False, server_default=text("0")),
    Column("unread_count", Integer, nullable=False, server_default=text("0")),
    Column("first_message_at", UTCDateTime, nullable=False),
    Column("last_message_at", UTCDateTime, nullable=False),
    Column("last_inbound_at", UTCDateTime),
    Column("due_at", UTCDateTime),
    Column("after_hours", Boolean, nullable=False, server_default=text("false")),
    Column("emergency_ack_by", ForeignKey("staff.id", ondelete="SET NULL")),
    Column("emergency_ack_at", UTCDateTime),
    # when it last became an emergency waiting for a human (kept after the acknowledgment)
    Column("emergency_since", UTCDateTime),
    Column("snoozed_until", UTCDateTime),
    Column("closed_at", UTCDateTime),
    Column("version", Integer, nullable=False, server_default=text("1")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)
Index(
    "ix_threads_inbox",
    threads.c.status,
    threads.c.queue,
    threads.c.pinned.desc(),
    threads.c.last_message_at.desc(),
    threads.c.id.desc(),
)
Index(
    "ix_threads_all",
    threads.c.status,
    threads.c.pinned.desc(),
    threads.c.last_message_at.desc(),
    threads.c.id.desc(),
)
# Queue counts (threads, unread, pinned per status and queue) are not counted from an index:
# the ``queue_stats`` table is kept current by triggers (migration 0001, store/queue_stats.py).
Index("ix_threads_patient", threads.c.patient_id, threads.c.last_message_at)
Index("ix_threads_contact", threads.c.contact_id, threads.c.last_message_at)

messages = Table(
    "messages",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("thread_id", ForeignKey("threads.id", ondelete="CASCADE"), nullable=False),
    Column("contact_id", ForeignKey("contacts.id", ondelete="SET NULL")),
    Column("channel", String(16), nullable=False),  # Channel
    Column("direction", String(8), nullable=False),  # Direction
    Column("provider_id", String(255), nullable=False),
    Column("sender", String(320), nullable=False),
    Column("recipient", String(320), nullable=False),
    Column("subject", Text),
    Column("body", Text, nullable=False),
    Column("at", UTCDateTime, nullable=False),  # received (inbound) or sent (outbound)
    Column("delivery_status", String(32)),
    Column("message_id", String(998)),  # email Message-ID, without angle brackets
    Column("in_reply_to", String(998)),
    Column("references", JSON, nullable=False),  # list[str]
    Column("intents", JSON, nullable=False),  # list[str]
    Column("urgency", String(16), nullable=False),
    Column("matched", JSON, nullable=False),  # list[{"rule","sets","text"}]
    Column("staff_id", ForeignKey("staff.id", ondelete="SET NULL")),  # author of an outbound
    Column("kind", String(32)),  # what an outbound was for: reminder | reply | …; NULL inbound
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("channel", "provider_id", name="uq_messages_channel_provider_id"),
)
Index("ix_messages_thread_at", messages.c.thread_id, messages.c.at, messages.c.id)
Index("ix_messages_message_id", messages.c.message_id)
# The last texts sent to a number (an inbound message's contact_id is its sender, an
# outbound one's its recipient); outbound rows only, so inbound inserts never touch it.
_OUTBOUND = text("direction = 'outbound'")
Index(
    "ix_messages_outbound_contact",
    messages.c.contact_id,
    messages.c.at,
    sqlite_where=_OUTBOUND,
    postgresql_where=_OUTBOUND,
)

# Every email id a stored message carried (its Message-ID, In-Reply-To and References) →
# the thread it joined, so a reply finds its thread even when the parent arrives later,
# or never (siblings of a missing parent).
message_refs = Table(
    "message_refs",
    metadata,
    Column("ref", String(998), primary_key=True),
    Column("thread_id", ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True),
)
Index("ix_message_refs_thread", message_refs.c.thread_id)

attachments = Table(
    "attachments",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("message_id", ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
    Column("filename", String(255), nullable=False),
    Column("content_type", String(255), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("data", LargeBinary),  # bytes kept in the store (a blob table keeps backups whole)
)
Index("ix_attachments_message", attachments.c.message_id)

appointments = Table(
    "appointments",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("patient_id", ForeignKey("patients.id", ondelete="CASCADE"), nullable=False),
    Column("start_at", UTCDateTime, nullable=False),
    Column("duration_min", Integer, nullable=False),
    Column("provider", String(200), nullable=False),
    Column("location", String(200), nullable=False, server_default=text("''")),
    Column("status", String(32), nullable=False),
    Column("visit_type", String(100), nullable=False, server_default=text("''")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("patient_id", "start_at", "provider", name="uq_appointments_slot"),
)
Index("ix_appointments_start", appointments.c.start_at)

channel_cursors = Table(
    "channel_cursors",
    metadata,
    Column("name", String(200), primary_key=True),  # e.g. "imap:frontdesk@practice/INBOX"
    Column("value", JSON, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

audit_events = Table(
    "audit_events",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("at", UTCDateTime, nullable=False),
    Column("staff_id", ForeignKey("staff.id", ondelete="RESTRICT")),  # NULL = the system
    Column("action", String(64), nullable=False),
    Column("thread_id", BigInteger),  # no FK: the audit outlives what it describes
    Column("patient_id", BigInteger),
    Column("detail", JSON, nullable=False),  # ids and codes only, never PHI
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False, unique=True),
)
Index("ix_audit_thread", audit_events.c.thread_id)
Index("ix_audit_patient", audit_events.c.patient_id)

outbox = Table(
    "outbox",
    metadata,
    Column("id", BigId, primary_key=True),
    Column("thread_id", ForeignKey("threads.id", ondelete="CASCADE"), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("recipient", String(320), nullable=False),
    Column("subject", Text),
    Column("body", Text, nullable=False),
    Column("status", String(16), nullable=False),  # queued | sending | sent | failed
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", UTCDateTime),
    Column("claimed_at", UTCDateTime),
    Column("provider_id", String(255)),
    Column("error", String(255)),  # a code and a short reason, never PHI
    Column("kind", String(32), nullable=False, server_default=text("'reply'")),
    Column("created_by", ForeignKey("staff.id", ondelete="SET NULL")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
)
Index("ix_outbox_status", outbox.c.status, outbox.c.next_attempt_at)

opt_outs = Table(
    "opt_outs",
    metadata,
    Column("contact_id", ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True),
    Column("channel", String(16), primary_key=True),
    Column("opted_out_at", UTCDateTime, nullable=False),
    Column("source_message_id", BigInteger),
)

settings = Table(
    "settings",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", JSON, nullable=False),
)
