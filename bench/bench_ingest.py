"""Bulk ingest rate through the whole pipeline (budget: >= 10,000 messages/s at 100k messages).

Generates a realistic stream (SMS, email with reply chains, voicemail, portal; ~10k senders
of whom ~80 % are known patients, some households sharing a phone, the rest unknown),
loads the patients with ``import_patients``, then times ``ingest()`` into a fresh SQLite
file — and into a fresh PostgreSQL schema when one is reachable. Prints msgs/s, the
machine and the date.

    .venv/bin/python bench/bench_ingest.py [--messages 100000] [--batch-size 5000] [--no-pg] [--stub-rules]
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

from omnidesk.model import Channel, Classification, InboundMessage, Triage, Urgency
from omnidesk.rules.triage import TriageEngine
from omnidesk.services.context import Context
from omnidesk.services.importing import import_patients
from omnidesk.services.ingest import DEFAULT_BATCH, ingest
from omnidesk.store.engine import make_engine, sqlite_url
from omnidesk.store.migrate import upgrade
from omnidesk.store.schema import messages, threads

PG_URL = os.environ.get("OMNIDESK_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BODIES = [
    "Hi, I need to reschedule my appointment on Tuesday, something came up at work.",
    "Can you send a refill of my lisinopril to the pharmacy on Main St? I have 3 pills left.",
    "I got a bill for my last visit but I thought insurance covered it. Can someone call me?",
    "Are my lab results back yet? The doctor said she would call but I haven't heard.",
    "Confirming my appointment tomorrow at 9:30. Thanks!",
    "hey its me again, cant make it thursday, my kid is sick 🤒 can we do next week",
    "Voicemail transcript: hi um this is uh calling about my prescription, please call me back, thanks bye",
    "Please send my records to Dr. Patel's office, fax number on file.",
    "My insurance changed in January, where do I send the new card?",
    "Thank you so much for fitting me in last week, feeling much better.",
    "Necesito una cita para mi hijo, tiene fiebre desde ayer.",
    "I have had a bad headache for three days and now my vision is blurry.",
]


class StubTriage(TriageEngine):
    """Everything routine, front desk: isolates the pipeline from the rules' cost."""

    __slots__ = ()

    def __init__(self) -> None:
        pass

    def triage(self, body, subject, channel, received_at, *, reminder_reply=False):
        return Triage(Classification(("general",), Urgency.ROUTINE), "front_desk", received_at + timedelta(days=1))


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} cpus, Python {platform.python_version()}"


def make_patients(path: Path, n: int, rng: random.Random) -> tuple[list[str], list[str]]:
    """Write ``n`` patients; return the phones and emails they use (households share phones)."""
    phones: list[str] = []
    emails: list[str] = []
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["mrn", "first_name", "last_name", "dob", "mobile_phone", "home_phone", "email"])
        for i in range(n):
            phone = f"+1555{2000000 + i:07d}" if i % 25 else phones[-1] if phones else f"+1555{2000000:07d}"
            email = f"patient{i}@example.org" if i % 3 == 0 else ""
            phones.append(phone)
            if email:
                emails.append(email)
            dob = f"{1940 + i % 70}-{1 + i % 12:02d}-{1 + i % 28:02d}"
            w.writerow([f"MRN{i:06d}", f"First{i}", f"Last{i}", dob, phone, "", email])
    return phones, emails


