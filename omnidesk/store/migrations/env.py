"""Alembic environment for omnidesk.

Run programmatically by :func:`omnidesk.store.migrate.upgrade`, which hands over an open
connection in ``config.attributes["connection"]`` (no alembic.ini needed). The version
table is created unqualified, i.e. in the first schema of the connection's search_path
on PostgreSQL. For ad-hoc use (``alembic revision --autogenerate``) see migrate.py.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from omnidesk.store.engine import make_engine
from omnidesk.store.schema import metadata
from omnidesk.store.search import include_object

config = context.config


def _configure(connection: Connection | None = None, url: str | None = None) -> None:
    context.configure(
        connection=connection,
        url=url,
        target_metadata=metadata,
        include_object=include_object,
        compare_type=True,
        transaction_per_migration=False,
        literal_binds=connection is None,
    )


def run_migrations_offline() -> None:
    _configure(url=config.attributes.get("url") or config.get_main_option("sqlalchemy.url"))
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(config.attributes.get("url") or config.get_main_option("sqlalchemy.url"))
    try:
        with engine.begin() as conn:
            _configure(conn)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
