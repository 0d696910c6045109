"""The sync loop: poll from the stored cursor, ingest, advance the cursor; nothing lost, nothing doubled."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select

from omnidesk.channels.simulated import SimContact, SimulatedChannel
from omnidesk.model import Channel, InboundMessage
from omnidesk.services.context import Context
from omnidesk.services.sync import Source, SyncLoop, load_cursor, run_once
from omnidesk.store.schema import channel_cursors, messages

T0 = datetime(2025, 3, 10, 15, 0, tzinfo=UTC)
CONTACTS = [SimContact("+12125550101", "ana@example.org", "es", "Ana", "García")]


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class ReplayChannel:
    """Returns the same fixed messages for any cursor older than 1 (like a provider re-listing)."""

    def __init__(self, msgs: list[InboundMessage]) -> None:
        self.msgs = msgs
        self.seen: list[object] = []

    async def poll(self, cursor):
        self.seen.append(cursor)
        if cursor and cursor.get("n", 0) >= 1:
            return [], cursor
        return list(self.msgs), {"n": 1}


class BrokenChannel:
    calls = 0

    async def poll(self, cursor):
        BrokenChannel.calls += 1
        raise ConnectionError("provider down")


def _count(engine: Engine) -> int:
    with engine.connect() as c:
        return c.execute(select(func.count()).select_from(messages)).scalar_one()


def _msg(i: int) -> InboundMessage:
    return InboundMessage(Channel.SMS, f"SMtest{i}", "+12125550101", "+12125550100", f"need a refill {i}", T0)


def test_run_once_ingests_and_advances_the_cursor(engine: Engine) -> None:
    ctx = Context(engine)
    clock = Clock()
    ch = SimulatedChannel(CONTACTS, seed=1, now_fn=clock, interval=10)
    r1 = run_once(ctx, ch, "sim:test")
    assert r1.new == 1 and _count(engine) == 1
    cur = load_cursor(ctx, "sim:test")
    assert cur["seq"] == 1
    # same clock: nothing new, nothing doubled
    r2 = run_once(ctx, ch, "sim:test")
    assert (r2.new, r2.duplicate) == (0, 0) and _count(engine) == 1
    clock.now = T0 + timedelta(seconds=16)
    r3 = run_once(ctx, ch, "sim:test")
    assert r3.new >= 1
    assert load_cursor(ctx, "sim:test")["seq"] == 1 + r3.new
    assert _count(engine) == 1 + r3.new


def test_replaying_from_an_old_cursor_does_not_double(engine: Engine) -> None:
    ctx = Context(engine)
    ch = ReplayChannel([_msg(1), _msg(2)])
    assert run_once(ctx, ch, "replay").new == 2
    assert run_once(ctx, ch, "replay").new == 0  # stored cursor {"n": 1}: nothing listed
    with engine.begin() as c:  # a crash lost the cursor: the provider lists everything again
        c.execute(channel_cursors.delete())
    again = run_once(ctx, ch, "replay")
    assert (again.new, again.duplicate) == (0, 2)
    assert _count(engine) == 2
    assert ch.seen == [None, {"n": 1}, None]


class UnstorableCursorChannel:
    """Its new cursor cannot be stored (not JSON), so the transaction that carries it must fail whole."""

    async def poll(self, cursor):
        return [_msg(1), _msg(2)], {"n": object()}


def test_cursor_and_messages_commit_together(engine: Engine) -> None:
    ctx = Context(engine)
    with pytest.raises(Exception):  # noqa: B017 - the JSON encoder's error, wrapped by the driver layer
        run_once(ctx, UnstorableCursorChannel(), "atomic")
    assert _count(engine) == 0  # the messages were rolled back with the cursor
    assert load_cursor(ctx, "atomic") is None


def test_a_failing_poll_leaves_the_cursor_alone(sqlite_engine: Engine) -> None:
    ctx = Context(sqlite_engine)
    with pytest.raises(ConnectionError):
        run_once(ctx, BrokenChannel(), "broken")
    assert load_cursor(ctx, "broken") is None


def test_sync_loop_keeps_going_when_one_source_fails(sqlite_engine: Engine) -> None:
    ctx = Context(sqlite_engine)
    clock = Clock()
    seen: list[tuple[str, int]] = []
    loop = SyncLoop(
        ctx,
        [Source(BrokenChannel(), "broken"), Source(SimulatedChannel(CONTACTS, now_fn=clock, interval=5), "sim")],
        interval=0.01,
        on_report=lambda name, rep: seen.append((name, rep.new)),
    )
    BrokenChannel.calls = 0
    first = loop.step(clock=lambda: 0.0)
    assert set(first) == {"sim"} and first["sim"].new == 1
    assert seen == [("sim", 1)]
    # the broken source backs off: not retried at once
    loop.step(clock=lambda: 0.001)
    assert BrokenChannel.calls == 1
    loop.step(clock=lambda: 1000.0)
    assert BrokenChannel.calls == 2
    clock.now = T0 + timedelta(seconds=8)
    assert loop.run_once().new >= 1


def test_sync_loop_run_stops_on_event(sqlite_engine: Engine) -> None:
    ctx = Context(sqlite_engine)
    stop, stored = threading.Event(), threading.Event()
    channel = SimulatedChannel(CONTACTS, interval=3600)
    loop = SyncLoop(ctx, [Source(channel, "sim")], interval=0.01, on_report=lambda *_: stored.set())
    t = threading.Thread(target=loop.run, args=(stop,))
    t.start()
    assert stored.wait(timeout=10)  # the first poll delivers one message
    stop.set()
    t.join(timeout=5)
    assert not t.is_alive()
    assert _count(sqlite_engine) == 1  # and the next ones, an hour apart, have not come yet
