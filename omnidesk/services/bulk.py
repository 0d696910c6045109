"""Fast bulk writes for ingest and imports: ids handed out up front, one ``executemany`` per table.

``RETURNING`` with many rows falls back to one statement per row on SQLite, so ids are
allocated first instead: on PostgreSQL from the table's sequence (safe with concurrent
writers), on SQLite from ``max(id)`` — safe because every write transaction holds
SQLite's write lock from ``BEGIN IMMEDIATE`` (see ``store/engine.py``).

``insert_rows`` / ``update_rows`` on SQLite run plain SQL (built once per column set)
through the driver's ``executemany``, with the columns' bind processors applied column by
column and each distinct value converted once (``encode_rows``; ``Encoder`` lets a caller
do it while building rows), so values are stored exactly as SQLAlchemy would store them
(tests compare), minus its per-row bookkeeping. On PostgreSQL (psycopg) inserts of 50+
rows use ``COPY`` (half the wall time and a third of the CPU of multi-row INSERTs).
``select_in`` reads ``… WHERE col IN (…)`` for many values in chunks, as plain tuples.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Connection, Table, bindparam, func, insert, select, text, update

from omnidesk.store.schema import UTCDateTime


def allocate_ids(conn: Connection, table: Table, n: int) -> list[int]:
    """``n`` fresh primary keys for ``table`` (its ``id`` column), in increasing order."""
    if n <= 0:
        return []
    if conn.dialect.name == "postgresql":
        rows = conn.execute(
            text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
            {"t": table.name, "n": n},
        )
        return sorted(r[0] for r in rows)
    start = conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()
    return list(range(start + 1, start + 1 + n))


Processor = Callable[[Any], Any]
_SQL: dict[tuple[Any, ...], tuple[str, list[Processor | None]]] = {}


def insert_rows(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    memo: dict[Any, dict[Any, Any]] | None = None,
    encoded: bool = False,
) -> None:
    """INSERT ``rows`` (tuples in ``columns`` order) into ``table`` with one ``executemany``.

    ``memo`` (optional, any dict the caller keeps for one transaction) shares converted
    values between calls, e.g. the same message time in the messages and threads rows.
    ``encoded=True``: the rows went through an ``Encoder`` for this connection already.
    """
    if not rows:
        return
    if conn.dialect.name != "sqlite":
        if conn.dialect.driver == "psycopg" and len(rows) >= COPY_MIN_ROWS:
            _copy_rows(conn, table, columns, rows, memo)
        else:
            conn.execute(insert(table), [dict(zip(columns, r, strict=True)) for r in rows])
        return
    key = ("insert", table.name, tuple(columns))
    found = _SQL.get(key)
    if found is None:
        q = conn.dialect.identifier_preparer
        names = ", ".join(q.quote(c) for c in columns)
        marks = ", ".join("?" for _ in columns)
        sql = f"INSERT INTO {q.format_table(table)} ({names}) VALUES ({marks})"  # noqa: S608 - our schema
        found = _SQL[key] = (sql, [_processor(table.c[c], conn.dialect) for c in columns])
    sql, procs = found
    conn.exec_driver_sql(sql, rows if encoded else encode_rows(rows, procs, memo))


COPY_MIN_ROWS = 50  # PostgreSQL: from this many rows on, COPY (~2x faster, a third of the CPU)


def _copy_rows(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    memo: dict[Any, dict[Any, Any]] | None,
) -> None:
    """PostgreSQL + psycopg: ``COPY table (columns) FROM STDIN``, inside the caller's transaction.

    psycopg adapts times, text, numbers and bytes itself; JSON columns are sent as JSON text.
    A driver error becomes SQLAlchemy's (``IntegrityError`` …) without its parameters.
    """
    q = conn.dialect.identifier_preparer
    sql = f"COPY {q.format_table(table)} ({', '.join(q.quote(c) for c in columns)}) FROM STDIN"
    procs = [json.dumps if isinstance(table.c[c].type, JSON) else None for c in columns]
    values = encode_rows(rows, procs, memo)
    if not conn.in_transaction():
        conn.begin()
    try:
        with conn.connection.dbapi_connection.cursor() as cursor, cursor.copy(sql) as copy:  # type: ignore[union-attr]
            for row in values:
                copy.write_row(row)
    except conn.dialect.loaded_dbapi.Error as exc:
        raise _db_error(conn, sql, exc) from None


def update_rows(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    where: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    memo: dict[Any, dict[Any, Any]] | None = None,
) -> int:
    """UPDATE ``table`` SET ``columns`` WHERE ``where`` (all equal), one row per tuple (values, then keys).

    Returns the number of rows changed (the caller compares it to ``len(rows)``).
    """
    if not rows:
        return 0
    if conn.dialect.driver == "psycopg":  # the driver's executemany (pipelined), JSON sent as text
        key = ("update", conn.dialect.name, table.name, tuple(columns), tuple(where))
        found = _SQL.get(key)
        if found is None:
            q = conn.dialect.identifier_preparer
            sets = ", ".join(f"{q.quote(c)} = %s" for c in columns)
            cond = " AND ".join(f"{q.quote(k)} = %s" for k in where)
            sql = f"UPDATE {q.format_table(table)} SET {sets} WHERE {cond}"  # noqa: S608 - names from our schema
            procs = [json.dumps if isinstance(table.c[c].type, JSON) else None for c in [*columns, *where]]
            found = _SQL[key] = (sql, procs)
        sql, procs = found
        values = encode_rows(rows, procs, memo)
        if not conn.in_transaction():
            conn.begin()
        try:
            with conn.connection.dbapi_connection.cursor() as cursor:  # type: ignore[union-attr]
                cursor.executemany(sql, values)
                return cursor.rowcount
        except conn.dialect.loaded_dbapi.Error as exc:
            raise _db_error(conn, sql, exc) from None
    if conn.dialect.name != "sqlite":
        stmt = (
            update(table)
            .where(*(table.c[k] == bindparam(f"w_{k}") for k in where))
            .values({c: bindparam(f"v_{c}") for c in columns})
        )
        names = [f"v_{c}" for c in columns] + [f"w_{k}" for k in where]
        return conn.execute(stmt, [dict(zip(names, r, strict=True)) for r in rows]).rowcount
    key = ("update", "sqlite", table.name, tuple(columns), tuple(where))
    found = _SQL.get(key)
    if found is None:
        q = conn.dialect.identifier_preparer
        sets = ", ".join(f"{q.quote(c)} = ?" for c in columns)
        cond = " AND ".join(f"{q.quote(k)} = ?" for k in where)
        sql = f"UPDATE {q.format_table(table)} SET {sets} WHERE {cond}"  # noqa: S608 - names from our schema
        found = _SQL[key] = (sql, [_processor(table.c[c], conn.dialect) for c in [*columns, *where]])
    sql, procs = found
    return conn.exec_driver_sql(sql, encode_rows(rows, procs, memo)).rowcount


IN_CHUNK = 900  # values per IN (...) list: under every backend's bound-parameter limit
_SELECTS: dict[tuple[int, str], tuple[Any, str, list[tuple[str, Processor | None]], dict[str, Any]]] = {}


def select_in(
    conn: Connection,
    stmt: Any,
    values: Iterable[Any],
    params: dict[str, Any] | None = None,
    *,
    chunk: int = IN_CHUNK,
) -> list[tuple[Any, ...]]:
    """The rows of ``stmt`` for every value of ``values``, as plain tuples, chunk by chunk.

    ``stmt`` is a ``select`` (build it once, at module level) whose WHERE clause compares a
    column with ``bindparam("ids", expanding=True)``; ``params`` fill its other bind
    parameters. Only use it for columns that need no result conversion (ids, strings,
    numbers). The SQL is compiled once and run through the driver, skipping SQLAlchemy's
    per-value expansion: on SQLite as ``IN (?, ?, …)``, on PostgreSQL (psycopg) as
    ``= ANY(%(ids)s)`` with one array parameter; other drivers go through SQLAlchemy.
    """
    values = list(values)
    params = params or {}
    out: list[tuple[Any, ...]] = []
    dialect = conn.dialect
    if not values:
        return out
    if dialect.name != "sqlite" and dialect.driver != "psycopg":
        for start in range(0, len(values), chunk):
            out.extend(tuple(r) for r in conn.execute(stmt, {**params, "ids": values[start : start + chunk]}))
        return out
    key = (id(stmt), dialect.name)
    found = _SELECTS.get(key)
    if found is None or found[0] is not stmt:
        compiled = stmt.compile(dialect=dialect)
        binds = compiled.binds
        names = compiled.positiontup or list(binds)
        order = [(name, None if name == "ids" else binds[name].type._cached_bind_processor(dialect)) for name in names]
        literals = {name: b.effective_value for name, b in binds.items() if name != "ids" and not b.required}
        sql = compiled.string
        if dialect.name != "sqlite":
            sql = sql.replace("IN (__[POSTCOMPILE_ids])", "= ANY(%(ids)s)")
        if "POSTCOMPILE" in sql.replace("__[POSTCOMPILE_ids]", "", 1 if dialect.name == "sqlite" else 0):
            raise ValueError("select_in needs exactly one expanding parameter named 'ids'")
        found = _SELECTS[key] = (stmt, sql, order, literals)
    _, sql, order, literals = found
    fixed = {}
    for name, proc in order:
        if name != "ids":
            value = params[name] if name in params else literals[name]
            fixed[name] = proc(value) if proc is not None and value is not None else value
    if not conn.in_transaction():
        conn.begin()  # what SQLAlchemy's autobegin would do (our BEGIN IMMEDIATE), before the driver's cursor
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]  # plain tuples, no Row objects
    try:
        if dialect.name != "sqlite":  # psycopg: one array parameter, no chunks needed
            out.extend(cursor.execute(sql, {**fixed, "ids": values}).fetchall())
            return out
        by_size: dict[int, str] = {}
        for start in range(0, len(values), chunk):
            part = values[start : start + chunk]
            text_ = by_size.get(len(part))
            if text_ is None:
                text_ = by_size[len(part)] = sql.replace("__[POSTCOMPILE_ids]", ", ".join("?" * len(part)))
            args: list[Any] = []
            for name, _proc in order:
                if name == "ids":
                    args.extend(part)
                else:
                    args.append(fixed[name])
            out.extend(cursor.execute(text_, args).fetchall())
    except dialect.loaded_dbapi.Error as exc:
        raise _db_error(conn, sql, exc) from None
    finally:
        cursor.close()
    return out


def _db_error(conn: Connection, sql: str, exc: Exception) -> Exception:
    """A driver error raised outside SQLAlchemy as SQLAlchemy's own (``IntegrityError`` …), no parameters."""
    from sqlalchemy.exc import DBAPIError

    dbapi = conn.dialect.loaded_dbapi
    return DBAPIError.instance(sql, None, exc, dbapi.Error, hide_parameters=True, dialect=conn.dialect)


