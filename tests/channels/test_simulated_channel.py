"""The simulated channel: believable, deterministic, paced by the clock, never a duplicate provider id."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import phonenumbers

from omnidesk.channels.base import ChannelAdapter
from omnidesk.channels.simulated import SimContact, SimulatedChannel
from omnidesk.model import Channel, OutboundMessage

T0 = datetime(2025, 3, 10, 15, 0, tzinfo=UTC)
CONTACTS = [
    SimContact("+12125550101", "ana.garcia@example.org", "es", "Ana", "García", kid="Mateo"),
    SimContact("+17185550102", None, "en", "Dale", "O'Brien"),
    SimContact(None, "pat.lee@example.com", "en", "Pat", "Lee"),
]


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def poll(ch: SimulatedChannel, cursor):
    return asyncio.run(ch.poll(cursor))


def test_is_a_channel_adapter() -> None:
    assert isinstance(SimulatedChannel(CONTACTS), ChannelAdapter)


def test_first_poll_delivers_one_then_waits_for_the_clock() -> None:
    clock = Clock(T0)
    ch = SimulatedChannel(CONTACTS, seed=3, now_fn=clock, interval=30)
    msgs, cur = poll(ch, None)
    assert len(msgs) == 1
    assert msgs[0].received_at <= T0
    again, cur2 = poll(ch, cur)
    assert again == [] and cur2 == cur
    clock.now = T0 + timedelta(seconds=46)  # a gap is at most 1.5 × interval
    later, cur3 = poll(ch, cur2)
    assert len(later) >= 1
    assert cur3["seq"] == cur["seq"] + len(later)
    assert all(T0 < m.received_at <= clock.now for m in later)


def test_long_absence_is_capped_not_replayed() -> None:
    clock = Clock(T0)
    ch = SimulatedChannel(CONTACTS, seed=3, now_fn=clock, interval=10, max_per_poll=3)
    _, cur = poll(ch, None)
    clock.now = T0 + timedelta(hours=5)
    msgs, cur = poll(ch, cur)
    assert len(msgs) == 3
    assert datetime.fromisoformat(cur["at"]) == clock.now
    msgs, _ = poll(ch, cur)
    assert msgs == []


def test_deterministic_for_seed_cursor_and_time() -> None:
    def run(seed: int) -> list:
        clock = Clock(T0)
        ch = SimulatedChannel(CONTACTS, seed=seed, now_fn=clock, interval=20)
        out, cur = [], None
        for step in range(40):
            clock.now = T0 + timedelta(seconds=17 * step)
            msgs, cur = poll(ch, cur)
            out += msgs
        return out

    a, b, c = run(11), run(11), run(12)
    assert a == b
    assert len(a) > 20
    assert [m.body for m in a] != [m.body for m in c]


def test_provider_ids_unique_and_messages_believable() -> None:
    clock = Clock(T0)
    ch = SimulatedChannel(CONTACTS, seed=5, now_fn=clock, interval=5, max_per_poll=50)
    seen: set[tuple[str, str]] = set()
    msgs_all = []
    cur = None
    for step in range(1, 200):
        clock.now = T0 + timedelta(seconds=60 * step)
        msgs, cur = poll(ch, cur)
        msgs_all += msgs
    for m in msgs_all:
        key = (m.channel.value, m.provider_id)
        assert key not in seen
        seen.add(key)
        assert m.body.strip()
        if m.channel is Channel.EMAIL:
            assert m.subject and m.message_id
        if m.channel in (Channel.SMS, Channel.VOICEMAIL):
            assert phonenumbers.is_valid_number(phonenumbers.parse(m.sender))
    assert len(msgs_all) > 1000
    channels = {m.channel for m in msgs_all}
    assert channels == {Channel.SMS, Channel.EMAIL, Channel.VOICEMAIL, Channel.PORTAL}
    senders = {m.sender for m in msgs_all}
    known = {c.phone for c in CONTACTS} | {c.email for c in CONTACTS}
    assert senders & known and senders - known  # mostly patients, some strangers
    # the phone-only contact never "emails"; the email-only contact never texts
    assert not any(m.sender == "pat.lee@example.com" and m.channel is Channel.SMS for m in msgs_all)
    # the Spanish-speaking contact writes in Spanish (at least sometimes)
    spanish = [m.body for m in msgs_all if m.sender in ("+12125550101", "ana.garcia@example.org")]
    assert any(w in b.lower() for b in spanish for w in ("hola", "gracias", "necesito", "cita"))


def test_send_returns_unique_receipts() -> None:
    ch = SimulatedChannel(CONTACTS)
    out = OutboundMessage(Channel.SMS, "+12125550101", "Your appointment is confirmed.")
    r1, r2 = asyncio.run(ch.send(out)), asyncio.run(ch.send(out))
    assert r1.status == "sent" and r1.provider_id != r2.provider_id


def test_without_contacts_it_still_produces_unknown_senders() -> None:
    clock = Clock(T0)
    ch = SimulatedChannel([], now_fn=clock, interval=1, max_per_poll=5)
    clock.now = T0
    msgs, _ = poll(ch, None)
    assert msgs and all(m.channel is Channel.SMS for m in msgs)
