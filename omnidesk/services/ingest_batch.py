"""One ingest batch in one transaction: dedupe → resolve → thread → triage → store.

Everything the batch needs from the store is preloaded with a handful of set queries
(existing provider ids, contacts, patient links, header-linked threads, open threads of
the batch's patients and contacts); threads are folded in memory, then written back once
each: new threads INSERTed with their final values, touched threads UPDATEd with only the
columns that changed (one ``executemany`` per column set); no ORM, no per-row round trips.

Thread updates use optimistic concurrency (``version``): if a staff action changed a
thread between our read and our write, or another writer stored the same provider id,
the batch is rolled back and redone from a fresh read.

``prepare_batch`` (validation and rules; no store access) → ``start_batch`` (the
transaction, up to the last row) → ``PendingBatch.finish`` (the full-text pass and the
commit): ``ingest`` runs the last step of one batch in a helper thread while it prepares
the next. ``ingest_batch`` does all three in a row.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from operator import attrgetter
from typing import Any, ClassVar

from sqlalchemy import Connection, Text, bindparam, cast, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from omnidesk.model import AttachmentIn, Channel, InboundMessage, IngestReport, Intent, Triage, Urgency
from omnidesk.services.bulk import DeferredFts, Encoder, allocate_ids, insert_rows, select_in, update_rows
from omnidesk.services.context import Context
from omnidesk.services.identity import ensure_contacts, normalize_address, patients_by_contact
from omnidesk.services.reminders import reminder_replies
from omnidesk.services.threading import ThreadState, apply_message, clean_message_id, merge_into, parse_id_list
from omnidesk.store.schema import attachments, message_refs, messages, metadata, opt_outs, threads

MAX_BODY_CHARS = 1_000_000  # longer bodies are cut (with a marker); nothing real is that long
_TRUNCATED = "\n[… truncated by omnidesk]"
_CHUNK = 900  # ids per IN (...) list: under every backend's bound-parameter limit


THREAD_COLUMNS = list(ThreadState.new(None, None, datetime(2000, 1, 1, tzinfo=UTC)).row(datetime.now(UTC)))
MESSAGE_COLUMNS = [
    "id",
    "thread_id",
    "contact_id",
    "channel",
    "direction",
    "provider_id",
    "sender",
    "recipient",
    "subject",
    "body",
    "at",
    "message_id",
    "in_reply_to",
    "references",
    "intents",
    "urgency",
    "matched",
    "created_at",
]
ATTACHMENT_COLUMNS = ["message_id", "filename", "content_type", "size", "sha256", "data"]


THREAD_INSERT_COLUMNS = ["id", *THREAD_COLUMNS, "version", "created_at"]
_ALL_THREAD_FIELDS = tuple(range(len(THREAD_COLUMNS) - 1))  # every column but updated_at
_POSITIONS = range(len(THREAD_COLUMNS))
_CONSENT_FIRST = '["consent.%'  # the JSON text of intents that start with a consent keyword


_BY_TIME = attrgetter("at")
_STORED_PROVIDER_IDS = select(messages.c.provider_id).where(
    messages.c.channel == bindparam("channel"), messages.c.provider_id.in_(bindparam("ids", expanding=True))
)
_STORED_REFS = select(message_refs.c.ref, message_refs.c.thread_id).where(
    message_refs.c.ref.in_(bindparam("ids", expanding=True))
)
_THREAD_VERSIONS = select(threads.c.id, threads.c.version).where(threads.c.id.in_(bindparam("ids", expanding=True)))
_JOINABLE = (
    or_(threads.c.status != "closed", cast(threads.c.intents, Text).like(_CONSENT_FIRST)),
    threads.c.last_message_at >= bindparam("lo"),
    threads.c.first_message_at <= bindparam("hi"),
)
_PATIENT_THREADS = select(threads.c.id, threads.c.version).where(
    threads.c.patient_id.in_(bindparam("ids", expanding=True)), *_JOINABLE
)
_CONTACT_THREADS = select(threads.c.id, threads.c.version).where(
    threads.c.contact_id.in_(bindparam("ids", expanding=True)), threads.c.patient_id.is_(None), *_JOINABLE
)


def _changed(values: tuple[Any, ...], saved: tuple[Any, ...]) -> tuple[int, ...]:
    """Positions where ``values`` differs from ``saved`` (``values`` may be longer)."""
    return tuple([i for i, a, b in zip(_POSITIONS, values, saved) if a != b])  # noqa: B905


class BatchConflict(Exception):
    """A concurrent writer changed what this batch read; redo it."""


_CHANNELS = {c.value: c.value for c in Channel}
_CHANNEL_ENUM = {c.value: c for c in Channel}
_URGENCY_TEXT = {u.value: u.value for u in Urgency}
_OPT_OUT = Intent.CONSENT_OPT_OUT.value
_SMS = Channel.SMS.value
_OPT_IN = Intent.CONSENT_OPT_IN.value


def clean_text(value: Any, limit: int | None = None) -> str:
    """Text the store can hold: a ``str``, no NUL, no lone surrogates, at most ``limit`` characters."""
    if value is None:
        return ""
    if type(value) is str and value.isascii() and "\x00" not in value:
        return value if limit is None or len(value) <= limit else value[:limit]
    if not isinstance(value, str):
        value = value.decode("utf-8", "replace") if isinstance(value, bytes | bytearray) else str(value)
    if "\x00" in value:
        value = value.replace("\x00", "")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "replace").decode("utf-8")
    if limit is not None and len(value) > limit:
        value = value[:limit]
    return value


@dataclass(slots=True)
class Item:
    """A validated inbound message on its way into the store."""

    line: int
    channel: str
    provider_id: str
    sender: str
    recipient: str
    body: str
    subject: str | None
    at: datetime
    message_id: str | None
    in_reply_to: str | None
    references: list[str]
    attachments: tuple[AttachmentIn, ...]
    contact_key: tuple[str, str] | None
    contact_id: int | None = None
    patient_id: int | None = None
    triage: Triage | None = None
    state: ThreadState | None = None
    group: str | None = None
    reminder_reply: bool = False  # an SMS answering an appointment reminder (``mark_reminder_replies``)


def prepare(line: int, msg: InboundMessage) -> Item | str:
    """Validate and clean one message; a PHI-free reason string when it cannot be stored."""
    channel = _CHANNELS.get(msg.channel) if isinstance(msg.channel, str) else None
    if channel is None:
        return "unknown channel"
    provider_id = msg.provider_id
    if type(provider_id) is not str or not provider_id.isascii() or "\x00" in provider_id:
        provider_id = clean_text(provider_id)
    provider_id = provider_id.strip()
    if not provider_id:
        return "missing provider_id"
    if len(provider_id) > 255:
        return "provider_id longer than 255 characters"
    at = msg.received_at
    if not isinstance(at, datetime):
        return "received_at is not a time"
    if at.tzinfo is not UTC:
        if at.tzinfo is None or at.utcoffset() is None:
            return "received_at has no UTC offset"
        at = at.astimezone(UTC)
    sender = msg.sender
    if type(sender) is not str or len(sender) > 320 or not sender.isascii() or "\x00" in sender:
        sender = clean_text(sender, 2000)
    sender = sender.strip()
    if not sender:
        return "missing sender"
    body = msg.body
    if type(body) is not str or not body.isascii() or "\x00" in body:
        body = clean_text(body)
    if len(body) > MAX_BODY_CHARS:
        body = body[:MAX_BODY_CHARS] + _TRUNCATED
    subject = msg.subject
    if subject is not None:
        subject = clean_text(subject, 10_000).strip() or None
    recipient = msg.recipient
    if type(recipient) is not str or len(recipient) > 320 or not recipient.isascii() or "\x00" in recipient:
        recipient = clean_text(recipient, 320)
    message_id = msg.message_id
    in_reply_to = msg.in_reply_to
    refs = msg.references
    return Item(  # positional: ~3x cheaper than keywords, and this runs once per message
        line,
        channel,
        provider_id,
        sender[:320],
        recipient,
        body,
        subject,
        at,
        clean_message_id(clean_text(message_id)) if message_id else None,  # message_id
        clean_message_id(clean_text(in_reply_to)) if in_reply_to else None,  # in_reply_to
        list(parse_id_list(refs))[-100:] if refs else [],  # references
        tuple(msg.attachments) if msg.attachments else (),  # attachments
        _contact_key(sender),  # contact_key
    )


@lru_cache(maxsize=65536)
def _contact_key(sender: str) -> tuple[str, str] | None:
    found = normalize_address(sender)
    return (found[0].value, found[1]) if found else None


@dataclass(slots=True)
class BatchResult:
    new: int = 0
    duplicate: int = 0
    threads_created: int = 0
    threads_updated: int = 0
    emergencies: int = 0


def _chunks(values: list[Any]) -> Any:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        parent = self.parent
        root = parent.setdefault(x, x)
        while root != parent[root]:
            root = parent[root]
        while x != root:
            parent[x], x = root, parent[x]
        return root

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[rb] = ra


@dataclass
class IngestCache:
    """What one ``ingest`` call remembers between its batches: contact ids, links, thread rows.

    A cached thread is reused only while its stored ``version`` is unchanged. The contacts'
    patient links are reused (SQLite only) while nothing at all was written since our last
    commit: same connection, same ``PRAGMA data_version`` (no other connection committed)
    and same ``total_changes`` (nobody else used this connection). Any failed batch clears
    everything (its in-memory changes were rolled back in the store).
    """

    contacts: dict[tuple[str, str], int] = field(default_factory=dict)
    threads: dict[int, ThreadState] = field(default_factory=dict)
    links: dict[int, list[int]] = field(default_factory=dict)
    _quiet_since: tuple[Any, int, int] | None = None  # (driver connection, data_version, total_changes)
    MAX_THREADS: ClassVar[int] = 50_000  # cached threads (~0.5 KB each); a trimmed one is just read again

    def clear(self) -> None:
        self.contacts.clear()
        self.threads.clear()
        self.links.clear()
        self._quiet_since = None

    def links_for(self, conn: Connection) -> dict[int, list[int]]:
        """The cached links if nothing was written since our last commit; else an empty cache."""
        if self._quiet_since is None or _write_mark(conn) != self._quiet_since:
            self.links.clear()
        return self.links

    def trim(self, keep: Iterable[ThreadState]) -> None:
        """Bound the thread cache: past ``MAX_THREADS`` keep only ``keep`` (the last batch's)."""
        if len(self.threads) > self.MAX_THREADS:
            kept = {s.id: s for s in keep if s.id is not None and s.merged_into is None}
            self.threads.clear()
            self.threads.update(kept)

    def committed(self, conn: Connection) -> None:
        """Remember the store's write mark right after our commit (SQLite; elsewhere nothing)."""
        self._quiet_since = _write_mark(conn)


def _write_mark(conn: Connection) -> tuple[Any, int, int] | None:
    if conn.dialect.name != "sqlite":
        return None
    raw = conn.connection.dbapi_connection
    (version,) = raw.execute("PRAGMA data_version").fetchone()  # type: ignore[union-attr]
    return (raw, version, raw.total_changes)  # type: ignore[union-attr]  # the object: its id is never reused


@dataclass
class _Batch:
    ctx: Context
    conn: Connection
    now: datetime
    items: list[Item]
    cache: IngestCache
    result: BatchResult = field(default_factory=BatchResult)
    states: dict[int, ThreadState] = field(default_factory=dict)
    by_key: dict[tuple[str, int], list[ThreadState]] = field(default_factory=lambda: defaultdict(list))
    new_states: list[ThreadState] = field(default_factory=list)
    group_state: dict[str, ThreadState] = field(default_factory=dict)
    group_db_threads: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    known_refs: set[tuple[str, int]] = field(default_factory=set)
    memo: dict[Any, dict[Any, Any]] = field(default_factory=dict)  # values converted for the store
    fts: DeferredFts | None = None  # the new messages' full-text pass, done last (``index_text``)
    ids: list[int] = field(default_factory=list)

    def index_text(self) -> None:
        """Add the batch's messages to the full-text index (SQLite bulk path) and restore the trigger."""
        if self.fts is not None:
            self.fts.index(self.ids)
            self.fts.restore()
            self.fts = None

    # -- preloads ---------------------------------------------------------------------------

    def drop_duplicates(self) -> None:
        seen: set[tuple[str, str]] = set()
        fresh: list[Item] = []
        for item in self.items:
            key = (item.channel, item.provider_id)
            if key in seen:
                self.result.duplicate += 1
            else:
                seen.add(key)
                fresh.append(item)
        existing: set[tuple[str, str]] = set()
        per_channel: dict[str, list[str]] = defaultdict(list)
        for item in fresh:
            per_channel[item.channel].append(item.provider_id)
        for channel, ids in per_channel.items():
            rows = select_in(self.conn, _STORED_PROVIDER_IDS, ids, {"channel": channel})
            existing.update((channel, pid) for (pid,) in rows)
        if existing:
            fresh = [i for i in fresh if (i.channel, i.provider_id) not in existing]
        self.items = fresh
        self.result.duplicate += len(existing)

    def resolve_senders(self) -> None:
        known = self.cache.contacts
        keys = {i.contact_key for i in self.items if i.contact_key}
        missing = [k for k in keys if k not in known]
        if missing:
            known.update(ensure_contacts(self.conn, missing, self.now))
        ids = {k: known[k] for k in keys}
        links = self.cache.links_for(self.conn)
        need = [cid for cid in set(ids.values()) if cid not in links]
        if need:
            found = patients_by_contact(self.conn, need)
            for cid in need:
                links[cid] = found.get(cid, [])
        for item in self.items:
            if item.contact_key:
                item.contact_id = ids[item.contact_key]
                pids = links.get(item.contact_id, ())
                item.patient_id = pids[0] if len(pids) == 1 else None

    def mark_reminder_replies(self) -> None:
        """Texts answering an appointment reminder (see ``services/reminders.py``) are triaged
        with ``reminder_reply=True`` (again, if they were triaged ahead of the transaction)."""
        texts = [i for i in self.items if i.channel == _SMS and i.contact_id is not None]
        if not texts:
            return
        answers = reminder_replies(self.conn, [(i.contact_id, i.at) for i in texts])  # type: ignore[misc]
        for item, answer in zip(texts, answers, strict=True):
            if answer:
                item.reminder_reply = True
                item.triage = None

    def run_triage(self) -> None:
        _triage_items(self.ctx, self.items)

    def group_headers(self) -> None:
        """Union the batch's emails by Message-ID/In-Reply-To/References, then find stored threads."""
        uf = _UnionFind()
        linked: list[Item] = []
        for item in self.items:
            keys = [k for k in (item.message_id, item.in_reply_to, *item.references) if k]
            if not keys:
                continue
            for k in keys[1:]:
                uf.union(keys[0], k)
            uf.find(keys[0])
            linked.append(item)
        if not linked:
            return
        for item in linked:
            item.group = uf.find(item.message_id or item.in_reply_to or item.references[0])
        # every id any stored message carried, whichever header
        for key, tid in select_in(self.conn, _STORED_REFS, list(uf.parent)):
            self.group_db_threads[uf.find(key)].add(tid)
            self.known_refs.add((key, tid))

    def load_threads(self) -> None:
        wanted_ids = {tid for tids in self.group_db_threads.values() for tid in tids}
        pids = sorted({i.patient_id for i in self.items if i.patient_id is not None})
        cids = sorted({i.contact_id for i in self.items if i.patient_id is None and i.contact_id is not None})
        closed = "closed"
        # only threads a message of this batch could join: open (or closed holding nothing but
        # auto-handled consent messages), and within the window of its time span
        window = timedelta(days=self.ctx.thread_window_days)
        span = {"lo": min(i.at for i in self.items) - window, "hi": max(i.at for i in self.items) + window}
        versions: dict[int, int] = {}
        versions.update(select_in(self.conn, _THREAD_VERSIONS, sorted(wanted_ids)))
        versions.update(select_in(self.conn, _PATIENT_THREADS, pids, span))
        versions.update(select_in(self.conn, _CONTACT_THREADS, cids, span))
        cached = self.cache.threads
        stale = sorted(t for t, v in versions.items() if t not in cached or cached[t].version != v)
        for chunk in _chunks(stale):
            for row in self.conn.execute(select(threads).where(threads.c.id.in_(chunk))):
                cached[row.id] = ThreadState.from_row(row)
        for tid in versions:
            state = cached[tid]
            self.states[tid] = state
            if state.status != closed or state.auto_only:
                if state.patient_id is not None:
                    self.by_key[("p", state.patient_id)].append(state)
                elif state.contact_id is not None:
                    self.by_key[("c", state.contact_id)].append(state)
        # A chain that reaches two stored threads joins them: the oldest thread absorbs the rest.
        for group, tids in self.group_db_threads.items():
            found = sorted({self.states[t].resolve().id for t in tids if t in self.states})
            if not found:
                continue
            target = self.states[found[0]]
            for tid in found[1:]:
                merge_into(target, self.states[tid])
            self.group_state[group] = target

    # -- folding ----------------------------------------------------------------------------

    def assign(self, item: Item, window: timedelta) -> ThreadState:
        reopen = False
        state: ThreadState | None = None
        if item.group is not None and item.group in self.group_state:
            state = self.group_state[item.group].resolve()
            reopen = True
        key = ("p", item.patient_id) if item.patient_id is not None else ("c", item.contact_id)
        if state is None and key[1] is not None:
            best: ThreadState | None = None
            at = item.at
            lo, hi = at - window, at + window  # ThreadState.within, hoisted out of the loop
            for cand in self.by_key.get(key, ()):  # the latest open thread, else a closed consent-only one
                if cand.merged_into is not None:
                    cand = cand.resolve()
                if (cand.status == "closed" and not cand.auto_only) or not (
                    cand.first_message_at <= hi and cand.last_message_at >= lo
                ):
                    continue
                if (
                    best is None
                    or (best.auto_only and not cand.auto_only)
                    or (best.auto_only == cand.auto_only and cand.last_message_at > best.last_message_at)
                ):
                    best = cand
            state = best
        if state is None:
            state = ThreadState.new(item.patient_id, item.contact_id, item.at)
            self.new_states.append(state)
            if key[1] is not None:
                self.by_key[key].append(state)
        if item.group is not None:
            self.group_state.setdefault(item.group, state)
        assert item.triage is not None
        apply_message(
            state,
            channel=item.channel,
            at=item.at,
            body=item.body,
            subject=item.subject,
            triage=item.triage,
            reopen=reopen,
        )
        return state

    def fold(self) -> None:
        window = timedelta(days=self.ctx.thread_window_days)
        for item in sorted(self.items, key=_BY_TIME):
            item.state = self.assign(item, window)
            if item.triage is not None and item.triage.classification.urgency == "emergency":
                self.result.emergencies += 1

    # -- writing ----------------------------------------------------------------------------

    def write(self) -> list[int]:
        """Insert new threads, merge, update touched threads, insert messages and attachments."""
        conn, now, memo = self.conn, self.now, self.memo
        new_states = [s for s in self.new_states if s.merged_into is None]
        if new_states:  # inserted once, with the values the whole batch folded into them
            ids = allocate_ids(conn, threads, len(new_states))
            rows = []
            for state, tid in zip(new_states, ids, strict=True):
                state.id = tid
                state.dirty = False
                values = state.values(now)
                state.saved = values[:-1]
                self.cache.threads[tid] = state
                rows.append((tid, *values, 1, now))
            insert_rows(conn, threads, THREAD_INSERT_COLUMNS, rows, memo=memo)
            self.result.threads_created = len(new_states)

        for gone in [s for s in self.states.values() if s.merged_into is not None]:
            _move_thread_rows(conn, gone.id, gone.resolve().id)
            conn.execute(delete(threads).where(threads.c.id == gone.id))
            self.cache.threads.pop(gone.id, None)

        dirty = [s for s in self.states.values() if s.dirty and s.merged_into is None]
        if dirty:
            # one UPDATE per touched thread, setting only the columns that changed (fewer index
            # entries and foreign-key checks), grouped into one executemany per column set
            groups: dict[tuple[int, ...], list[tuple[Any, ...]]] = defaultdict(list)
            written: list[tuple[Any, ...]] = []
            for s in dirty:
                values = s.values(now)
                written.append(values)
                saved = s.saved
                changed = _ALL_THREAD_FIELDS if saved is None else _changed(values, saved)
                groups[changed].append((*[values[i] for i in changed], now, s.version + 1, s.id, s.version))
            done = 0
            for changed, rows in groups.items():
                columns = [THREAD_COLUMNS[i] for i in changed] + ["updated_at", "version"]
                done += update_rows(conn, threads, columns, ["id", "version"], rows, memo=memo)
            if done != len(dirty):
                raise BatchConflict("a thread changed during ingest")
            for s, values in zip(dirty, written, strict=True):
                s.version += 1
                s.dirty = False
                s.saved = values[:-1]
            self.result.threads_updated = len(dirty)

        if not self.items:
            return []
        ids = allocate_ids(conn, messages, len(self.items))
        rows = []
        att_rows = []
        enc = Encoder(conn, memo)
        now_value = enc.time(now)
        matched_json: dict[tuple[Any, ...], Any] = {}
        no_match = enc.json([])
        for item, mid in zip(self.items, ids, strict=True):
            assert item.state is not None and item.triage is not None
            c = item.triage.classification
            matched = no_match
            if c.matched:  # converted once per distinct match set
                matched = matched_json.get(c.matched)
                if matched is None:
                    matched = matched_json[c.matched] = enc.json(
                        [{"rule": m.rule, "sets": m.sets, "text": m.text} for m in c.matched], key=c.matched
                    )
            rows.append(
                (
                    mid,
                    item.state.resolve().id,
                    item.contact_id,
                    item.channel,
                    "inbound",
                    item.provider_id,
                    item.sender,
                    item.recipient,
                    item.subject,
                    item.body,
                    enc.time(item.at),
                    item.message_id,
                    item.in_reply_to,
                    enc.json(item.references),
                    enc.json(c.intents),
                    _URGENCY_TEXT.get(c.urgency) or str(c.urgency),
                    matched,
                    now_value,
                )
            )
            for att in item.attachments:
                data = bytes(att.data or b"")
                att_rows.append(
                    (
                        mid,
                        clean_text(att.filename, 255) or "attachment",
                        clean_text(att.content_type, 255) or "application/octet-stream",
                        len(data),
                        hashlib.sha256(data).hexdigest(),
                        data,
                    )
                )
        self.fts = DeferredFts(conn, messages, min_rows=len(rows))
        insert_rows(conn, messages, MESSAGE_COLUMNS, rows, memo=memo, encoded=True)
        self.ids = ids
        self.result.new = len(rows)
        insert_rows(conn, attachments, ATTACHMENT_COLUMNS, att_rows)
        self.write_refs()
        return ids

    def write_refs(self) -> None:
        """Remember which thread each Message-ID (own, In-Reply-To, References) now belongs to."""
        known = {(k, self.states[t].resolve().id if t in self.states else t) for k, t in self.known_refs}
        new: list[dict[str, Any]] = []
        for item in self.items:
            if item.group is None or item.state is None:
                continue
            tid = item.state.resolve().id
            for key in (item.message_id, item.in_reply_to, *item.references):
                if key and (key, tid) not in known:
                    known.add((key, tid))
                    new.append({"ref": key, "thread_id": tid})
        if new:
            insert_rows(self.conn, message_refs, ["ref", "thread_id"], [(r["ref"], r["thread_id"]) for r in new])

    def apply_consent(self, ids: list[int]) -> None:
        from omnidesk.services import audit

        system = _system_context(self.ctx)
        pairs = [(i, mid) for i, mid in zip(self.items, ids, strict=True) if _consent(i) and i.contact_id]
        for item, mid in sorted(pairs, key=lambda p: p[0].at):
            action = _consent(item)
            where = (opt_outs.c.contact_id == item.contact_id, opt_outs.c.channel == item.channel)
            if action == "consent.opt_out":
                if self.conn.execute(select(opt_outs.c.contact_id).where(*where)).first() is None:
                    self.conn.execute(
                        insert(opt_outs).values(
                            contact_id=item.contact_id,
                            channel=item.channel,
                            opted_out_at=item.at,
                            source_message_id=mid,
                        )
                    )
            else:
                self.conn.execute(delete(opt_outs).where(*where))
            audit.record(
                self.conn,
                system,
                action,
                thread_id=item.state.resolve().id if item.state else None,
                patient_id=item.patient_id,
                contact_id=item.contact_id,
                channel=item.channel,
                message_id=mid,
            )


def _consent(item: Item) -> str | None:
    """``consent.opt_out`` / ``consent.opt_in`` when the message asks for it (opt-out wins a tie)."""
    if item.triage is None:
        return None
    intents = item.triage.classification.intents
    if _OPT_OUT in intents:
        return "consent.opt_out"
    if _OPT_IN in intents:
        return "consent.opt_in"
    return None


def _system_context(ctx: Context) -> Context:
    if ctx.user is None:
        return ctx
    return Context(ctx.engine, None, ctx.thread_window_days, ctx.triage)


def _move_thread_rows(conn: Connection, old: int | None, new: int | None) -> None:
    """Point every row that references thread ``old`` (messages, outbox, anything added later) at ``new``."""
    # (ref, thread_id) is unique: drop the refs the target already has before moving the rest
    have = select(message_refs.c.ref).where(message_refs.c.thread_id == new)
    conn.execute(delete(message_refs).where(message_refs.c.thread_id == old, message_refs.c.ref.in_(have)))
    for table in metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column is threads.c.id:
                col = fk.parent
                conn.execute(update(table).where(col == old).values({col.name: new}))


@dataclass(slots=True)
class Prepared:
    """A batch validated and triaged, ready for its transaction (no store access needed)."""

    items: list[Item]
    rejected: list[tuple[int, str]]
    triaged: bool = False


def prepare_batch(ctx: Context, numbered: list[tuple[int, InboundMessage]], *, triage: bool = True) -> Prepared:
    """Validate and clean a batch and (``triage=True``) run the rules on it: pure CPU work.

    Safe to run in another thread while the previous batch is being stored (it reads no
    store state); the rules see each message exactly as it will be stored.
    """
    items: list[Item] = []
    rejected: list[tuple[int, str]] = []
    for line, msg in numbered:
        try:
            got = prepare(line, msg)
        except Exception as exc:  # a malformed object from a caller; the reason names only the type
            got = f"unreadable message ({type(exc).__name__})"
        if isinstance(got, str):
            rejected.append((line, got))
        else:
            items.append(got)
    if triage:
        _triage_items(ctx, items)
    return Prepared(items, rejected, triaged=triage)


def _triage_items(ctx: Context, items: list[Item]) -> None:
    engine = ctx.triage
    channels = _CHANNEL_ENUM
    for item in items:
        if item.triage is None:
            item.triage = engine.triage(
                item.body, item.subject, channels[item.channel], item.at, reminder_reply=item.reminder_reply
            )


def ingest_batch(
    ctx: Context,
    numbered: list[tuple[int, InboundMessage]] | Prepared,
    report: IngestReport,
    *,
    before_commit: Callable[[Connection], None] | None = None,
    cache: IngestCache | None = None,
) -> BatchResult:
    """Store one batch in one transaction (retried from a fresh read on a concurrent change).

    ``numbered`` is the raw batch or the result of ``prepare_batch``. Unless it was triaged
    up front, only the messages that are not duplicates are triaged.
    Database failures surface as ``StoreError`` (no SQL parameters, hence no PHI, in the text).
    """
    pending = start_batch(ctx, numbered, before_commit=before_commit, cache=cache)
    result = pending.finish()
    pending.add_to(report)
    return result


def start_batch(
    ctx: Context,
    numbered: list[tuple[int, InboundMessage]] | Prepared,
    *,
    before_commit: Callable[[Connection], None] | None = None,
    cache: IngestCache | None = None,
) -> PendingBatch:
    """Do all of one batch's work in a new transaction except the full-text pass and the commit.

    Retried from a fresh read when a concurrent writer got in the way (a thread changed
    under us, or the same provider id stored meanwhile). ``finish()`` on the result
    completes it; until then the transaction holds the store's write lock.
    """
    from omnidesk.services import audit
    from omnidesk.services.errors import store_errors

    cache = cache if cache is not None else IngestCache()
    ready = numbered if isinstance(numbered, Prepared) else prepare_batch(ctx, numbered, triage=False)
    prepared, rejected = ready.items, ready.rejected
    with store_errors():  # outside the retry loop: a conflict is retried, not reported
        for attempt in range(4):
            conn = ctx.engine.connect()
            trans = conn.begin()
            try:
                batch = _Batch(ctx, conn, datetime.now(UTC), list(prepared), cache)
                batch.drop_duplicates()
                if batch.items:
                    batch.resolve_senders()
                    batch.mark_reminder_replies()
                    batch.run_triage()
                    batch.group_headers()
                    batch.load_threads()
                    batch.fold()
                    batch.apply_consent(batch.write())
                r = batch.result
                if prepared or rejected:
                    audit.record(
                        conn,
                        _system_context(ctx),
                        "ingest.batch",
                        new=r.new,
                        duplicate=r.duplicate,
                        rejected=len(rejected),
                        threads_created=r.threads_created,
                        threads_updated=r.threads_updated,
                        emergencies=r.emergencies,
                    )
                if before_commit is not None:
                    before_commit(conn)
                cache.trim([*batch.states.values(), *batch.new_states])
                return PendingBatch(batch, trans, rejected)
            except (BatchConflict, IntegrityError):
                _abandon(conn, trans)
                cache.clear()
                if attempt == 3:
                    raise BatchConflict("ingest batch kept conflicting with concurrent writers") from None
            except BaseException:
                _abandon(conn, trans)
                cache.clear()
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _abandon(conn: Connection, trans: Any) -> None:
    try:
        if trans.is_active:
            trans.rollback()
    finally:
        conn.close()


class PendingBatch:
    """A batch written in its open transaction: the full-text pass and the commit remain.

    ``finish()`` may run in another thread while the caller prepares the next batch: the
    full-text pass and the commit (fsync) are long calls into the database driver, which
    releases the GIL. Nobody may write through the same store until it returns.
    """

    def __init__(self, batch: _Batch, trans: Any, rejected: list[tuple[int, str]]) -> None:
        self._batch = batch
        self._trans = trans
        self.rejected = rejected
        self.result = batch.result

    def finish(self) -> BatchResult:
        """Index the batch's text, commit, and return its counts (``StoreError`` on failure)."""
        from omnidesk.services.errors import store_errors

        batch = self._batch
        try:
            with store_errors():
                try:
                    batch.index_text()
                    self._trans.commit()
                    batch.cache.committed(batch.conn)
                finally:
                    _abandon(batch.conn, self._trans)
        except BaseException:
            batch.cache.clear()  # the cached threads carry this batch's uncommitted changes
            raise
        return self.result

    def add_to(self, report: IngestReport) -> None:
        """Count the committed batch in ``report``."""
        report.new += self.result.new
        report.duplicate += self.result.duplicate
        report.rejected.extend(self.rejected)
