"""A channel that invents believable inbound messages every so often, so the demo inbox is alive.

It never touches the store: the caller hands it the practice's contacts (address and
language) when it is built. The cursor is ``{"seq": n, "at": ISO time of the last
message}``; message ``n`` is a pure function of ``(seed, n)`` plus the contact list, so a
poll from the same cursor at the same time yields the same messages (deterministic, and
ingest's dedupe on ``(channel, provider_id)`` makes a repeated poll harmless).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from omnidesk.channels.base import Cursor
from omnidesk.channels.simulated_content import (
    ODDBALL_TEXTS,
    PORTAL_ADDRESS,
    PRACTICE_EMAIL,
    PRACTICE_PHONE,
    SMS_ONLY_INTENTS,
    Sender,
    compose,
    compose_unknown,
    fictional_phone,
    pick_intent,
)
from omnidesk.model import Channel, InboundMessage, OutboundMessage, SendReceipt


@dataclass(frozen=True, slots=True)
class SimContact:
    """Someone the simulated channel may write as: a phone (E.164) and/or an email, a language."""

    phone: str | None
    email: str | None
    language: str = "en"
    first_name: str = "Pat"
    last_name: str = "Doe"
    kid: str | None = None


def _utcnow() -> datetime:
    return datetime.now(UTC)


class SimulatedChannel:
    """Inbound: a new message roughly every ``interval`` seconds (at most ``max_per_poll`` per poll).

    Outbound: ``send`` accepts anything and returns a ``SIMOUT…`` receipt (nothing leaves the machine).
    """

    def __init__(
        self,
        contacts: Sequence[SimContact],
        *,
        seed: int = 7,
        now_fn: Callable[[], datetime] = _utcnow,
        interval: float = 20.0,
        max_per_poll: int = 3,
        emergency_rate: float = 0.02,
    ) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.contacts = tuple(c for c in contacts if c.phone or c.email)
        self.seed = seed
        self.now_fn = now_fn
        self.interval = interval
        self.max_per_poll = max_per_poll
        self.emergency_rate = emergency_rate
        self._sent = 0

    # -- inbound ---------------------------------------------------------------------

    def _rng(self, seq: int) -> random.Random:
        digest = hashlib.blake2b(f"{self.seed}:{seq}".encode(), digest_size=8).digest()
        return random.Random(int.from_bytes(digest, "big"))

    def gap(self, seq: int) -> timedelta:
        """Seconds between message ``seq - 1`` and ``seq``: 0.5–1.5 × interval, fixed per seq."""
        return timedelta(seconds=self.interval * (0.5 + self._rng(-seq).random()))

    def provider_id(self, seq: int) -> str:
        return f"SIM{self.seed}-{seq:09d}"

    async def poll(self, cursor: Cursor) -> tuple[list[InboundMessage], Cursor]:
        """Messages due since ``cursor`` (by the clock), capped; a long absence is skipped, not replayed."""
        now = self.now_fn()
        if cursor:
            seq = int(cursor["seq"])
            last = datetime.fromisoformat(cursor["at"])
        else:
            seq, last = 0, now - self.gap(1)
        out: list[InboundMessage] = []
        while len(out) < self.max_per_poll:
            due = last + self.gap(seq + 1)
            if due > now:
                break
            seq += 1
            last = due
            out.append(self.message(seq, due))
        if len(out) == self.max_per_poll and last + self.gap(seq + 1) <= now:
            last = now  # the console was closed for a while: do not flood it with the backlog
        return out, {"seq": seq, "at": last.isoformat()}

    def message(self, seq: int, at: datetime) -> InboundMessage:
        """Message number ``seq``, received at ``at`` (deterministic for the seed and contacts)."""
        rng = self._rng(seq)
        pid = self.provider_id(seq)
        if not self.contacts or rng.random() < 0.06:
            lang = "es" if rng.random() < 0.2 else "en"
            sender = fictional_phone(700 + rng.randrange(100))  # outside the blocks the demo gives patients
            return InboundMessage(Channel.SMS, pid, sender, PRACTICE_PHONE, compose_unknown(rng, lang, "sms"), at)
        contact = rng.choice(self.contacts)
        who = Sender(contact.first_name, contact.last_name, contact.kid, kid_is_girl=rng.random() < 0.5)
        lang = contact.language if contact.language in ("en", "es") else "en"
        channel = _pick_channel(rng, contact)
        roll = rng.random()
        intent = "emergency" if roll < self.emergency_rate else pick_intent(rng)
        if intent in SMS_ONLY_INTENTS:
            channel = Channel.SMS if contact.phone else channel
            intent = intent if contact.phone else "general"
        subject, body = compose(rng, intent, lang, channel.value, who)
        if channel is Channel.SMS and roll > 0.995:
            body = rng.choice(ODDBALL_TEXTS)
        if channel is Channel.EMAIL:
            assert contact.email is not None
            return InboundMessage(
                channel,
                pid,
                contact.email,
                PRACTICE_EMAIL,
                body,
                at,
                subject=subject,
                message_id=f"{pid.lower()}@mail.example.com",
            )
        if channel is Channel.PORTAL:
            assert contact.email is not None
            return InboundMessage(channel, pid, contact.email, PORTAL_ADDRESS, body, at)
        assert contact.phone is not None
        return InboundMessage(channel, pid, contact.phone, PRACTICE_PHONE, body, at)

    # -- outbound --------------------------------------------------------------------

    async def send(self, message: OutboundMessage) -> SendReceipt:
        """Pretend to deliver ``message``; the receipt id is unique within this process."""
        self._sent += 1
        return SendReceipt(provider_id=f"SIMOUT{self.seed}-{self._sent:09d}", status="sent")


def _pick_channel(rng: random.Random, contact: SimContact) -> Channel:
    options: list[tuple[Channel, float]] = []
    if contact.phone:
        options += [(Channel.SMS, 55), (Channel.VOICEMAIL, 15)]
    if contact.email:
        options += [(Channel.EMAIL, 20), (Channel.PORTAL, 10)]
    channels, weights = zip(*options, strict=True)
    return rng.choices(channels, weights)[0]
