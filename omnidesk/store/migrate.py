"""Create or upgrade a database to the current schema.

TEMPORARY: uses ``metadata.create_all``; the store work replaces this with Alembic
(``upgrade(url)`` keeps its signature).
"""

from __future__ import annotations

from omnidesk.store.engine import make_engine
from omnidesk.store.schema import metadata


def upgrade(url: str | None = None) -> None:
    """Bring the database at ``url`` to the newest schema (idempotent)."""
    engine = make_engine(url)
    try:
        metadata.create_all(engine)
    finally:
        engine.dispose()
