"""Build the large benchmark database: 1,000,000 messages in 100,000 threads, through the real pipeline.

Patients go in through ``import_patients`` (a CSV), messages through ``ingest`` (normalize,
dedupe, resolve, thread, triage, store, FTS) in batches — nothing is hand-inserted. Each
patient has several conversations 40 days apart (longer than the 7-day thread window), so
every conversation becomes its own thread; ~2 % come from unknown numbers (Unmatched).
Bodies are the demo's templates (English and Spanish, all four channels). Deterministic.

    .venv/bin/python bench/gen_large.py                 # -> bench/out/large.db (skipped if complete)
    .venv/bin/python bench/gen_large.py --force         # rebuild
    .venv/bin/python bench/gen_large.py --messages 100000 --threads 10000 --out bench/out/small.db
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from machine import machine_line, rss_mb

from omnidesk.channels.simulated_content import (
    PORTAL_ADDRESS,
    PRACTICE_EMAIL,
    PRACTICE_PHONE,
    Sender,
    compose,
    compose_unknown,
    pick_intent,
)
from omnidesk.model import Channel, InboundMessage

OUT = Path(__file__).resolve().parent / "out"
SLOT_DAYS = 40  # one conversation per patient per slot; > thread window + conversation length


def patient_phone(i: int) -> str:
    return f"+1{201 + i // 9000}555{1000 + i % 9000:04d}"


def unknown_phone(u: int) -> str:
    return f"+1{401 + u // 9000}555{1000 + u % 9000:04d}"


def write_patients(path: Path, n: int, rng: random.Random) -> None:
    from omnidesk.channels.simulated_content import FIRST_F_EN, FIRST_M_ES, LAST_EN, LAST_ES
    from omnidesk.services.importing import PATIENT_COLUMNS

    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(PATIENT_COLUMNS)
        for i in range(n):
            es = i % 5 == 0
            first = rng.choice(FIRST_M_ES if es else FIRST_F_EN)
            last = rng.choice(LAST_ES if es else LAST_EN)
            dob = f"{rng.randint(1935, 2023)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            w.writerow(
                [f"B{i:07d}", first, last, dob, patient_phone(i), "", f"p{i}@example.org", "es" if es else "en", "sms"]
            )


class BodyPool:
    """Pre-composed (subject, body) pairs per (lang, channel) so generation is not the bottleneck."""

    def __init__(self, rng: random.Random, size: int = 4000) -> None:
        self.pool: dict[tuple[str, Channel], list[tuple[str | None, str]]] = {}
        names = [Sender("Maria", "Lopez", "Sofia", True), Sender("Dale", "Ferris"), Sender("Keisha", "Brown", "Andre")]
        for lang in ("en", "es"):
            for ch in Channel:
                items = []
                for _ in range(size):
                    intent = "emergency" if rng.random() < 0.002 else pick_intent(rng)
                    items.append(compose(rng, intent, lang, ch.value, rng.choice(names)))
                self.pool[(lang, ch)] = items
        self.unknown = [compose_unknown(rng, "en", "sms") for _ in range(500)]

    def pick(self, rng: random.Random, lang: str, ch: Channel) -> tuple[str | None, str]:
        return rng.choice(self.pool[(lang, ch)])


def plan_counts(rng: random.Random, threads: int, messages: int) -> list[int]:
    """Messages per thread: 1..(2·avg−1), adjusted so they sum to ``messages`` exactly."""
    avg = messages / threads
    counts = [rng.randint(1, max(1, int(2 * avg) - 1)) for _ in range(threads)]
    diff = messages - sum(counts)
    i = 0
    while diff:
        step = 1 if diff > 0 else -1
        if counts[i % threads] + step >= 1:
            counts[i % threads] += step
            diff -= step
        i += 1
    return counts


def generate(rng: random.Random, patients: int, threads: int, messages: int, now: datetime) -> Iterator[InboundMessage]:
    """All messages in time order, slot by slot (a slot = one conversation per patient)."""
    pool = BodyPool(rng)
    counts = plan_counts(rng, threads, messages)
    slots = -(-threads // patients)
    start = now - timedelta(days=SLOT_DAYS * slots)
    seq = 0
    unknown = 0
    for slot in range(slots):
        slot_start = start + timedelta(days=SLOT_DAYS * slot)
        events: list[tuple[float, int, int]] = []
        first_t = slot * patients
        for t in range(first_t, min(first_t + patients, threads)):
            at = rng.uniform(0, 20 * 86400)
            for j in range(counts[t]):
                events.append((at, t, j))
                at += rng.uniform(300, 6 * 3600)
        events.sort()
        last_mid: dict[int, str] = {}
        unknown_of: dict[int, str] = {}
        for offset, t, _j in events:
            seq += 1
            at = slot_start + timedelta(seconds=offset)
            if at > now:
                at = now
            p = t % patients
            if t % 50 == 7:  # an unknown sender: one number per conversation
                if t not in unknown_of:
                    unknown += 1
                    unknown_of[t] = unknown_phone(unknown)
                yield InboundMessage(
                    Channel.SMS, f"BSM{seq:09d}", unknown_of[t], PRACTICE_PHONE, rng.choice(pool.unknown), at
                )
                continue
            lang = "es" if p % 5 == 0 and rng.random() < 0.8 else "en"
            ch = rng.choices((Channel.SMS, Channel.EMAIL, Channel.VOICEMAIL, Channel.PORTAL), (50, 25, 15, 10))[0]
            subject, body = pool.pick(rng, lang, ch)
            if ch is Channel.EMAIL:
                mid = f"b{seq:09d}@mail.example.com"
                parent = last_mid.get(t)
                last_mid[t] = mid
                yield InboundMessage(
                    ch,
                    mid,
                    f"p{p}@example.org",
                    PRACTICE_EMAIL,
                    body,
                    at,
                    subject=("Re: " + (subject or "")) if parent else subject,
                    message_id=mid,
                    in_reply_to=parent,
                    references=(parent,) if parent else (),
                )
            elif ch is Channel.PORTAL:
                yield InboundMessage(ch, f"BPM{seq:09d}", f"p{p}@example.org", PORTAL_ADDRESS, body, at)
            else:
                prefix = "BSM" if ch is Channel.SMS else "BRE"
                yield InboundMessage(ch, f"{prefix}{seq:09d}", patient_phone(p), PRACTICE_PHONE, body, at)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--threads", type=int, default=100_000)
    ap.add_argument("--patients", type=int, default=20_000)
    ap.add_argument("--batch", type=int, default=5000)
    ap.add_argument("--out", type=Path, default=OUT / "large.db")
    ap.add_argument("--db", help="a database URL instead of --out (e.g. PostgreSQL)")
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args()

    from omnidesk.services.importing import import_patients
    from omnidesk.services.ingest import ingest
    from omnidesk.services.setup import init_store, open_context
    from omnidesk.store.engine import sqlite_url

    marker = args.out.with_suffix(".json")
    if not args.db and marker.exists() and args.out.exists() and not args.force:
        print(f"{args.out} is complete ({marker.read_text().strip()}); --force rebuilds it")
        return 0
    if not args.db:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(str(args.out) + suffix).unlink(missing_ok=True)
        marker.unlink(missing_ok=True)
    url = init_store(args.db or sqlite_url(args.out))
    ctx = open_context(url, "admin")
    print(machine_line())
    rng = random.Random(20240501)
    now = datetime.now(UTC).replace(microsecond=0)

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        pfile = Path(tmp) / "patients.csv"
        write_patients(pfile, args.patients, rng)
        rep = import_patients(ctx, pfile)
    t_import = time.perf_counter() - t0
    print(f"patients: {rep.added} added, {len(rep.errors)} errors in {t_import:.1f} s")

    done = 0
    t1 = time.perf_counter()
    last_print = t1
    stream = generate(rng, args.patients, args.threads, args.messages, now)
    total_new = total_dup = total_rej = 0
    chunk = 100_000
    while True:
        part = []
        for m in stream:
            part.append(m)
            if len(part) >= chunk:
                break
        if not part:
            break
        r = ingest(ctx, part, batch_size=args.batch)
        total_new += r.new
        total_dup += r.duplicate
        total_rej += len(r.rejected)
        done += len(part)
        now_t = time.perf_counter()
        print(
            f"  {done:>9,} messages  {done / (now_t - t1):>8,.0f} msg/s overall  "
            f"{len(part) / (now_t - last_print):>8,.0f} msg/s last chunk  rss {rss_mb()[0]:.0f} MB",
            flush=True,
        )
        last_print = now_t
    elapsed = time.perf_counter() - t1

    from sqlalchemy import func, select

    from omnidesk.store.engine import reading
    from omnidesk.store.schema import messages, threads

    with reading(ctx.engine) as conn:
        n_msg = conn.execute(select(func.count()).select_from(messages)).scalar_one()
        n_thr = conn.execute(select(func.count()).select_from(threads)).scalar_one()
    info = {
        "messages": n_msg,
        "threads": n_thr,
        "patients": args.patients,
        "new": total_new,
        "duplicate": total_dup,
        "rejected": total_rej,
        "ingest_seconds": round(elapsed, 1),
        "ingest_msgs_per_s": round(done / elapsed),
        "built": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    print(f"ingest (generation included): {done:,} messages in {elapsed:.1f} s = {done / elapsed:,.0f} messages/s")
    print(f"database: {n_msg:,} messages, {n_thr:,} threads")
    if not args.db:
        size = sum(Path(str(args.out) + s).stat().st_size for s in ("", "-wal") if Path(str(args.out) + s).exists())
        print(f"file: {args.out} {size / 1e9:.2f} GB")
        marker.write_text(json.dumps(info))
    ctx.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
