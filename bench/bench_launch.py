"""Launch → first inbox frame with 1M messages, and the console's memory, measured on the real thing.

Runs the installed ``omnidesk`` command on ``bench/out/large.db`` inside a pseudo-terminal
(160×45, xterm-256color) and times from just before the process is spawned until the
terminal has received the first inbox row (the newest thread's name, read from the
database beforehand). Interpreter start, imports, opening the store, the first queries
and the first paint are all inside the figure. Memory is the child's VmRSS/VmHWM at
that moment and again after it has settled. Budget: ≤ 0.6 s; memory ≤ 150 MB.

Each run also prints the CPU the console process had used by then: unlike the wall time,
it hardly depends on what else the machine is doing (quote the load average with both).
The console reads its first page in a forked helper process (``omnidesk.services.prefetch``);
``OMNIDESK_NO_PREFETCH=1`` measures the one-process launch instead, and ``--pythonpath DIR``
runs another checkout of the package (e.g. ``git archive <commit> omnidesk | tar -x -C DIR``)
for a before/after on the same machine and load.

    .venv/bin/python bench/bench_launch.py [--db URL] [--runs 7] [--pythonpath DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pty
import re
import select
import signal
import statistics
import struct
import sys
import termios
import time
from fcntl import ioctl
from pathlib import Path

from machine import machine_line

OUT = Path(__file__).resolve().parent / "out"
BIN = Path(sys.executable).parent
BUDGET_S = 0.6
BUDGET_MB = 150.0
PYTHONPATH: str | None = None
_ESC = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]")


def proc_mem(pid: int) -> tuple[float, float]:
    cur = peak = 0.0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                cur = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
    except OSError:
        pass
    return cur, peak


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) the process has used: the launch's own cost, whatever the load."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def expected_marker(url: str) -> str:
    """Text the first inbox row must show: the newest open thread's patient name or contact."""
    from omnidesk.model import ThreadStatus
    from omnidesk.services import inbox
    from omnidesk.services.setup import open_context

    ctx = open_context(url)
    try:
        first = inbox.thread_page(ctx, queue=None, status=ThreadStatus.OPEN, limit=1)
    finally:
        ctx.engine.dispose()
    if not first:
        raise SystemExit("the database has no open threads")
    t = first[0]
    return (t.patient_name or t.contact or "")[:12]


def launch_once(url: str, marker: str, *, settle: float, timeout: float) -> tuple[float, float, float, float, float]:
    """(seconds to first row, CPU seconds by then, rss at first row, rss settled, peak rss) for one launch."""
    env = dict(os.environ, TERM="xterm-256color", COLUMNS="160", LINES="45", OMNIDESK_DB=url)
    env.pop("TEXTUAL", None)
    if PYTHONPATH:  # another checkout of the code (e.g. the last commit, for a before/after)
        env["PYTHONPATH"] = PYTHONPATH
    cmd = [str(BIN / "omnidesk"), "--db", url]
    pid, fd = pty.fork()
    if pid == 0:  # child
        if PYTHONPATH:
            os.chdir("/")
        os.execve(cmd[0], cmd, env)
    t0 = time.perf_counter()
    ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 45, 160, 0, 0))
    os.kill(pid, signal.SIGWINCH)
    want = marker.encode()
    buf = b""
    first = None
    deadline = t0 + timeout
    while time.perf_counter() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.01)
        if ready:
            try:
                chunk = os.read(fd, 1 << 16)
            except OSError:
                break
            buf += chunk
            if want in buf or want in _ESC.sub(b"", buf):
                first = time.perf_counter() - t0
                break
    cpu_first = proc_cpu(pid)
    rss_first = proc_mem(pid)[0]
    settle_end = time.perf_counter() + settle
    while time.perf_counter() < settle_end:  # keep draining so the app never blocks on output
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                os.read(fd, 1 << 16)
            except OSError:
                break
    rss_settled, peak = proc_mem(pid)
    try:
        os.write(fd, b"q")
        end = time.perf_counter() + 3
        while time.perf_counter() < end:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                with contextlib.suppress(OSError):
                    os.read(fd, 1 << 16)
        else:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    except (OSError, ChildProcessError):
        pass
    os.close(fd)
    if first is None:
        (OUT / "launch_failure.log").write_bytes(buf)
        tail = _ESC.sub(b"", buf)[-400:].decode(errors="replace")
        raise SystemExit(f"no inbox row within {timeout} s (raw output in bench/out/launch_failure.log): {tail!r}")
    return first, cpu_first, rss_first, rss_settled, peak


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default=None, help="database URL (default: bench/out/large.db)")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--settle", type=float, default=2.0, help="seconds to let the console settle before reading memory")
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--pythonpath", help="run the omnidesk package found here instead (e.g. an exported commit)")
    args = ap.parse_args()
    global PYTHONPATH
    PYTHONPATH = args.pythonpath
    from omnidesk.store.engine import sqlite_url

    url = args.db or sqlite_url(OUT / "large.db")
    if not args.db and not (OUT / "large.db").exists():
        print("bench/out/large.db is missing: run bench/gen_large.py first", file=sys.stderr)
        return 2
    print(machine_line())
    marker = expected_marker(url)
    print(f"database: {url.rsplit('/', 1)[-1]}; waiting for the newest thread's row to reach the terminal")
    times, cpus, firsts, settled, peaks = [], [], [], [], []
    launch_once(url, marker, settle=0.2, timeout=args.timeout)  # one cold run to warm the OS file cache
    for i in range(args.runs):
        t, cpu, r1, r2, pk = launch_once(url, marker, settle=args.settle, timeout=args.timeout)
        times.append(t)
        cpus.append(cpu)
        firsts.append(r1)
        settled.append(r2)
        peaks.append(pk)
        print(
            f"  run {i + 1}: first inbox row after {t * 1000:.0f} ms (CPU {cpu * 1000:.0f} ms); "
            f"rss {r1:.0f} MB, then {r2:.0f} MB (peak {pk:.0f})"
        )
    med = statistics.median(times)
    worst = max(times)
    print(
        f"launch → first inbox frame: median {med * 1000:.0f} ms, worst {worst * 1000:.0f} ms "
        f"(budget {BUDGET_S * 1000:.0f} ms: {'ok' if med <= BUDGET_S else 'OVER BUDGET'}); "
        f"CPU used by then: median {statistics.median(cpus) * 1000:.0f} ms"
    )
    print(f"load average after the runs: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"console memory: rss at first frame median {statistics.median(firsts):.0f} MB, settled "
        f"{statistics.median(settled):.0f} MB, peak (VmHWM) max {max(peaks):.0f} MB "
        f"(budget {BUDGET_MB:.0f} MB: {'ok' if max(peaks) <= BUDGET_MB else 'OVER BUDGET'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