_TIME = "%04d-%02d-%02d %02d:%02d:%02d.%06d"


def _sqlite_utc(value: datetime) -> str:
    """What ``UTCDateTime`` + SQLite's DATETIME store, computed in one step (tested equal)."""
    tz = value.tzinfo
    if tz is not UTC:
        if tz is None or value.utcoffset() is None:
            raise ValueError("naive datetime given to the store; pass an aware UTC time")
        value = value.astimezone(UTC)
    return _TIME % (value.year, value.month, value.day, value.hour, value.minute, value.second, value.microsecond)


def _processor(column: Any, dialect: Any) -> Processor | None:
    """The column's bind processor; on SQLite a faster equivalent for UTC times and JSON."""
    if dialect.name == "sqlite":
        if isinstance(column.type, UTCDateTime):
            return _sqlite_utc
        if isinstance(column.type, JSON) and dialect._json_serializer is None:
            return json.dumps
    return column.type._cached_bind_processor(dialect)


class Encoder:
    """Values converted the way ``insert_rows`` would, by the caller while it builds its rows.

    On SQLite ``time`` and ``json`` give what the driver stores (each distinct value converted
    once, through the same ``memo`` as ``insert_rows``); elsewhere they return the value as
    is, for SQLAlchemy to convert. Pass the rows with ``insert_rows(..., encoded=True)``.
    """

    __slots__ = ("_json", "_times", "sqlite")

    def __init__(self, conn: Connection, memo: dict[Any, dict[Any, Any]]) -> None:
        self.sqlite = conn.dialect.name == "sqlite" and conn.dialect._json_serializer is None
        self._times: dict[Any, Any] = memo.setdefault(_sqlite_utc, {})
        self._json: dict[Any, Any] = memo.setdefault(json.dumps, {})

    def time(self, value: datetime | None) -> Any:
        """A UTC time for a ``UTCDateTime`` column."""
        if value is None or not self.sqlite:
            return value
        text_ = self._times.get(value)
        if text_ is None:
            text_ = self._times[value] = _sqlite_utc(value)
        return text_

    def json(self, value: Any, key: Any = None) -> Any:
        """A value for a JSON column; ``key`` (hashable, equal for equal values) enables the memo.

        Without a key, a list or tuple of strings is its own key; anything else is converted
        every time.
        """
        if value is None or not self.sqlite:
            return value
        if key is None:
            key = tuple(value) if value.__class__ is list else value
        try:
            text_ = self._json.get(key)
        except TypeError:  # unhashable
            return json.dumps(value)
        if text_ is None:
            text_ = self._json[key] = json.dumps(value)
        return text_


