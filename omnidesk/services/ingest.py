"""The one path every inbound message takes into the store, from a channel or from a file.

``ingest`` normalizes, dedupes on (channel, provider id), resolves the sender to a patient,
attaches each message to a thread, triages it and stores it — one transaction per batch
(see ``ingest_batch``). It is idempotent: the same messages again change nothing. Bulk
loads use batches of 5,000 and overlap each batch's full-text pass and commit (in a helper
thread) with the next batch's validation and rules; a single batch uses no extra thread.

JSONL (``omnidesk ingest FILE.jsonl``), one message per line::

    {"channel": "sms|email|voicemail|portal", "provider_id": "...", "from": "+15551234567",
     "to": "...", "subject": null, "body": "...", "received_at": "2024-05-01T14:03:00-04:00",
     "message_id": null, "in_reply_to": null, "references": []}

Decisions: ``received_at`` must carry an offset or ``Z``; a naive time is rejected
("received_at has no UTC offset") rather than guessed, since a wrong guess silently
reorders a patient's conversation and shifts response targets by hours. Blank lines are
skipped. The file is read as a stream (any size); bytes that are not UTF-8 become U+FFFD.
A rejected line is reported with its number and a PHI-free reason and never stops the rest.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import datetime
from itertools import islice
from pathlib import Path

from sqlalchemy import Connection

from omnidesk.model import Channel, InboundMessage, IngestReport
from omnidesk.services.context import Context
from omnidesk.services.ingest_batch import (
    BatchResult,
    IngestCache,
    PendingBatch,
    ingest_batch,
    prepare_batch,
    start_batch,
)

DEFAULT_BATCH = 5000  # messages per transaction for bulk loads (fewer fsyncs and thread rewrites)


def ingest(
    ctx: Context,
    messages: Iterable[InboundMessage],
    *,
    batch_size: int = DEFAULT_BATCH,
    before_commit: Callable[[Connection], None] | None = None,
) -> IngestReport:
    """Store ``messages`` (any iterable, consumed lazily); rejected items are numbered from 1.

    ``before_commit(conn)`` runs inside the LAST batch's transaction (e.g. to store a
    channel cursor atomically with the messages it covers); it is also called when there
    is nothing to store, in a transaction of its own.
    """
    return ingest_numbered(ctx, enumerate(messages, 1), batch_size=batch_size, before_commit=before_commit)


def ingest_numbered(
    ctx: Context,
    numbered: Iterable[tuple[int, InboundMessage]],
    *,
    batch_size: int = DEFAULT_BATCH,
    report: IngestReport | None = None,
    before_commit: Callable[[Connection], None] | None = None,
) -> IngestReport:
    """Like ``ingest`` with caller-chosen numbers (file line numbers) for the rejection report."""
    report = report if report is not None else IngestReport()
    it = iter(numbered)
    size = max(1, batch_size)
    batch = list(islice(it, size))
    if not batch and before_commit is not None:
        with ctx.engine.begin() as conn:
            before_commit(conn)
    following = list(islice(it, size)) if batch else []
    if following and _threads_may_share(ctx):
        return _pipelined(ctx, batch, following, it, size, report, before_commit)
    cache = IngestCache()  # one batch (the live path), or a store one thread must keep to itself
    while batch:
        ingest_batch(ctx, batch, report, before_commit=None if following else before_commit, cache=cache)
        batch, following = following, list(islice(it, size)) if following else []
    return report


def _threads_may_share(ctx: Context) -> bool:
    """False for engines whose connections belong to one thread (in-memory SQLite pools)."""
    from sqlalchemy.pool import SingletonThreadPool, StaticPool

    return not isinstance(ctx.engine.pool, SingletonThreadPool | StaticPool)


def _pipelined(
    ctx: Context,
    batch: list[tuple[int, InboundMessage]],
    following: list[tuple[int, InboundMessage]],
    it: Iterator[tuple[int, InboundMessage]],
    size: int,
    report: IngestReport,
    before_commit: Callable[[Connection], None] | None,
) -> IngestReport:
    """Store batches in order, one transaction each, overlapping two kinds of work.

    While batch N's full-text pass and commit (long calls into the database driver, which
    release the GIL) run in a helper thread, this thread validates and triages batch N+1
    (Python). Batch N+1's transaction starts only once batch N is committed, so the store
    sees exactly the sequence of transactions a plain loop would make. The rules run before
    the duplicate check here; after a batch that was mostly duplicates (a file loaded
    again) they go back to running after it, for the new messages only.
    """
    cache = IngestCache()
    ready = prepare_batch(ctx, batch)
    done: Future[BatchResult] | None = None
    last: PendingBatch | None = None
    with ThreadPoolExecutor(1, thread_name_prefix="omnidesk-ingest") as helper:
        try:
            while True:
                if done is not None and last is not None:
                    done.result()  # batch N committed (or its error raised here)
                    last.add_to(report)
                    done = None
                pending = start_batch(ctx, ready, before_commit=None if following else before_commit, cache=cache)
                if not following:
                    pending.finish()
                    pending.add_to(report)
                    return report
                done, last = helper.submit(pending.finish), pending
                mostly_new = pending.result.duplicate * 2 <= len(ready.items)
                ready = prepare_batch(ctx, following, triage=mostly_new)
                following = list(islice(it, size))
        except BaseException:
            if done is not None:
                wait([done])  # batch N commits or rolls back before the error is reported
            raise


def parse_jsonl_line(line: str) -> InboundMessage:
    """One JSONL line as an ``InboundMessage``; ``ValueError`` with a PHI-free reason otherwise."""
    try:
        data = json.loads(line)
    except (json.JSONDecodeError, RecursionError):
        raise ValueError("not valid JSON") from None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    try:
        channel = Channel(str(data.get("channel", "")).strip().lower())
    except ValueError:
        raise ValueError("unknown channel") from None
    provider_id = data.get("provider_id")
    if provider_id is None or (isinstance(provider_id, str) and not provider_id.strip()):
        raise ValueError("missing provider_id")
    if not isinstance(provider_id, str | int):
        raise ValueError("provider_id must be a string")
    sender = data.get("from")
    if not isinstance(sender, str) or not sender.strip():
        raise ValueError("missing sender ('from')")
    received_at = _parse_time(data.get("received_at"))
    body = data.get("body")
    if body is not None and not isinstance(body, str):
        raise ValueError("body must be a string")
    subject = data.get("subject")
    references = data.get("references") or []
    if isinstance(references, str):
        references = references.split()
    if not isinstance(references, list) or not all(isinstance(r, str) for r in references):
        raise ValueError("references must be a list of strings")
    return InboundMessage(
        channel=channel,
        provider_id=str(provider_id),
        sender=sender,
        recipient=_opt_str(data.get("to")) or "",
        body=body or "",
        received_at=received_at,
        subject=_opt_str(subject),
        message_id=_opt_str(data.get("message_id")),
        in_reply_to=_opt_str(data.get("in_reply_to")),
        references=tuple(references),
    )


def _opt_str(value: object) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _parse_time(value: object) -> datetime:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("missing received_at")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("received_at is not an ISO 8601 time") from None
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("received_at has no UTC offset")
    return at


def iter_jsonl(path: Path, report: IngestReport) -> Iterator[tuple[int, InboundMessage]]:
    """Numbered messages from a JSONL file, streaming; bad lines go to ``report.rejected``."""
    with open(path, encoding="utf-8", errors="replace", newline="") as fh:
        for number, raw in enumerate(fh, 1):
            line = raw.strip()
            if not line:
                continue
            if number == 1 and line.startswith("\ufeff"):
                line = line[1:]
            try:
                yield number, parse_jsonl_line(line)
            except ValueError as exc:
                report.rejected.append((number, str(exc)))


def ingest_jsonl(ctx: Context, path: Path, *, batch_size: int = DEFAULT_BATCH) -> IngestReport:
    """Ingest a JSONL file (format in the module docstring); report new, duplicate and rejected lines.

    Permission ``import.messages`` (loading files by hand; the sync loop acts as the system).
    """
    from omnidesk.services.permissions import IMPORT_MESSAGES, require

    require(ctx, IMPORT_MESSAGES)
    report = IngestReport()
    ingest_numbered(ctx, iter_jsonl(Path(path), report), batch_size=batch_size, report=report)
    report.rejected.sort()
    return report


def ingest_mail(ctx: Context, path: Path, *, batch_size: int = DEFAULT_BATCH) -> IngestReport:
    """Ingest a maildir, a folder of message files, one message file or an mbox (channel email).

    Permission ``import.messages``. Messages are numbered in load order for the report.
    """
    from omnidesk.channels.maildir import iter_mail
    from omnidesk.services.permissions import IMPORT_MESSAGES, require

    require(ctx, IMPORT_MESSAGES)
    return ingest(ctx, iter_mail(Path(path)), batch_size=batch_size)
