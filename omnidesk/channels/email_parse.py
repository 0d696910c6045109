"""Raw RFC 5322 bytes → ``InboundMessage``: decoded headers, a plain-text body, attachments.

Parsing uses the ``compat32`` policy (~20× faster than ``policy.default`` here) and never
raises on a broken message: undecodable headers keep their raw text, unknown charsets fall
back to UTF-8 with replacement, a missing Date uses the caller's fallback time. HTML-only
mail is reduced to text (scripts and styles dropped, entities unescaped); the console
never renders HTML.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import Message
from email.policy import compat32
from email.utils import getaddresses, parseaddr, parsedate_to_datetime
from html import unescape
from html.parser import HTMLParser

from omnidesk.model import AttachmentIn, Channel, InboundMessage

_MSGID = re.compile(r"<([^<>\s]+)>")
_BLOCK = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "hr"}
_SKIP = {"script", "style", "head", "title", "noscript", "template"}


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip += 1
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """Visible text of an HTML document, one block per line; never raises."""
    parser = _TextExtractor()
    try:
        parser.feed(html)
        parser.close()
        text = "".join(parser.parts)
    except Exception:  # a parser that chokes still leaves us the tag-stripped text
        text = unescape(re.sub(r"<[^>]*>", " ", html))
    lines = [re.sub(r"[ \t\r\f\v\xa0]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def decode_header_value(raw: object) -> str:
    """A header as text (RFC 2047 words decoded); the raw text when decoding fails."""
    if raw is None:
        return ""
    text = str(raw)
    try:
        return str(make_header(decode_header(text)))
    except Exception:
        return text


def _charset(part: Message) -> str:
    cs = part.get_content_charset() or "utf-8"
    try:
        "".encode(cs)
    except (LookupError, ValueError):
        return "utf-8"
    return cs


def _payload_text(part: Message) -> str:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if data is None:
        raw = part.get_payload()
        return raw if isinstance(raw, str) else ""
    return data.decode(_charset(part), "replace")


def _body_and_attachments(msg: Message) -> tuple[str, tuple[AttachmentIn, ...]]:
    plain: list[str] = []
    html: list[str] = []
    atts: list[AttachmentIn] = []
    for part in msg.walk() if msg.is_multipart() else [msg]:
        if part.is_multipart():
            continue
        ctype = (part.get_content_type() or "text/plain").lower()
        disposition = (part.get("Content-Disposition") or "").split(";")[0].strip().lower()
        filename = decode_header_value(part.get_filename()) if part.get_filename() else ""
        if disposition == "attachment" or (filename and not ctype.startswith("text/")) or not ctype.startswith("text/"):
            if ctype.startswith("multipart/") or ctype == "message/rfc822":
                continue
            try:
                data = part.get_payload(decode=True) or b""
            except Exception:
                data = b""
            atts.append(AttachmentIn(filename=filename or "attachment", content_type=ctype, data=data))
        elif ctype == "text/html":
            html.append(_payload_text(part))
        else:
            plain.append(_payload_text(part))
    if plain:
        body = "\n".join(plain)
    elif html:
        body = "\n".join(html_to_text(h) for h in html)
    else:
        body = ""
    return body.replace("\r\n", "\n"), tuple(atts)


def _address(raw: str) -> str:
    _, addr = parseaddr(raw)
    return addr or raw.strip()


def _ids(raw: object) -> tuple[str, ...]:
    return tuple(_MSGID.findall(str(raw))) if raw else ()


def _date(msg: Message, fallback: datetime | None) -> datetime:
    raw = msg.get("Date")
    if raw:
        try:
            at = parsedate_to_datetime(str(raw))
            if at is not None:
                return at if at.tzinfo else at.replace(tzinfo=UTC)
        except (TypeError, ValueError, IndexError, OverflowError):
            pass
    return fallback or datetime.now(UTC)


def provider_id_for(message_id: str | None, raw: bytes) -> str:
    """``mid:<Message-ID>`` (the same mail in two folders is one message), else a content hash."""
    if message_id and len(message_id) <= 240:
        return f"mid:{message_id}"
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def parse_email(raw: bytes, *, fallback_time: datetime | None = None, recipient: str = "") -> InboundMessage:
    """One raw email as an ``InboundMessage`` (channel email); broken messages are kept, not raised."""
    msg = message_from_bytes(raw, policy=compat32)
    ids = _ids(msg.get("Message-ID"))
    message_id = ids[0] if ids else None
    in_reply = _ids(msg.get("In-Reply-To"))
    sender = _address(decode_header_value(msg.get("From"))) or "unknown"
    tos = getaddresses([decode_header_value(v) for v in msg.get_all("To", [])])
    to = next((a for _, a in tos if a), recipient)
    subject = decode_header_value(msg.get("Subject")).replace("\n", " ").replace("\r", " ").strip() or None
    body, atts = _body_and_attachments(msg)
    return InboundMessage(
        channel=Channel.EMAIL,
        provider_id=provider_id_for(message_id, raw),
        sender=sender,
        recipient=to,
        body=body,
        received_at=_date(msg, fallback_time),
        subject=subject,
        message_id=message_id,
        in_reply_to=in_reply[-1] if in_reply else None,
        references=_ids(msg.get("References")),
        attachments=atts,
    )
