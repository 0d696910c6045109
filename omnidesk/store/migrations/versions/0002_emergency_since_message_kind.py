"""When a thread became an emergency; what an outbound message was for.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05

- ``threads.emergency_since``: when the thread last became an emergency waiting for a human
  (its first emergency message while it was not already flagged); kept after the
  acknowledgment, replaced when a new emergency flags the thread again. Backfilled for
  every flagged (pinned) thread from its earliest inbound emergency message after the last
  acknowledgment (else its newest emergency message, else its last message).
- ``messages.kind``: what an outbound message was for (``reminder``, ``reply``, …); NULL for
  inbound messages. ``ix_messages_outbound_contact`` (outbound rows only, so ingest's
  inbound inserts never touch it) finds the last text sent to a number: a reply to an
  appointment reminder is read as one (CANCEL is then a cancellation too).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = sa.DateTime(timezone=True)  # frozen copy of the schema's type

BACKFILL = """UPDATE threads SET emergency_since = COALESCE(
    (SELECT min(m.at) FROM messages m
      WHERE m.thread_id = threads.id AND m.direction = 'inbound' AND m.urgency = 'emergency'
        AND (threads.emergency_ack_at IS NULL OR m.at > threads.emergency_ack_at)),
    (SELECT max(m.at) FROM messages m
      WHERE m.thread_id = threads.id AND m.direction = 'inbound' AND m.urgency = 'emergency'),
    threads.last_message_at)
WHERE pinned"""


def upgrade() -> None:
    op.add_column("threads", sa.Column("emergency_since", UTC, nullable=True))
    op.add_column("messages", sa.Column("kind", sa.String(length=32), nullable=True))
    outbound = sa.text("direction = 'outbound'")
    op.create_index(
        "ix_messages_outbound_contact",
        "messages",
        ["contact_id", "at"],
        sqlite_where=outbound,
        postgresql_where=outbound,
    )
    op.execute(BACKFILL)


def downgrade() -> None:
    op.drop_index("ix_messages_outbound_contact", table_name="messages")
    op.drop_column("messages", "kind")
    op.drop_column("threads", "emergency_since")
