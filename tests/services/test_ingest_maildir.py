"""Real mail (the notmuch test corpora) through the maildir loader and the ingest pipeline.

The expected conversations are computed here, independently of ingest, by a union-find
over every message's Message-ID, In-Reply-To and References (tokens without ``@`` — the
``<yes>`` an old git-send-email wrote into 68 of the lkml messages — are not Message-IDs
and are left out). Ingest may put MORE into one thread (the same sender within the window
is one conversation) but must never split a reply chain.
"""

from __future__ import annotations

import re
from collections import defaultdict
from email import message_from_bytes
from email.policy import compat32
from pathlib import Path

import pytest
from ingest_helpers import make_ctx
from sqlalchemy import Engine, select

from omnidesk.channels.email_parse import html_to_text, parse_email
from omnidesk.channels.maildir import MailLoad, iter_mail
from omnidesk.services.ingest import ingest
from omnidesk.store.engine import reading
from omnidesk.store.schema import attachments, messages

CORPORA = Path(__file__).resolve().parents[3] / "shared" / "peers" / "notmuch-corpora"
LKML = CORPORA / "lkml"
pytestmark = pytest.mark.skipif(not LKML.is_dir(), reason="notmuch corpora not present in ../shared")

_ID = re.compile(r"<([^<>\s]+@[^<>\s]+)>")


def _expected_chains(root: Path) -> list[set[str]]:
    """Groups of Message-IDs that reply headers tie together (independent of omnidesk's code)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    own: list[str] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        msg = message_from_bytes(path.read_bytes(), policy=compat32)
        ids = _ID.findall(str(msg.get("Message-ID", "")))
        if not ids:
            continue
        own.append(ids[0])
        for header in ("In-Reply-To", "References"):
            for ref in _ID.findall(str(msg.get(header, ""))):
                parent[find(ref)] = find(ids[0])
    groups: dict[str, set[str]] = defaultdict(set)
    for mid in own:
        groups[find(mid)].add(mid)
    return [g for g in groups.values() if len(g) > 1]


def test_lkml_parses_every_message_with_headers_decoded() -> None:
    stats = MailLoad()
    msgs = list(iter_mail(LKML, stats))
    assert stats.read == len(msgs) == 210 and stats.skipped == 0
    assert all(m.message_id and m.provider_id.startswith("mid:") for m in msgs)
    assert all(m.received_at.tzinfo is not None for m in msgs)
    assert not [m for m in msgs if m.subject and "=?" in m.subject]  # RFC 2047 words decoded
    assert sum(1 for m in msgs if m.in_reply_to) > 100


def test_lkml_reply_chains_are_never_split(engine: Engine) -> None:
    ctx = make_ctx(engine)
    report = ingest(ctx, iter_mail(LKML), batch_size=70)  # chains cross batch boundaries
    # notmuch, too, keeps one message per Message-ID: 34 of the 210 files repeat one
    assert (report.new, report.duplicate, report.rejected) == (176, 34, [])
    with reading(engine) as c:
        thread_of = dict(c.execute(select(messages.c.message_id, messages.c.thread_id)).all())
    chains = _expected_chains(LKML)
    assert len(chains) > 10
    split = [sorted(g) for g in chains if len({thread_of[m] for m in g}) != 1]
    assert split == []
    again = ingest(ctx, iter_mail(LKML))
    assert (again.new, again.duplicate) == (0, 210)


def test_ghost_root_and_loops_are_threaded(engine: Engine) -> None:
    ctx = make_ctx(engine)
    root = CORPORA / "threading" / "ghost-root"
    ingest(ctx, iter_mail(root), batch_size=1)  # one at a time: the stored-thread lookups do the work
    ingest(ctx, iter_mail(CORPORA / "broken" / "loop"))
    with reading(engine) as c:
        thread_of = dict(c.execute(select(messages.c.message_id, messages.c.thread_id)).all())
    for group in _expected_chains(root) + _expected_chains(CORPORA / "broken" / "loop"):
        assert len({thread_of[m] for m in group}) == 1, sorted(group)


def test_broken_html_attachment_and_duplicate_mail_is_kept(engine: Engine) -> None:
    ctx = make_ctx(engine)
    parsed = [m for d in ("broken", "html", "attachment", "duplicate") for m in iter_mail(CORPORA / d)]
    report = ingest(ctx, parsed)
    assert report.rejected == []
    assert report.new + report.duplicate == len(parsed) and report.duplicate >= 3  # same Message-ID twice
    with reading(engine) as c:
        bodies = dict(c.execute(select(messages.c.message_id, messages.c.body)).all())
        atts = c.execute(select(attachments.c.content_type, attachments.c.size)).all()
    html = bodies["87d1dajhgf.fsf@example.net"]
    assert "hunter2" in html and "swordfish" not in html and "<" not in html
    assert any(ct == "application/x-gtar-compressed" and size > 0 for ct, size in atts)


def test_html_only_mail_is_reduced_to_text() -> None:
    raw = (
        b"From: A <a@example.org>\r\nMessage-ID: <h@example.org>\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\n"
        b"Content-Type: text/html; charset=bogus-charset\r\n\r\n"
        b"<html><head><style>p{}</style><script>alert(1)</script></head>"
        b"<body><p>Need&nbsp;a <b>refill</b></p><div>[bold]x[/bold] &amp; \x1b[31m</div></body></html>"
    )
    m = parse_email(raw)
    assert m.subject == "café"
    assert m.body == "Need a refill\n\n[bold]x[/bold] & \x1b[31m"  # kept as data; the console strips escapes
    assert html_to_text("<p>unclosed <b>tag") == "unclosed tag"
    no_date = parse_email(b"From: x@example.org\r\n\r\nbody")
    assert no_date.received_at.tzinfo is not None and no_date.provider_id.startswith("sha256:")


def test_loading_files_by_hand_needs_permission(engine: Engine, tmp_path: Path) -> None:
    from omnidesk.model import Role
    from omnidesk.services.errors import PermissionDenied
    from omnidesk.services.ingest import ingest_jsonl, ingest_mail

    front = make_ctx(engine, role=Role.FRONT_DESK, username="frontdesk")
    (tmp_path / "x.jsonl").write_text("", encoding="utf-8")
    with pytest.raises(PermissionDenied):
        ingest_jsonl(front, tmp_path / "x.jsonl")
    with pytest.raises(PermissionDenied):
        ingest_mail(front, CORPORA / "html")
    assert ingest_mail(make_ctx(engine), CORPORA / "html").new == 2