def make_stream(n: int, phones: list[str], emails: list[str], unknown: int, rng: random.Random) -> list[InboundMessage]:
    start = datetime(2024, 1, 1, 12, tzinfo=UTC)
    senders = [("p", p) for p in phones] + [("e", e) for e in emails]
    senders += [("p", f"+1555{7000000 + i:07d}") for i in range(unknown)]
    last_email: dict[str, str] = {}
    out: list[InboundMessage] = []
    for i in range(n):
        kind, addr = rng.choice(senders)
        at = start + timedelta(seconds=i * 78 + rng.randrange(60))  # ~90 days
        body = rng.choice(BODIES)
        if kind == "e":
            mid = f"m{i}.{uuid.UUID(int=rng.getrandbits(128)).hex[:12]}@mail.example.org"
            parent = last_email.get(addr) if rng.random() < 0.6 else None
            out.append(
                InboundMessage(
                    Channel.EMAIL,
                    f"imap:{i}",
                    addr,
                    "frontdesk@practice.example",
                    body,
                    at,
                    subject="Re: your appointment" if parent else "Question",
                    message_id=f"<{mid}>",
                    in_reply_to=f"<{parent}>" if parent else None,
                    references=(f"<{parent}>",) if parent else (),
                )
            )
            last_email[addr] = mid
        else:
            channel = rng.choices([Channel.SMS, Channel.VOICEMAIL, Channel.PORTAL], [0.75, 0.15, 0.10])[0]
            sender = addr if rng.random() < 0.7 else f"({addr[2:5]}) {addr[5:8]}-{addr[8:]}"
            out.append(InboundMessage(channel, f"{channel.value}:{i}", sender, "+15550100000", body, at))
    return out


def run(url: str, label: str, args: argparse.Namespace) -> None:
    upgrade(url)
    engine = make_engine(url)
    ctx = Context(engine, None, _triage=StubTriage() if args.stub_rules else None)
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        pfile = Path(tmp) / "patients.csv"
        phones, emails = make_patients(pfile, args.patients, rng)
        t = time.perf_counter()
        rep = import_patients(ctx, pfile)
        print(f"[{label}] import_patients: {rep.added} patients in {time.perf_counter() - t:.2f}s")
    stream = make_stream(args.messages, phones, emails, args.unknown, rng)
    ctx.triage  # noqa: B018 - load the rules before the clock starts
    t, cpu = time.perf_counter(), time.process_time()
    report = ingest(ctx, stream, batch_size=args.batch_size)
    elapsed, cpu = time.perf_counter() - t, time.process_time() - cpu
    with engine.connect() as c:
        n_threads = c.execute(select(func.count()).select_from(threads)).scalar_one()
        n_msgs = c.execute(select(func.count()).select_from(messages)).scalar_one()
    print(
        f"[{label}] ingest: {report.new} new, {report.duplicate} dup, {len(report.rejected)} rejected; "
        f"{n_msgs} messages in {n_threads} threads; {elapsed:.2f}s = {report.new / elapsed:,.0f} msgs/s"
    )
    print(
        f"[{label}]   this process's CPU: {cpu:.2f}s = {report.new / cpu:,.0f} msgs/s per CPU-second "
        f"(load average now {os.getloadavg()[0]:.1f}; wall time includes fsync and other processes)"
    )
    t = time.perf_counter()
    again = ingest(ctx, stream, batch_size=args.batch_size)
    e2 = time.perf_counter() - t
    print(f"[{label}] re-ingest (all duplicates): {again.duplicate} in {e2:.2f}s = {again.duplicate / e2:,.0f} msgs/s")
    engine.dispose()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=100_000)
    ap.add_argument("--patients", type=int, default=8_000)
    ap.add_argument("--unknown", type=int, default=2_000)
    ap.add_argument("--batch-size", type=int, default=DEFAULT_BATCH, help="messages per transaction (ingest's default)")
    ap.add_argument("--no-pg", action="store_true")
    ap.add_argument("--stub-rules", action="store_true", help="a trivial classifier: the pipeline's cost alone")
    args = ap.parse_args()
    print(f"bench_ingest {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {machine()}")
    print(f"{args.messages:,} messages, {args.patients:,} patients + {args.unknown:,} unknown senders")
    with tempfile.TemporaryDirectory() as tmp:
        run(sqlite_url(Path(tmp) / "bench.db"), "sqlite", args)
    if args.no_pg:
        return 0
    try:
        admin = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        with admin.begin() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:
        print(f"[postgresql] skipped: not reachable ({type(exc).__name__})")
        return 0
    try:
        run(f"{PG_URL}?options=-csearch_path%3D{schema}", "postgresql", args)
    finally:
        with admin.begin() as c:
            c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
