"""Loading mail from disk: a maildir (``cur/`` and ``new/``), a folder of message files, or an mbox.

``iter_mail(path)`` yields ``InboundMessage``s (channel email) in a stable order for
``services.ingest``. Unreadable files are skipped with a count (``MailLoad.skipped``); a
message that parses badly is still yielded (see ``email_parse``).
"""

from __future__ import annotations

import mailbox
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from omnidesk.channels.email_parse import parse_email
from omnidesk.model import InboundMessage


@dataclass(slots=True)
class MailLoad:
    """Counts of one load: files read and files that could not be read at all."""

    read: int = 0
    skipped: int = 0


def _is_mbox(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(5) == b"From "
    except OSError:
        return False


def _files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.name.startswith(".") and path.parent.name != "tmp":
            yield path


def iter_mail(path: Path, stats: MailLoad | None = None) -> Iterator[InboundMessage]:
    """Every message under ``path`` (maildir tree, folder of files, one message file, or mbox)."""
    stats = stats if stats is not None else MailLoad()
    path = Path(path)
    files = [path] if path.is_file() else list(_files(path))
    for file in files:
        if _is_mbox(file):
            yield from _iter_mbox(file, stats)
            continue
        try:
            raw = file.read_bytes()
            mtime = datetime.fromtimestamp(file.stat().st_mtime, UTC)
        except OSError:
            stats.skipped += 1
            continue
        stats.read += 1
        yield parse_email(raw, fallback_time=mtime)


def _iter_mbox(file: Path, stats: MailLoad) -> Iterator[InboundMessage]:
    box = mailbox.mbox(file, create=False)
    try:
        for key in box.iterkeys():
            try:
                raw = box.get_bytes(key)
            except Exception:
                stats.skipped += 1
                continue
            stats.read += 1
            yield parse_email(raw)
    finally:
        box.close()
