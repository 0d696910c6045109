"""Triage throughput: due-time computation alone, routing + clock, and the full triage of a message.

Run: ``.venv/bin/python bench/bench_triage.py [--n 200000]``. Prints calls/s on one core.
Budget: due-time computation ≥ 200,000 calls/s (ingest calls it for every message).
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import machine_line

from omnidesk.model import Channel, Classification, Intent, Urgency
from omnidesk.rules.hours import BusinessDays
from omnidesk.rules.triage import TriageEngine

BODIES = [
    ("Hi, can I get a refill on my lisinopril? I'm almost out.", None, Channel.SMS),
    ("I have crushing chest pain right now and my left arm is numb", None, Channel.SMS),
    ("STOP", None, Channel.SMS),
    ("Question about my bill from the March visit, I think I was charged twice.", "Billing question", Channel.EMAIL),
    ("hi this is um calling about my appointment tomorrow I need to move it to next week", None, Channel.VOICEMAIL),
    ("Are my lab results back yet?", None, Channel.PORTAL),
]


def _rate(label: str, fn: Callable[[int], None], n: int) -> float:
    fn(min(n, 2000))  # warm the per-day caches
    best = 0.0
    for _ in range(3):
        t0 = time.perf_counter()
        fn(n)
        dt = time.perf_counter() - t0
        best = max(best, n / dt)
    print(f"  {label:<46} {best:>12,.0f} calls/s")
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=200_000, help="calls per measurement")
    args = ap.parse_args(argv)
    n = args.n

    engine = TriageEngine.load()
    clock, router = engine.hours, engine.router
    rng = random.Random(7)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    # A year of arrival times, most of them at odd minutes, like a real inbox.
    times = [
        start + timedelta(seconds=rng.randrange(365 * 86400), microseconds=rng.randrange(10**6)) for _ in range(4096)
    ]
    classifications = [
        Classification((Intent.REFILL.value,), Urgency.ROUTINE),
        Classification((Intent.CLINICAL.value,), Urgency.EMERGENCY),
        Classification((Intent.BILLING.value,), Urgency.ROUTINE),
        Classification((Intent.APPOINTMENT_RESCHEDULE.value,), Urgency.ROUTINE),
        Classification((Intent.CLINICAL.value,), Urgency.URGENT),
        Classification((Intent.CONSENT_OPT_OUT.value,), Urgency.ROUTINE),
    ]
    one_day, two_hours = BusinessDays(1), timedelta(hours=2)

    def add_days(k: int) -> None:
        f = clock.add_business_time
        for i in range(k):
            f(times[i & 4095], one_day)

    def add_time(k: int) -> None:
        f = clock.add_business_time
        for i in range(k):
            f(times[i & 4095], two_hours)

    def route_and_clock(k: int) -> None:
        f = router.triage
        for i in range(k):
            f(classifications[i % 6], times[i & 4095])

    def full(k: int) -> None:
        f = engine.triage
        for i in range(k):
            body, subject, channel = BODIES[i % 6]
            f(body, subject, channel, times[i & 4095])

    print("bench_triage ·", machine_line())
    print(f"  practice: {engine.config.timezone}, {len(engine.config.sources)} settings file(s)")
    _rate("due time: add_business_time(t, 1 business day)", add_days, n)
    _rate("due time: add_business_time(t, 2 business hours)", add_time, n)
    _rate("route + due + after-hours (Router.triage)", route_and_clock, n)
    _rate("full triage (classify + route + clock)", full, max(n // 2, 1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
