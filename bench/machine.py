"""One line naming the machine and the date, printed by every benchmark beside its figures."""

from __future__ import annotations

import os
import platform
import resource
import sys
from datetime import UTC, datetime
from pathlib import Path


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown cpu"


def machine_line() -> str:
    """``date · platform · cpu · cores · python · load average`` (other work on the machine skews figures)."""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{when} · {platform.platform()} · {cpu_model()} · {os.cpu_count()} cores · "
        f"Python {sys.version.split()[0]} · load {load}"
    )


def rss_mb() -> tuple[float, float]:
    """(current resident set, peak resident set) of this process in MB."""
    current = peak = 0.0
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                current = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return current, peak


def percentiles(samples_s: list[float]) -> dict[str, float]:
    """p50/p95/p99/max of a list of seconds, in milliseconds."""
    xs = sorted(samples_s)
    if not xs:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0}

    def pick(q: float) -> float:
        return xs[min(len(xs) - 1, round(q * (len(xs) - 1)))] * 1000

    return {"p50": pick(0.50), "p95": pick(0.95), "p99": pick(0.99), "max": xs[-1] * 1000}


def fmt_ms(stats: dict[str, float]) -> str:
    return " ".join(f"{k} {v:.3f} ms" for k, v in stats.items())
