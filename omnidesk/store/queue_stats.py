"""Thread counts per (status, queue), kept current by triggers on ``threads``.

Counting the open threads per queue scanned 100k index entries (p50 100 ms at 100k open
threads, SQLite), at launch and on every refresh. ``queue_stats`` (migration 0001) holds
per (status, queue): ``n_threads``, ``n_unread`` (threads with unread messages) and
``n_pinned`` (unacknowledged emergencies); triggers on insert, delete and relevant updates
of ``threads`` keep it exact in the writer's own transaction, whoever writes (ingest,
staff actions, merges, raw SQL). Readers sum a handful of rows.

On SQLite there is one row per (status, queue) (``txid = 0``), updated in place: one
writer at a time. On PostgreSQL writers only append delta rows (``txid`` = the writing
transaction), so concurrent writers never wait for or deadlock on a counter, and a long
ingest transaction does not pile up versions of one row; :func:`fold` (run by a reader when
deltas pile up) moves committed deltas into the ``txid = 0`` rows in one statement, under
an advisory lock. Reads sum whatever is there, folded or not.

The table is outside ``schema.metadata`` on purpose (like full-text search): it is derived
data, not part of the model, and a plain ``DELETE`` of it would desynchronize it.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Connection, MetaData, String, Table, bindparam, func, select, text

from omnidesk.store.prepared import Prepared

TABLE = "queue_stats"
FOLD_AT = 256  # PostgreSQL: fold when a read sums this many delta rows (~0.1 ms of reading)
_PG_FOLD_LOCK = 0x6F6D6E6964657303

queue_stats = Table(
    TABLE,
    MetaData(),
    Column("txid", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("queue", String(32), nullable=False),
    Column("n_threads", BigInteger, nullable=False),
    Column("n_unread", BigInteger, nullable=False),
    Column("n_pinned", BigInteger, nullable=False),
)
_s = queue_stats.c


def _sum(col):
    return func.coalesce(func.sum(col), 0)


_BY_QUEUE = Prepared(
    lambda _d: (
        select(_s.queue, _sum(_s.n_threads), _sum(_s.n_unread), _sum(_s.n_pinned), func.count().label("parts"))
        .where(_s.status == bindparam("status"))
        .group_by(_s.queue)
    )
)
_TOTAL_STATUS_QUEUE = Prepared(
    lambda _d: select(_sum(_s.n_threads)).where(_s.status == bindparam("status"), _s.queue == bindparam("queue"))
)
_TOTAL_STATUS = Prepared(lambda _d: select(_sum(_s.n_threads)).where(_s.status == bindparam("status")))
_TOTAL_QUEUE = Prepared(lambda _d: select(_sum(_s.n_threads)).where(_s.queue == bindparam("queue")))
_TOTAL = Prepared(lambda _d: select(_sum(_s.n_threads)))


def by_queue(conn: Connection, status: str) -> tuple[dict[str, tuple[int, int, int]], int]:
    """``{queue: (threads, unread, pinned)}`` for one status (queues with no threads left out),
    and how many delta rows the sums went over (PostgreSQL; 0 on SQLite)."""
    out: dict[str, tuple[int, int, int]] = {}
    parts = 0
    for queue, n, unread, pinned, rows in _BY_QUEUE.rows(conn, {"status": status}):
        parts += int(rows) - 1
        if n or unread or pinned:
            out[queue] = (int(n), int(unread), int(pinned))
    return out, parts


def total(conn: Connection, *, status: str | None, queue: str | None) -> int:
    """How many threads have ``status`` (None: any) and are in ``queue`` (None: any)."""
    if status is not None and queue is not None:
        stmt, params = _TOTAL_STATUS_QUEUE, {"status": status, "queue": queue}
    elif status is not None:
        stmt, params = _TOTAL_STATUS, {"status": status}
    elif queue is not None:
        stmt, params = _TOTAL_QUEUE, {"queue": queue}
    else:
        stmt, params = _TOTAL, {}
    return int(stmt.rows(conn, params)[0][0])


_PG_FOLD = text(
    """WITH gone AS (
    DELETE FROM queue_stats WHERE txid <> 0 RETURNING status, queue, n_threads, n_unread, n_pinned
)
INSERT INTO queue_stats (txid, status, queue, n_threads, n_unread, n_pinned)
SELECT 0, status, queue, sum(n_threads), sum(n_unread), sum(n_pinned) FROM gone GROUP BY status, queue
ON CONFLICT (status, queue) WHERE txid = 0 DO UPDATE SET
    n_threads = queue_stats.n_threads + excluded.n_threads,
    n_unread = queue_stats.n_unread + excluded.n_unread,
    n_pinned = queue_stats.n_pinned + excluded.n_pinned"""
)


def fold(conn: Connection) -> bool:
    """PostgreSQL: fold committed delta rows into the ``txid = 0`` rows (in the caller's
    write transaction). False when another session is folding (or on SQLite)."""
    if conn.dialect.name != "postgresql":
        return False
    if not conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _PG_FOLD_LOCK}).scalar():
        return False
    conn.execute(_PG_FOLD)
    return True


_RECOUNT = text(
    """SELECT status, queue, count(*), sum(CASE WHEN unread_count > 0 THEN 1 ELSE 0 END),
       sum(CASE WHEN pinned THEN 1 ELSE 0 END)
FROM threads GROUP BY status, queue"""
)


def recount(conn: Connection) -> dict[tuple[str, str], tuple[int, int, int]]:
    """The counts by scanning ``threads`` (for checks and repairs; slow at scale)."""
    return {(s, q): (int(n), int(u), int(p)) for s, q, n, u, p in conn.execute(_RECOUNT)}


def stored(conn: Connection) -> dict[tuple[str, str], tuple[int, int, int]]:
    """The counts as the counters table has them (zero rows left out)."""
    rows = conn.execute(
        select(_s.status, _s.queue, _sum(_s.n_threads), _sum(_s.n_unread), _sum(_s.n_pinned)).group_by(
            _s.status, _s.queue
        )
    )
    return {(s, q): (int(n), int(u), int(p)) for s, q, n, u, p in rows if n or u or p}


def rebuild(conn: Connection) -> None:
    """Recount from ``threads`` (in the caller's write transaction; PostgreSQL: threads locked)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("LOCK TABLE threads IN SHARE ROW EXCLUSIVE MODE"))
    conn.execute(queue_stats.delete())
    rows = [
        {"txid": 0, "status": s, "queue": q, "n_threads": n, "n_unread": u, "n_pinned": p}
        for (s, q), (n, u, p) in recount(conn).items()
    ]
    if rows:
        conn.execute(queue_stats.insert(), rows)


def install(url: str) -> None:  # pragma: no cover - developer tool for databases made before the counters
    """Add the counters table and triggers to a database migrated before they were part of 0001."""
    import importlib.util

    from alembic.migration import MigrationContext
    from alembic.operations import Operations
    from sqlalchemy import inspect

    from omnidesk.store.engine import make_engine
    from omnidesk.store.migrate import MIGRATIONS

    spec = importlib.util.spec_from_file_location("_omnidesk_0001", MIGRATIONS / "versions" / "0001_initial.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            if TABLE in inspect(conn).get_table_names():
                return
            with Operations.context(MigrationContext.configure(conn)):
                mod.create_queue_stats(conn.dialect.name, backfill=True)
    finally:
        engine.dispose()


if __name__ == "__main__":  # pragma: no cover
    import sys

    if len(sys.argv) != 3 or sys.argv[1] != "install":
        sys.exit("usage: python -m omnidesk.store.queue_stats install URL")
    install(sys.argv[2])
