"""Inbox page query, full-text search and memory at 1M messages / 100k threads (``bench/gen_large.py``).

Budgets (ARCHITECTURE.md): inbox page p95 ≤ 2 ms; search newest 50 hits warm ≤ 20 ms;
resident memory ≤ 150 MB; queue counts ≤ 2 ms (they are read at launch and on every
refresh). Everything goes through the services the console calls (``omnidesk.services.inbox``),
on one connection pool, warm. Pages have the services' default size (``PAGE_SIZE``, 50 rows,
about a screenful); one line shows 100 rows for comparison.

    .venv/bin/python bench/bench_inbox.py [--db URL] [--runs 300]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

from machine import fmt_ms, machine_line, percentiles, rss_mb

OUT = Path(__file__).resolve().parent / "out"
BUDGET_PAGE_P95_MS = 2.0
BUDGET_COUNTS_P95_MS = 2.0
BUDGET_SEARCH_MS = 20.0
BUDGET_RSS_MB = 150.0
SEARCH_TERMS = (
    "refill",  # very common
    "appointment",
    "inhaler",  # medium
    "cardiologist",  # rare
    "chest pain",  # two words
    '"blood pressure"',  # a phrase, with quotes
    "fiebre",  # Spanish
    "zzzznotthere",  # no hits
)


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default=None, help="database URL (default: bench/out/large.db)")
    ap.add_argument("--runs", type=int, default=300)
    args = ap.parse_args()

    from omnidesk.model import ThreadStatus
    from omnidesk.services import inbox
    from omnidesk.services.setup import open_context
    from omnidesk.store.engine import sqlite_url
    from omnidesk.store.queries import PAGE_SIZE as PAGE

    url = args.db or sqlite_url(OUT / "large.db")
    if not args.db and not (OUT / "large.db").exists():
        print("bench/out/large.db is missing: run bench/gen_large.py first", file=sys.stderr)
        return 2
    print(machine_line())
    ctx = open_context(url)
    rng = random.Random(1)
    status = ThreadStatus.OPEN
    results: list[tuple[str, dict[str, float], float | None]] = []

    total = inbox.thread_total(ctx, queue=None, status=status)
    counts = inbox.queue_counts(ctx)
    print(
        f"database: {url.rsplit('/', 1)[-1]}  open threads: {total:,}  queues: "
        + ", ".join(f"{q.queue}={q.open_count:,}" for q in counts)
    )

    def record(name: str, samples: list[float], budget: float | None = BUDGET_PAGE_P95_MS) -> None:
        stats = percentiles(samples)
        results.append((name, stats, budget))
        verdict = "" if budget is None else ("  ok" if stats["p95"] <= budget else "  OVER BUDGET")
        print(f"{name:<44} {fmt_ms(stats)}{verdict}")

    # warm up caches (pages, statement cache)
    for _ in range(20):
        inbox.thread_page(ctx, queue=None, status=status, limit=PAGE)

    print(f"\ninbox page ({PAGE} rows), {args.runs} runs each:")
    # Where the time of the first page goes: the SQL alone (driver), + SQLAlchemy rows, + ThreadSummary objects.
    from omnidesk.store.engine import reading
    from omnidesk.store.queries import page_select

    stmt = page_select(status=status, queue=None, limit=PAGE, dialect=ctx.engine.dialect.name)
    with reading(ctx.engine) as conn:
        compiled = stmt.compile(dialect=ctx.engine.dialect)
        sql = str(compiled)
        if ctx.engine.dialect.name == "sqlite":
            params = [compiled.params[k] for k in compiled.positiontup or ()]
        else:
            params = dict(compiled.params)
        cur = conn.connection.driver_connection.cursor()
        record(
            "first page, SQL only (driver cursor)",
            timed(lambda: cur.execute(sql, params).fetchall(), args.runs),
            None,
        )
        record("first page, Core rows (no summaries)", timed(lambda: conn.execute(stmt).all(), args.runs), None)
    record(
        "first page, all queues",
        timed(lambda: inbox.thread_page(ctx, queue=None, status=status, limit=PAGE), args.runs),
    )
    record(
        "first page, 100 rows (no budget: comparison)",
        timed(lambda: inbox.thread_page(ctx, queue=None, status=status, limit=100), args.runs),
        None,
    )
    for q in counts:
        queue = q.queue
        record(
            f"first page, queue {queue}",
            timed(lambda queue=queue: inbox.thread_page(ctx, queue=queue, status=status, limit=PAGE), args.runs),
        )

    # deep keyset pages: keys sampled uniformly over the whole list (what scrolling far down asks)
    keys = []
    after = None
    walk: list[float] = []
    for _ in range(min(1000, total // PAGE)):
        t = time.perf_counter()
        page = inbox.thread_page(ctx, queue=None, status=status, after=after, limit=PAGE)
        walk.append(time.perf_counter() - t)
        if not page:
            break
        after = page[-1].key
        keys.append(after)
    record(f"keyset walk, {len(walk)} consecutive pages", walk)
    sample = [rng.choice(keys) for _ in range(args.runs)]
    it = iter(sample)
    record(
        "deep keyset page (random position)",
        timed(lambda: inbox.thread_page(ctx, queue=None, status=status, after=next(it), limit=PAGE), len(sample)),
    )
    for q in counts[:3]:
        qkeys = []
        after = None
        for _ in range(50):
            page = inbox.thread_page(ctx, queue=q.queue, status=status, after=after, limit=PAGE)
            if not page:
                break
            after = page[-1].key
            qkeys.append(after)
        if qkeys:
            it_q = iter([rng.choice(qkeys) for _ in range(args.runs)])
            record(
                f"deep keyset page, queue {q.queue}",
                timed(
                    lambda q=q, it_q=it_q: inbox.thread_page(
                        ctx, queue=q.queue, status=status, after=next(it_q), limit=PAGE
                    ),
                    args.runs,
                ),
            )

    print("\ncounts (launch and every refresh) and the launch reads:")
    record("queue_counts", timed(lambda: inbox.queue_counts(ctx), args.runs), BUDGET_COUNTS_P95_MS)

    def total_of_open() -> None:
        inbox.thread_total(ctx, queue=None, status=status)

    record("thread_total (all open)", timed(total_of_open, args.runs), None)

    def launch_reads() -> None:
        fresh = open_context(url)  # new engine: first connection, PRAGMAs, schema check, staff user
        inbox.thread_total(fresh, queue=None, status=status)
        inbox.thread_page(fresh, queue=None, status=status, limit=PAGE)
        inbox.queue_counts(fresh)
        fresh.engine.dispose()

    record("launch reads: open_context, total, first page, counts", timed(launch_reads, 30), None)

    print("\njump by offset (scrollbar drag), no budget of its own:")
    for offset in (0, 1_000, 10_000, max(total - PAGE, 0)):
        record(
            f"page at offset {offset:,}",
            timed(
                lambda offset=offset: inbox.thread_page_at(ctx, queue=None, status=status, offset=offset, limit=PAGE),
                30,
            ),
            None,
        )

    print("\nfull-text search, newest 50 hits, warm (5 warm-up + 50 timed runs each):")
    for term in SEARCH_TERMS:
        for _ in range(5):
            hits = inbox.search(ctx, term, limit=50)
        samples = timed(lambda term=term: inbox.search(ctx, term, limit=50), 50)
        stats = percentiles(samples)
        results.append((f"search {term}", stats, BUDGET_SEARCH_MS))
        verdict = "  ok" if stats["p95"] <= BUDGET_SEARCH_MS else "  OVER BUDGET"
        print(f"search {term!r:<30} hits {len(hits):>3}  {fmt_ms(stats)}{verdict}")

    cur, peak = rss_mb()
    print(
        f"\nresident memory of this process (console's services + store, after all queries): {cur:.1f} MB "
        f"(peak {peak:.1f} MB)  budget {BUDGET_RSS_MB:.0f} MB  {'ok' if peak <= BUDGET_RSS_MB else 'OVER BUDGET'}"
    )

    over = [name for name, stats, budget in results if budget is not None and stats["p95"] > budget]
    print("\nsummary: " + ("all budgets met" if not over and peak <= BUDGET_RSS_MB else f"over budget: {over}"))
    ctx.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
