"""The one shape every channel adapter has: poll for inbound messages with a cursor, send outbound.

A cursor is a JSON-serializable value (dict, list, str, number or ``None`` for "from the
start") that the adapter alone understands: an IMAP UIDVALIDITY+UID, a Twilio date
watermark plus the SIDs already seen, a counter. The sync loop stores it in
``channel_cursors`` in the same transaction as the messages it covers, so a cursor is
never ahead of what was stored (nothing lost) and re-polling from an older cursor only
yields duplicates that ingest drops (nothing doubled).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from omnidesk.model import InboundMessage, OutboundMessage, SendReceipt

Cursor = Any  # JSON-serializable; ``None`` means "no position yet"


@runtime_checkable
class InboundChannel(Protocol):
    """An adapter that can be polled for new inbound messages."""

    async def poll(self, cursor: Cursor) -> tuple[list[InboundMessage], Cursor]:
        """Messages after ``cursor`` and the cursor that covers them (same value when nothing is new)."""
        ...


@runtime_checkable
class OutboundChannel(Protocol):
    """An adapter that can deliver a message."""

    async def send(self, message: OutboundMessage) -> SendReceipt:
        """Hand ``message`` to the provider; the receipt carries the provider id or an error code."""
        ...


@runtime_checkable
class ChannelAdapter(InboundChannel, OutboundChannel, Protocol):
    """Both directions (the usual case: SMS, email, the simulated channel)."""
