"""Creating the store (``omnidesk init``) and opening it for a staff member.

Every failure here is a :class:`StoreError` that says what is wrong and what to do
(missing file, locked, unreachable server, not initialised, needs upgrade) and carries
no patient data.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, insert, select

from omnidesk.model import Role, StaffUser
from omnidesk.services.context import Context
from omnidesk.services.errors import NotFound, StoreError, store_errors, where_text
from omnidesk.store import migrate
from omnidesk.store.engine import make_engine, reading, resolve_url, sqlite_path
from omnidesk.store.schema import staff

ENV_USER = "OMNIDESK_USER"
DEFAULT_USERNAME = "frontdesk"
# username, display name, role — created by `omnidesk init` when missing (never changed after).
DEFAULT_STAFF: tuple[tuple[str, str, Role], ...] = (
    ("frontdesk", "Front desk", Role.FRONT_DESK),
    ("nurse", "Nurse", Role.NURSE),
    ("billing", "Billing", Role.BILLING),
    ("manager", "Office manager", Role.MANAGER),
    ("admin", "Administrator", Role.ADMIN),
)
_INIT_HINT = "run `omnidesk init` (with the same --db / OMNIDESK_DB)"


def init_store(url: str | None = None) -> str:
    """Create or upgrade the database at ``url`` and make sure the default staff exist.

    Idempotent. Returns the URL used (``url``, else ``$OMNIDESK_DB``, else the default file).
    """
    url = resolve_url(url)
    with store_errors(url):
        engine = make_engine(url)
        try:
            try:
                migrate.upgrade(engine)
            except migrate.UnversionedDatabaseError:
                raise StoreError(
                    f"{where_text(url)} has tables but was not created by `omnidesk init`",
                    "use a new database file or an empty PostgreSQL schema",
                    code="unversioned",
                ) from None
            with engine.begin() as conn:
                ensure_default_staff(conn)
        finally:
            engine.dispose()
    return url


def ensure_default_staff(conn: Connection, *, now: datetime | None = None) -> int:
    """Insert the default staff users that do not exist yet; returns how many were added."""
    now = now or datetime.now(UTC)
    have = set(conn.execute(select(staff.c.username)).scalars())
    rows = [
        {"username": u, "display_name": d, "role": r.value, "created_at": now}
        for u, d, r in DEFAULT_STAFF
        if u not in have
    ]
    if rows:
        conn.execute(insert(staff), rows)
    return len(rows)


def check_store(engine: Engine, url: str) -> None:
    """Raise :class:`StoreError` unless the database answers and is at this code's schema."""
    with store_errors(url):
        status = migrate.check(engine)
    where = where_text(url)
    if status.state is migrate.SchemaState.CURRENT:
        return
    if status.state is migrate.SchemaState.EMPTY:
        raise StoreError(f"{where} is not initialised", _INIT_HINT + " to create it", code="not_initialised")
    if status.state is migrate.SchemaState.OUTDATED:
        raise StoreError(
            f"{where} needs an upgrade (schema {status.current}, this omnidesk needs {status.head})",
            _INIT_HINT + " to upgrade it; back it up first",
            code="needs_upgrade",
        )
    if status.state is migrate.SchemaState.NEWER:
        raise StoreError(
            f"{where} was upgraded by a newer omnidesk (schema {status.current})",
            "install the newer omnidesk on this computer",
            code="newer_schema",
        )
    raise StoreError(
        f"{where} has tables but was not created by `omnidesk init`",
        "point --db / OMNIDESK_DB at an omnidesk database",
        code="unversioned",
    )


def open_context(url: str | None = None, username: str | None = None) -> Context:
    """Open the store at ``url`` acting as ``username`` (else ``$OMNIDESK_USER``, else ``frontdesk``).

    Never creates a database: a missing one is a :class:`StoreError` telling to run init.
    """
    url = resolve_url(url)
    path = sqlite_path(url)
    if path is not None and not path.exists():
        raise StoreError(f"no database at {path}", _INIT_HINT + " to create it", code="missing")
    with store_errors(url):
        engine = make_engine(url)
    try:
        check_store(engine, url)
        with store_errors(url):
            user = _resolve_user(engine, username)
    except Exception:
        engine.dispose()
        raise
    return Context(engine, user)


def _resolve_user(engine: Engine, username: str | None) -> StaffUser:
    explicit = username or os.environ.get(ENV_USER) or None
    name = explicit or DEFAULT_USERNAME
    with reading(engine) as conn:
        row = conn.execute(
            select(staff.c.id, staff.c.username, staff.c.display_name, staff.c.role, staff.c.active).where(
                staff.c.username == name
            )
        ).first()
    if row is None or not row.active:
        state = "inactive" if row is not None else "unknown"
        if explicit:
            raise NotFound(
                f"{state} staff user {name!r}",
                f"use one of the staff usernames (e.g. {', '.join(u for u, _, _ in DEFAULT_STAFF)})",
                code="unknown_user",
            )
        raise StoreError(
            f"no staff user {DEFAULT_USERNAME!r} in {where_text(str(engine.url))}",
            f"choose one with --user / {ENV_USER}, or {_INIT_HINT} to create the default staff",
            code="no_default_user",
        )
    return StaffUser(id=row.id, username=row.username, display_name=row.display_name, role=Role(row.role))


def staff_user(ctx: Context, username: str) -> StaffUser:
    """Another staff member by username (e.g. for handing over), or :class:`NotFound`."""
    with reading(ctx.engine) as conn:
        row = conn.execute(
            select(staff.c.id, staff.c.username, staff.c.display_name, staff.c.role).where(
                staff.c.username == username, staff.c.active.is_(True)
            )
        ).first()
    if row is None:
        raise NotFound(f"unknown staff user {username!r}", code="unknown_user")
    return StaffUser(id=row.id, username=row.username, display_name=row.display_name, role=Role(row.role))
