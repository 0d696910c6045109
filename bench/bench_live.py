"""One live message: commit (by another process) → visible in an open console.

Budget (ARCHITECTURE.md): ≤ 50 ms p99 on SQLite, ≤ 250 ms on PostgreSQL (another workstation).

Seeds a throw-away demo database, opens the real ``omnidesk`` console on it in a
pseudo-terminal (no simulated channel), then, from this process, ingests one message
at a time through the real pipeline — a stranger's SMS whose text carries a unique
token — and times from the ingest's commit until the token reaches the console's
terminal (the new thread's preview in the list). A token that never shows within
``--timeout`` seconds is reported as not visible.

    .venv/bin/python bench/bench_live.py [--runs 20] [--timeout 5]
    .venv/bin/python bench/bench_live.py --pg postgresql+psycopg://postgres@127.0.0.1:5432/test

With ``--pg`` the demo is seeded into a throw-away schema of that PostgreSQL database
(dropped afterwards), and the console follows it through LISTEN/NOTIFY.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pty
import select
import signal
import struct
import sys
import tempfile
import termios
import time
from datetime import UTC, datetime
from fcntl import ioctl
from pathlib import Path

from bench_launch import _ESC
from machine import fmt_ms, machine_line, percentiles

BIN = Path(sys.executable).parent
BUDGET_MS = {"SQLite": 50.0, "PostgreSQL": 250.0}


@contextlib.contextmanager
def _database(pg: str | None, tmp: str):
    """(URL, label): a SQLite file in ``tmp``, or a new schema in the PostgreSQL database ``pg``."""
    if pg is None:
        from omnidesk.store.engine import sqlite_url

        yield sqlite_url(Path(tmp) / "live.db"), "SQLite"
        return
    from sqlalchemy import create_engine, text

    schema = f"bench_live_{os.getpid()}"
    admin = create_engine(pg)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        sep = "&" if "?" in pg else "?"
        yield f"{pg}{sep}options=-csearch_path%3D{schema}", "PostgreSQL"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


class Console:
    """The real console in a pseudo-terminal, its output drained into a buffer."""

    def __init__(self, url: str) -> None:
        env = dict(os.environ, TERM="xterm-256color", COLUMNS="200", LINES="50")
        cmd = [str(BIN / "omnidesk"), "--db", url]
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.execve(cmd[0], cmd, env)
        ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
        os.kill(self.pid, signal.SIGWINCH)
        self.buf = b""

    def wait_for(self, token: bytes, timeout: float) -> float | None:
        """perf_counter() when ``token`` appears in the output after this call, or None."""
        start = len(self.buf)
        end = time.perf_counter() + timeout
        while time.perf_counter() < end:
            ready, _, _ = select.select([self.fd], [], [], 0.002)
            if ready:
                try:
                    self.buf += os.read(self.fd, 1 << 16)
                except OSError:
                    return None
                tail = self.buf[max(0, start - 64) :]
                if token in tail or token in _ESC.sub(b"", tail):
                    return time.perf_counter()
        return None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self.fd, b"q")
        time.sleep(0.5)
        with contextlib.suppress(OSError, ChildProcessError):
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        os.close(self.fd)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument(
        "--press-refresh",
        action="store_true",
        help="press r after each commit (checks the harness; measures a manual refresh, not live delivery)",
    )
    ap.add_argument("--pg", metavar="URL", help="a PostgreSQL database to seed a throw-away schema in")
    args = ap.parse_args()

    from omnidesk.model import Channel, InboundMessage
    from omnidesk.services.demo import prepare_demo
    from omnidesk.services.ingest import ingest
    from omnidesk.services.setup import open_context

    print(machine_line())
    with tempfile.TemporaryDirectory() as tmp, _database(args.pg, tmp) as (url, label):
        url = prepare_demo(url=url)
        ctx = open_context(url)
        console = Console(url)
        if console.wait_for(b"Unmatched", 30) is None:
            console.close()
            print("the console did not show its queues within 30 s", file=sys.stderr)
            return 1
        console.wait_for(b"\x00never", 1.5)  # let the first load settle
        samples: list[float] = []
        missed = 0
        for i in range(args.runs):
            token = f"livetok{i:03d}x"
            msg = InboundMessage(
                Channel.SMS,
                f"BENCHLIVE{time.time_ns()}",
                f"+1646555{2000 + i:04d}",
                "+12125550100",
                f"{token} is anyone there",
                datetime.now(UTC),
            )
            ingest(ctx, [msg])
            committed = time.perf_counter()
            if args.press_refresh:
                os.write(console.fd, b"r")
            seen = console.wait_for(token.encode(), args.timeout)
            if seen is None:
                missed += 1
                print(f"  run {i + 1}: not visible within {args.timeout:.0f} s")
            else:
                samples.append(seen - committed)
                print(f"  run {i + 1}: visible after {(seen - committed) * 1000:.1f} ms")
            time.sleep(0.2)
        console.close()
        ctx.engine.dispose()
    what = "commit → visible after pressing r" if args.press_refresh else "commit → visible"
    budget = BUDGET_MS[label]
    if samples:
        stats = percentiles(samples)
        verdict = "ok" if stats["p99"] <= budget and not missed else "OVER BUDGET"
        print(
            f"{what} ({label}, another process): {fmt_ms(stats)}; {missed} of {args.runs} not visible "
            f"within {args.timeout:.0f} s (budget p99 {budget:.0f} ms: {verdict})"
        )
    else:
        print(
            f"{what} ({label}, another process): none of {args.runs} messages became visible within "
            f"{args.timeout:.0f} s (budget p99 {budget:.0f} ms: NOT MET)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