def encode_rows(
    rows: Sequence[Sequence[Any]],
    procs: Sequence[Processor | None],
    memo: dict[Any, dict[Any, Any]] | None = None,
) -> Sequence[Sequence[Any]]:
    """``rows`` with each column's bind processor applied (None stays NULL), column by column.

    Values repeat a lot (the batch time, ``["sms"]``, ``[]``, a thread's times in several
    columns): each distinct value is converted once, per processor, through ``memo``.
    (Values that compare equal must convert equally: true of times, strings and lists of
    strings, which is what goes through here; lists of dicts are converted per object.)
    """
    if not any(procs):
        return rows
    memo = {} if memo is None else memo
    cols: list[Sequence[Any]] = list(zip(*rows, strict=True))
    for i, proc in enumerate(procs):
        if proc is not None:
            cols[i] = _encode_column(cols[i], proc, memo.setdefault(proc, {}))
    return list(zip(*cols, strict=True))


def _encode_column(col: Sequence[Any], proc: Processor, seen: dict[Any, Any]) -> list[Any]:
    seen[None] = None
    try:
        keys: Sequence[Any] = [tuple(v) if v.__class__ is list else v for v in col]
        missing = {k: v for k, v in zip(keys, col, strict=True) if k not in seen}
    except TypeError:  # unhashable (a list of dicts): one conversion per distinct object
        ids = [id(v) for v in col]  # the rows keep every object alive during the call
        by_id = {i: proc(v) if v is not None else None for i, v in zip(ids, col, strict=True)}
        return [by_id[i] for i in ids]
    for k, v in missing.items():
        seen[k] = proc(v)
    return [seen[k] for k in keys]


