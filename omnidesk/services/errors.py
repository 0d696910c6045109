"""Errors a user can act on. Each has a message (what happened) and a hint (what to do).

Messages carry ids, codes, file paths and server addresses only — never a message body,
a patient's name, phone or email. :func:`from_db_error` turns a database driver error
into a :class:`StoreError` without copying the driver's text (which can quote SQL
parameters) into the message.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class OmnideskError(Exception):
    """An error the console or the command line shows as ``message`` (and ``hint``, if any)."""

    def __init__(self, message: str, hint: str | None = None, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.code = code

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class StoreError(OmnideskError):
    """The database is missing, locked, unreachable, not initialised or failed."""


class PermissionDenied(OmnideskError):
    """The acting staff member's role does not allow this."""


class NotFound(OmnideskError):
    """A thread, patient, contact or staff user that does not exist."""


class ConflictError(OmnideskError):
    """Someone else changed the thing first (optimistic concurrency); reload and retry."""


def where_text(url: str | None) -> str:
    """'the database file …' / 'the database at …' (password masked), for messages."""
    if not url:
        return "the database"
    from omnidesk.store.engine import display_url, sqlite_path

    path = sqlite_path(url)
    return f"the database file {path}" if path else f"the database at {display_url(url)}"


_INIT_HINT = "run `omnidesk init` (with the same --db / OMNIDESK_DB) to create or upgrade it"


def from_db_error(exc: BaseException, url: str | None = None) -> StoreError:
    """A :class:`StoreError` saying what went wrong with the database and what to do.

    Classifies by driver error text and SQLSTATE; never copies that text into the message.
    """
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).lower()
    sqlstate = getattr(orig, "sqlstate", None) or getattr(getattr(orig, "diag", None), "sqlstate", None)
    where = where_text(url)
    if "database is locked" in text or "database table is locked" in text:
        return StoreError(
            f"{where} is busy: another program holds its write lock",
            "close other omnidesk windows or backup tools using it, then try again",
            code="locked",
        )
    if "unable to open database file" in text:
        return StoreError(
            f"cannot open {where}",
            "check that the folder exists and you may write to it, or choose another with --db / OMNIDESK_DB",
            code="cannot_open",
        )
    if "file is not a database" in text or "file is encrypted" in text:
        return StoreError(
            f"{where} is not an omnidesk database (or it is encrypted)",
            "point --db / OMNIDESK_DB at the right file",
            code="not_a_database",
        )
    if "no such table" in text or sqlstate == "42P01" or "undefinedtable" in type(orig).__name__.lower():
        return StoreError(f"{where} is not initialised", _INIT_HINT, code="not_initialised")
    if "disk is full" in text or "disk i/o error" in text or sqlstate == "53100":
        return StoreError(
            f"{where} cannot be written: the disk is full or failing", "free disk space, then retry", code="disk"
        )
    if "readonly database" in text or sqlstate == "25006":
        return StoreError(
            f"{where} is read-only", "check the file's permissions or the server's settings", code="read_only"
        )
    if sqlstate == "28P01" or sqlstate == "28000" or "password authentication failed" in text:
        return StoreError(
            f"PostgreSQL refused the login for {where}",
            "check the user name and password in --db / OMNIDESK_DB",
            code="auth",
        )
    if sqlstate == "3D000" or ("database" in text and "does not exist" in text):
        return StoreError(f"{where} does not exist", "create the database first (createdb), then run `omnidesk init`")
    if (
        "connection refused" in text
        or "could not connect" in text
        or "connection failed" in text
        or "timeout expired" in text
        or "could not translate host name" in text
        or (sqlstate or "").startswith("08")
    ):
        return StoreError(
            f"cannot reach {where}",
            "check that the PostgreSQL server is running and the host, port and database in the URL",
            code="unreachable",
        )
    name = type(orig).__name__
    suffix = f" SQLSTATE {sqlstate}" if sqlstate else ""
    return StoreError(
        f"database error on {where} ({name}{suffix})",
        "retry; if it persists, run with OMNIDESK_DEBUG=1 and report it",
        code="db_error",
    )


@contextmanager
def store_errors(url: str | None = None) -> Iterator[None]:
    """Turn SQLAlchemy/driver errors raised inside the block into :class:`StoreError`.

    The original is not chained (its text can quote SQL parameters, i.e. PHI) unless
    ``OMNIDESK_DEBUG=1``.
    """
    import os

    from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError

    debug = os.environ.get("OMNIDESK_DEBUG") == "1"
    try:
        yield
    except (OperationalError, ProgrammingError, DBAPIError) as exc:
        err = from_db_error(exc, url)
        if debug:
            raise err from exc
        raise err from None
    except OSError as exc:  # e.g. the data folder cannot be created
        err = StoreError(
            f"cannot open {where_text(url)}: {exc.strerror or type(exc).__name__}",
            "check the path and its permissions, or choose another with --db / OMNIDESK_DB",
            code="cannot_open",
        )
        if debug:
            raise err from exc
        raise err from None
