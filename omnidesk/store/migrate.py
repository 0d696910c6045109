"""Create or upgrade a database to the current schema with Alembic, run from code.

The migration scripts ship inside the package (``omnidesk/store/migrations``); no
``alembic.ini`` is needed. On PostgreSQL everything — tables and the ``alembic_version``
table — goes to the first schema of the connection's ``search_path`` (tests use
``options=-csearch_path=<schema>`` to get a schema each).

For developers, a new revision::

    python -m omnidesk.store.migrate revision "add x" [--url sqlite:////tmp/dev.db]

autogenerates against a database migrated to head (default: a temporary SQLite file).
"""

from __future__ import annotations

import ast
import enum
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text

from omnidesk.store.engine import make_engine, reading, resolve_url

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSIONS = MIGRATIONS / "versions"
VERSION_TABLE = "alembic_version"
# pg_advisory_xact_lock key: two `omnidesk init` on one PostgreSQL never migrate at once.
_PG_MIGRATE_LOCK = 0x6F6D6E6964657301


class SchemaState(enum.StrEnum):
    EMPTY = "empty"  # nothing there: run init
    CURRENT = "current"  # at head
    OUTDATED = "outdated"  # an older revision of ours: run init to upgrade
    NEWER = "newer"  # a revision this version of omnidesk does not know (newer omnidesk?)
    UNVERSIONED = "unversioned"  # tables but no version table: not made by omnidesk init


@dataclass(frozen=True, slots=True)
class SchemaStatus:
    state: SchemaState
    current: str | None
    head: str


class UnversionedDatabaseError(RuntimeError):
    """The database has tables but no migration history; it was not created by ``omnidesk init``."""


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at the packaged migrations (optionally bound to ``connection``)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


# ``revision = "0002"`` / ``down_revision: str | None = "0001"`` at the top level of a script.
_REVISION_LINE = re.compile(r"^(down_revision|revision)\s*(?::[^=]*)?=\s*([^#]+?)\s*(?:#.*)?$", re.MULTILINE)


@cache
def packaged_revisions() -> dict[str, tuple[str, ...]]:
    """Every packaged revision and the revisions it follows, read from the scripts' text.

    Checking a database's revision is on the console's launch path; importing Alembic
    to learn the head costs more than the whole first screen, so Alembic is imported
    only when a migration actually runs (a test keeps this in step with Alembic).
    """
    out: dict[str, tuple[str, ...]] = {}
    for script in sorted(VERSIONS.glob("*.py")):
        found = dict((m.group(1), m.group(2)) for m in _REVISION_LINE.finditer(script.read_text(encoding="utf-8")))
        if "revision" not in found:
            continue
        down = ast.literal_eval(found.get("down_revision", "None"))
        out[ast.literal_eval(found["revision"])] = (down,) if isinstance(down, str) else tuple(down or ())
    return out


def head_revision() -> str:
    """The newest packaged revision (the one no other revision follows)."""
    revisions = packaged_revisions()
    followed = {down for downs in revisions.values() for down in downs}
    heads = [rev for rev in revisions if rev not in followed]
    assert len(heads) == 1, "the packaged migrations must have exactly one head"
    return heads[0]


def _current(conn: Connection) -> str | None:
    """The revision the version table records (None: no table, or empty), read without Alembic."""
    if not conn.dialect.has_table(conn, VERSION_TABLE):
        return None
    rows = sorted(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    return ",".join(rows) or None  # several rows (branches) are never ours: NEWER below


def status_of(conn: Connection) -> SchemaStatus:
    """Where the database behind ``conn`` stands relative to this code's migrations."""
    head = head_revision()
    current = _current(conn)
    if current == head:
        return SchemaStatus(SchemaState.CURRENT, current, head)
    if current is None:
        others = set(inspect(conn).get_table_names()) - {VERSION_TABLE}
        state = SchemaState.UNVERSIONED if others else SchemaState.EMPTY
        return SchemaStatus(state, None, head)
    state = SchemaState.OUTDATED if current in packaged_revisions() else SchemaState.NEWER
    return SchemaStatus(state, current, head)


def check(target: str | Engine | None = None) -> SchemaStatus:
    """Schema status of the database at ``target`` (a URL or an engine); does not change it."""
    engine, owned = _engine(target)
    try:
        with reading(engine) as conn:
            return status_of(conn)
    finally:
        if owned:
            engine.dispose()


def current_revision(target: str | Engine | None = None) -> str | None:
    """The Alembic revision the database is at (None: never migrated)."""
    return check(target).current


def upgrade(target: str | Engine | None = None, revision: str = "head") -> None:
    """Bring the database at ``target`` (URL or engine) to ``revision`` (idempotent, one transaction).

    Raises :class:`UnversionedDatabaseError` for a database that has tables but no history.
    """
    engine, owned = _engine(target)
    try:
        with engine.begin() as conn:  # SQLite: BEGIN IMMEDIATE, so two inits serialize
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATE_LOCK})
            if status_of(conn).state is SchemaState.UNVERSIONED:
                raise UnversionedDatabaseError("the database has tables but no migration history")
            from alembic import command

            command.upgrade(alembic_config(conn), revision)
    finally:
        if owned:
            engine.dispose()


def _engine(target: str | Engine | None) -> tuple[Engine, bool]:
    if isinstance(target, Engine):
        return target, False
    return make_engine(resolve_url(target)), True


def _revision_cli(argv: list[str]) -> None:  # pragma: no cover - developer tool
    import argparse
    import tempfile

    from alembic import command

    parser = argparse.ArgumentParser(prog="python -m omnidesk.store.migrate")
    sub = parser.add_subparsers(dest="cmd", required=True)
    rev = sub.add_parser("revision", help="autogenerate a new revision")
    rev.add_argument("message")
    rev.add_argument("--url", help="a database to compare against (migrated to head first)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'dev.db'}"
        upgrade(url)
        engine = make_engine(url)
        try:
            with engine.begin() as conn:
                cfg = alembic_config(conn)
                cfg.set_main_option("file_template", "%%(rev)s_%%(slug)s")
                command.revision(cfg, message=args.message, autogenerate=True, rev_id=f"{int(head_revision()) + 1:04d}")
        finally:
            engine.dispose()


if __name__ == "__main__":  # pragma: no cover
    import sys

    _revision_cli(sys.argv[1:])
