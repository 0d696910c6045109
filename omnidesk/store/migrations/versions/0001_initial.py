"""The first schema: patients, contacts, staff, threads, messages, attachments, appointments,
channel cursors, audit events, outbox, opt-outs, settings; full-text search over messages.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

Matches omnidesk/store/schema.py exactly (tests/store/test_migrations.py compares them).
Full-text search is not in schema.py's metadata (it differs per database):
- SQLite: an FTS5 external-content table ``messages_fts`` (rowid = messages.id) kept in
  step by triggers on insert, delete and update of subject/body. ``detail=full`` (the
  default) because a quoted term that FTS5's tokenizer splits becomes a phrase, which
  the smaller detail modes refuse; a 3-character prefix index so search-as-you-type
  never makes FTS5 materialize a common word's whole doclist (see store/search.py);
  ``columnsize=0`` because hits are ordered by id, not bm25.
- PostgreSQL: a generated ``tsvector`` column ``messages.search_tsv`` (config ``simple``,
  so English and Spanish both work; the first 100,000 characters, which keeps a huge
  email under tsvector's 1 MB limit) with a GIN index ``ix_messages_search``.

Queue counters are not in schema.py's metadata either (they are derived, kept by triggers):
``queue_stats`` holds per (status, queue) the number of threads, of threads with unread
messages and of pinned threads, so the queue sidebar and list totals read a few rows
instead of counting 100k index entries (see omnidesk/store/queue_stats.py).
- SQLite (one writer at a time): one row per (status, queue) at ``txid = 0``, updated by
  row triggers on insert, delete and a relevant update (status, queue, pinned, or
  unread_count crossing zero; the ``WHEN`` clause skips every other update).
- PostgreSQL (concurrent writers, MVCC): writers only append delta rows
  (``txid = txid_current()``), so they never wait on, deadlock over, or pile row versions
  on a shared counter; readers sum the rows, and a reader folds committed deltas into the
  ``txid = 0`` rows now and then. Inserts and deletes are counted once per statement
  (transition tables), updates per row behind the same ``WHEN`` filter.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the schema's types (a migration must not change when the code does).
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = sa.DateTime(timezone=True)

SQLITE_FTS = [
    """CREATE VIRTUAL TABLE messages_fts USING fts5(
        subject, body,
        content='messages', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2',
        prefix='3',
        columnsize=0
    )""",
    """CREATE TRIGGER messages_fts_ai AFTER INSERT ON messages BEGIN
        INSERT INTO messages_fts(rowid, subject, body) VALUES (new.id, new.subject, new.body);
    END""",
    """CREATE TRIGGER messages_fts_ad AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, subject, body) VALUES ('delete', old.id, old.subject, old.body);
    END""",
    """CREATE TRIGGER messages_fts_au AFTER UPDATE OF subject, body ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, subject, body) VALUES ('delete', old.id, old.subject, old.body);
        INSERT INTO messages_fts(rowid, subject, body) VALUES (new.id, new.subject, new.body);
    END""",
]

_ADD = (
    "n_threads = queue_stats.n_threads + excluded.n_threads, "
    "n_unread = queue_stats.n_unread + excluded.n_unread, "
    "n_pinned = queue_stats.n_pinned + excluded.n_pinned"
)


def _sqlite_add(row: str, sign: str) -> str:
    return f"""INSERT INTO queue_stats (txid, status, queue, n_threads, n_unread, n_pinned)
        VALUES (0, {row}.status, {row}.queue, {sign}1, {sign}({row}.unread_count > 0), {sign}({row}.pinned <> 0))
        ON CONFLICT (txid, status, queue) DO UPDATE SET {_ADD};"""


_RELEVANT_SQLITE = """old.status IS NOT new.status OR old.queue IS NOT new.queue OR old.pinned IS NOT new.pinned
        OR (old.unread_count > 0) IS NOT (new.unread_count > 0)"""
_RELEVANT_PG = """OLD.status IS DISTINCT FROM NEW.status OR OLD.queue IS DISTINCT FROM NEW.queue
        OR OLD.pinned IS DISTINCT FROM NEW.pinned OR (OLD.unread_count > 0) IS DISTINCT FROM (NEW.unread_count > 0)"""

SQLITE_QUEUE_STATS = [
    f"""CREATE TRIGGER queue_stats_ai AFTER INSERT ON threads BEGIN
        {_sqlite_add("new", "")}
    END""",
    f"""CREATE TRIGGER queue_stats_ad AFTER DELETE ON threads BEGIN
        {_sqlite_add("old", "-")}
    END""",
    f"""CREATE TRIGGER queue_stats_au AFTER UPDATE OF status, queue, pinned, unread_count ON threads
    WHEN {_RELEVANT_SQLITE}
    BEGIN
        {_sqlite_add("old", "-")}
        {_sqlite_add("new", "")}
    END""",
]

# PostgreSQL: rows are only ever appended by writers (never updated in place). Updating one
# counter row per thread change costs O(n²) in a big transaction (every update of a row adds
# a version the next one has to step over: 40k thread inserts took 18 s instead of 4) and makes
# concurrent writers wait for each other. The functions name the table with its schema (the
# one being migrated), so a session with another search_path (an admin, a test harness)
# writing ``threads`` still counts; ``SET search_path FROM CURRENT`` would do the same but
# replans the function's statements on every call (+30-50 µs per changed thread).
def _pg_queue_stats(table: str) -> list[str]:
    delta = f"INSERT INTO {table} (txid, status, queue, n_threads, n_unread, n_pinned)"
    return [
        f"CREATE UNIQUE INDEX uq_queue_stats_folded ON {table} (status, queue) WHERE txid = 0",
        f"""CREATE FUNCTION queue_stats_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            {delta}
            SELECT txid_current(), status, queue, count(*),
                   count(*) FILTER (WHERE unread_count > 0), count(*) FILTER (WHERE pinned)
            FROM new_rows GROUP BY status, queue;
            RETURN NULL;
        END $$""",
        f"""CREATE FUNCTION queue_stats_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            {delta}
            SELECT txid_current(), status, queue, -count(*),
                   -count(*) FILTER (WHERE unread_count > 0), -count(*) FILTER (WHERE pinned)
            FROM old_rows GROUP BY status, queue;
            RETURN NULL;
        END $$""",
        f"""CREATE FUNCTION queue_stats_updated() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF OLD.status = NEW.status AND OLD.queue = NEW.queue THEN
                {delta}
                VALUES (txid_current(), NEW.status, NEW.queue, 0,
                        (NEW.unread_count > 0)::int - (OLD.unread_count > 0)::int, NEW.pinned::int - OLD.pinned::int);
            ELSE
                {delta}
                VALUES (txid_current(), OLD.status, OLD.queue, -1, -(OLD.unread_count > 0)::int, -OLD.pinned::int),
                       (txid_current(), NEW.status, NEW.queue, 1, (NEW.unread_count > 0)::int, NEW.pinned::int);
            END IF;
            RETURN NULL;
        END $$""",
        f"""CREATE FUNCTION queue_stats_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            DELETE FROM {table};
            RETURN NULL;
        END $$""",
        """CREATE TRIGGER queue_stats_ins AFTER INSERT ON threads REFERENCING NEW TABLE AS new_rows
            FOR EACH STATEMENT EXECUTE FUNCTION queue_stats_inserted()""",
        """CREATE TRIGGER queue_stats_del AFTER DELETE ON threads REFERENCING OLD TABLE AS old_rows
            FOR EACH STATEMENT EXECUTE FUNCTION queue_stats_deleted()""",
        f"""CREATE TRIGGER queue_stats_upd AFTER UPDATE OF status, queue, pinned, unread_count ON threads
            FOR EACH ROW WHEN ({_RELEVANT_PG}) EXECUTE FUNCTION queue_stats_updated()""",
        """CREATE TRIGGER queue_stats_trunc AFTER TRUNCATE ON threads
            FOR EACH STATEMENT EXECUTE FUNCTION queue_stats_truncated()""",
    ]


QUEUE_STATS_BACKFILL = """INSERT INTO queue_stats (txid, status, queue, n_threads, n_unread, n_pinned)
    SELECT 0, status, queue, count(*), sum(CASE WHEN unread_count > 0 THEN 1 ELSE 0 END),
           sum(CASE WHEN pinned THEN 1 ELSE 0 END)
    FROM threads GROUP BY status, queue"""


def create_queue_stats(dialect: str, *, backfill: bool = False) -> None:
    """The counters table and its triggers (``backfill``: count the threads already there)."""
    # SQLite: one row per (status, queue), keyed (a WITHOUT ROWID table: one b-tree to update).
    # PostgreSQL: appended rows, unique only once folded (``txid = 0``; index in PG_QUEUE_STATS).
    key = [sa.PrimaryKeyConstraint("txid", "status", "queue", name=op.f("pk_queue_stats"))] if dialect == "sqlite" else []
    op.create_table(
        "queue_stats",
        sa.Column("txid", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("queue", sa.String(length=32), nullable=False),
        sa.Column("n_threads", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("n_unread", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("n_pinned", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        *key,
        sqlite_with_rowid=False,
    )
    if dialect == "sqlite":
        ddls = SQLITE_QUEUE_STATS
    else:
        op.execute("LOCK TABLE threads IN SHARE ROW EXCLUSIVE MODE")  # no writer between count and triggers
        schema = op.get_bind().execute(sa.text("SELECT current_schema()")).scalar_one()
        ddls = _pg_queue_stats('"' + schema.replace('"', '""') + '".queue_stats')
    for ddl in ddls:
        op.execute(ddl)
    if backfill:
        op.execute(QUEUE_STATS_BACKFILL)


def drop_queue_stats(dialect: str) -> None:
    if dialect == "sqlite":
        for name in ("queue_stats_au", "queue_stats_ad", "queue_stats_ai"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        for name in ("queue_stats_trunc", "queue_stats_upd", "queue_stats_del", "queue_stats_ins"):
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON threads")
        for name in ("queue_stats_truncated", "queue_stats_updated", "queue_stats_deleted", "queue_stats_inserted"):
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    op.drop_table("queue_stats")


PG_FTS = [
    """ALTER TABLE messages ADD COLUMN search_tsv tsvector GENERATED ALWAYS AS (
        to_tsvector('simple'::regconfig, left(coalesce(subject, '') || ' ' || body, 100000))
    ) STORED""",
    "CREATE INDEX ix_messages_search ON messages USING gin (search_tsv)",
]


def upgrade() -> None:
    op.create_table(
        "patients",
        sa.Column("id", BigId, nullable=False),
        sa.Column("mrn", sa.String(length=64), nullable=False),
        sa.Column("first_name", sa.String(length=200), nullable=False),
        sa.Column("last_name", sa.String(length=200), nullable=False),
        sa.Column("dob", sa.Date(), nullable=True),
        sa.Column("preferred_language", sa.String(length=16), nullable=True),
        sa.Column("preferred_channel", sa.String(length=16), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patients")),
        sa.UniqueConstraint("mrn", name=op.f("uq_patients_mrn")),
    )
    op.create_index(op.f("ix_patients_name"), "patients", ["last_name", "first_name"], unique=False)

    op.create_table(
        "contacts",
        sa.Column("id", BigId, nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.String(length=320), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
        sa.UniqueConstraint("kind", "value", name=op.f("uq_contacts_kind_value")),
    )

    op.create_table(
        "patient_contacts",
        sa.Column("patient_id", BigId, nullable=False),
        sa.Column("contact_id", BigId, nullable=False),
        sa.Column("label", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_patient_contacts_contact_id_contacts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_patient_contacts_patient_id_patients"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("patient_id", "contact_id", name=op.f("pk_patient_contacts")),
    )
    op.create_index(op.f("ix_patient_contacts_contact"), "patient_contacts", ["contact_id"], unique=False)

    op.create_table(
        "staff",
        sa.Column("id", BigId, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff")),
        sa.UniqueConstraint("username", name=op.f("uq_staff_username")),
    )

    op.create_table(
        "threads",
        sa.Column("id", BigId, nullable=False),
        sa.Column("patient_id", BigId, nullable=True),
        sa.Column("contact_id", BigId, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("queue", sa.String(length=32), nullable=False),
        sa.Column("assignee_id", BigId, nullable=True),
        sa.Column("priority", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("urgency", sa.String(length=16), nullable=False),
        sa.Column("pinned", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("intents", sa.JSON(), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("preview", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("message_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("unread_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("first_message_at", UTC, nullable=False),
        sa.Column("last_message_at", UTC, nullable=False),
        sa.Column("last_inbound_at", UTC, nullable=True),
        sa.Column("due_at", UTC, nullable=True),
        sa.Column("after_hours", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("emergency_ack_by", BigId, nullable=True),
        sa.Column("emergency_ack_at", UTC, nullable=True),
        sa.Column("snoozed_until", UTC, nullable=True),
        sa.Column("closed_at", UTC, nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["staff.id"], name=op.f("fk_threads_assignee_id_staff"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_threads_contact_id_contacts"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["emergency_ack_by"], ["staff.id"], name=op.f("fk_threads_emergency_ack_by_staff"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_threads_patient_id_patients"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_threads")),
    )
    op.create_index(
        op.f("ix_threads_inbox"),
        "threads",
        [
            "status",
            "queue",
            sa.literal_column("pinned DESC"),
            sa.literal_column("last_message_at DESC"),
            sa.literal_column("id DESC"),
        ],
        unique=False,
    )
    op.create_index(
        op.f("ix_threads_all"),
        "threads",
        [
            "status",
            sa.literal_column("pinned DESC"),
            sa.literal_column("last_message_at DESC"),
            sa.literal_column("id DESC"),
        ],
        unique=False,
    )
    op.create_index(op.f("ix_threads_patient"), "threads", ["patient_id", "last_message_at"], unique=False)
    op.create_index(op.f("ix_threads_contact"), "threads", ["contact_id", "last_message_at"], unique=False)

    op.create_table(
        "messages",
        sa.Column("id", BigId, nullable=False),
        sa.Column("thread_id", BigId, nullable=False),
        sa.Column("contact_id", BigId, nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("provider_id", sa.String(length=255), nullable=False),
        sa.Column("sender", sa.String(length=320), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("delivery_status", sa.String(length=32), nullable=True),
        sa.Column("message_id", sa.String(length=998), nullable=True),
        sa.Column("in_reply_to", sa.String(length=998), nullable=True),
        sa.Column("references", sa.JSON(), nullable=False),
        sa.Column("intents", sa.JSON(), nullable=False),
        sa.Column("urgency", sa.String(length=16), nullable=False),
        sa.Column("matched", sa.JSON(), nullable=False),
        sa.Column("staff_id", BigId, nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_messages_contact_id_contacts"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_messages_staff_id_staff"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"], ["threads.id"], name=op.f("fk_messages_thread_id_threads"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint("channel", "provider_id", name=op.f("uq_messages_channel_provider_id")),
    )
    op.create_index(op.f("ix_messages_thread_at"), "messages", ["thread_id", "at", "id"], unique=False)
    op.create_index(op.f("ix_messages_message_id"), "messages", ["message_id"], unique=False)

    op.create_table(
        "message_refs",
        sa.Column("ref", sa.String(length=998), nullable=False),
        sa.Column("thread_id", BigId, nullable=False),
        sa.ForeignKeyConstraint(
            ["thread_id"], ["threads.id"], name=op.f("fk_message_refs_thread_id_threads"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("ref", "thread_id", name=op.f("pk_message_refs")),
    )
    op.create_index(op.f("ix_message_refs_thread"), "message_refs", ["thread_id"], unique=False)

    op.create_table(
        "attachments",
        sa.Column("id", BigId, nullable=False),
        sa.Column("message_id", BigId, nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_attachments_message_id_messages"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
    )
    op.create_index(op.f("ix_attachments_message"), "attachments", ["message_id"], unique=False)

    op.create_table(
        "appointments",
        sa.Column("id", BigId, nullable=False),
        sa.Column("patient_id", BigId, nullable=False),
        sa.Column("start_at", UTC, nullable=False),
        sa.Column("duration_min", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=200), nullable=False),
        sa.Column("location", sa.String(length=200), server_default=sa.text("''"), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("visit_type", sa.String(length=100), server_default=sa.text("''"), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_appointments_patient_id_patients"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointments")),
        sa.UniqueConstraint("patient_id", "start_at", "provider", name=op.f("uq_appointments_slot")),
    )
    op.create_index(op.f("ix_appointments_start"), "appointments", ["start_at"], unique=False)

    op.create_table(
        "channel_cursors",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_channel_cursors")),
    )

    op.create_table(
        "audit_events",
        sa.Column("id", BigId, nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("staff_id", BigId, nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("thread_id", sa.BigInteger(), nullable=True),
        sa.Column("patient_id", sa.BigInteger(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_id"], ["staff.id"], name=op.f("fk_audit_events_staff_id_staff"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_events_hash")),
    )
    op.create_index(op.f("ix_audit_thread"), "audit_events", ["thread_id"], unique=False)
    op.create_index(op.f("ix_audit_patient"), "audit_events", ["patient_id"], unique=False)

    op.create_table(
        "outbox",
        sa.Column("id", BigId, nullable=False),
        sa.Column("thread_id", BigId, nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", UTC, nullable=True),
        sa.Column("claimed_at", UTC, nullable=True),
        sa.Column("provider_id", sa.String(length=255), nullable=True),
        sa.Column("error", sa.String(length=255), nullable=True),
        sa.Column("kind", sa.String(length=32), server_default=sa.text("'reply'"), nullable=False),
        sa.Column("created_by", BigId, nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("sent_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["staff.id"], name=op.f("fk_outbox_created_by_staff"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["thread_id"], ["threads.id"], name=op.f("fk_outbox_thread_id_threads"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    op.create_index(op.f("ix_outbox_status"), "outbox", ["status", "next_attempt_at"], unique=False)

    op.create_table(
        "opt_outs",
        sa.Column("contact_id", BigId, nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("opted_out_at", UTC, nullable=False),
        sa.Column("source_message_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"], ["contacts.id"], name=op.f("fk_opt_outs_contact_id_contacts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("contact_id", "channel", name=op.f("pk_opt_outs")),
    )

    op.create_table(
        "settings",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_settings")),
    )

    dialect = op.get_context().dialect.name
    if dialect == "sqlite":
        for ddl in SQLITE_FTS:
            op.execute(ddl)
    elif dialect == "postgresql":
        for ddl in PG_FTS:
            op.execute(ddl)
    create_queue_stats(dialect)


def downgrade() -> None:
    dialect = op.get_context().dialect.name
    drop_queue_stats(dialect)
    if dialect == "sqlite":
        for name in ("messages_fts_au", "messages_fts_ad", "messages_fts_ai"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS messages_fts")
    for table in (
        "settings",
        "opt_outs",
        "outbox",
        "audit_events",
        "channel_cursors",
        "appointments",
        "attachments",
        "message_refs",
        "messages",
        "threads",
        "staff",
        "patient_contacts",
        "contacts",
        "patients",
    ):
        op.drop_table(table)