# --- SQLite full-text index: one bulk pass per batch instead of a trigger per row ------------


class DeferredFts:
    """Within the caller's transaction, index new rows of ``table`` into its FTS5 table in bulk.

    SQLite only, and only when ``min_rows`` or more rows are coming (live trickles keep the
    per-row trigger). ``DeferredFts(conn, table, min_rows=n)`` drops the AFTER INSERT
    trigger that feeds the external-content FTS5 table; ``index(ids)`` then adds the new
    rows with one ``INSERT … SELECT`` (measured ~3× faster than the trigger per row) and
    ``restore()`` re-creates the trigger from its own stored SQL — all in the SAME
    transaction, so no other connection ever sees the trigger missing. Anywhere else both
    calls do nothing.
    """

    def __init__(self, conn: Connection, table: Table, *, min_rows: int) -> None:
        self.conn = conn
        self.table = table
        self._found = (
            _fts_trigger(conn, table) if conn.dialect.name == "sqlite" and min_rows >= BULK_FTS_MIN_ROWS else None
        )
        self._sql = ""
        if self._found is not None:
            fts, trigger, _ = self._found
            columns = [r[1] for r in conn.exec_driver_sql(f'PRAGMA table_info("{fts}")')]
            quoted = ", ".join(f'"{c}"' for c in columns)
            # identifiers come from our own schema (sqlite_master), values are bound
            self._sql = (
                f'INSERT INTO "{fts}"(rowid, {quoted}) '  # noqa: S608
                f'SELECT id, {quoted} FROM "{table.name}" WHERE id BETWEEN ? AND ?'
            )
            conn.exec_driver_sql(f'DROP TRIGGER "{trigger}"')

    def index(self, ids: Sequence[int]) -> None:
        """Index the rows ``ids`` (consecutive: ids handed out by ``allocate_ids``)."""
        if self._found is not None and ids:
            self.conn.exec_driver_sql(self._sql, (min(ids), max(ids)))

    def restore(self) -> None:
        """Re-create the trigger (once)."""
        if self._found is not None:
            self.conn.exec_driver_sql(self._found[2])
            self._found = None


@contextmanager
def deferred_fts(conn: Connection, table: Table, *, min_rows: int) -> Iterator[Callable[[Sequence[int]], None]]:
    """``DeferredFts`` as a block: yields ``index(ids)``; the trigger is back when the block ends."""
    fts = DeferredFts(conn, table, min_rows=min_rows)
    yield fts.index
    fts.restore()


BULK_FTS_MIN_ROWS = 200


def _fts_trigger(conn: Connection, table: Table) -> tuple[str, str, str] | None:
    """(fts table, insert trigger name, trigger SQL) of the FTS5 table whose content is ``table``."""
    rows = conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND sql LIKE '%USING fts5%'"
    ).all()
    for fts, sql in rows:
        if not re.search(rf"content\s*=\s*['\"]?{re.escape(table.name)}\b", sql or "", re.IGNORECASE):
            continue
        trig = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ? "
            "AND upper(sql) LIKE '%AFTER INSERT%' AND sql LIKE ?",
            (table.name, f"%{fts}%"),
        ).all()
        if len(trig) == 1:
            return fts, trig[0][0], trig[0][1]
    return None
