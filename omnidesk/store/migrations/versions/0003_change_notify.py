"""PostgreSQL: notify listening consoles when a thread changes (the change feed).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05

A statement-level trigger on ``threads`` calls ``pg_notify('omnidesk_changes', <schema>)``.
PostgreSQL delivers it when the writing transaction commits and folds repeats within one
transaction into one, so a 10,000-message ingest wakes each console once. The payload names
the schema, so two stores in one database do not wake each other's consoles. SQLite has
no such mechanism; its consoles watch ``PRAGMA data_version`` (``omnidesk.store.changes``).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANNEL = "omnidesk_changes"  # frozen copy of omnidesk.store.changes.CHANNEL


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    schema = op.get_bind().execute(sa.text("SELECT current_schema()")).scalar_one()
    payload = schema.replace("'", "''")
    op.execute(
        f"""CREATE FUNCTION threads_changed_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{CHANNEL}', '{payload}');
            RETURN NULL;
        END $$"""
    )
    op.execute(
        """CREATE TRIGGER threads_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON threads
            FOR EACH STATEMENT EXECUTE FUNCTION threads_changed_notify()"""
    )


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS threads_changed ON threads")
    op.execute("DROP FUNCTION IF EXISTS threads_changed_notify()")
