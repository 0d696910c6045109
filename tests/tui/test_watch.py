"""Another writer's emergency reaches an idle console by itself: no key pressed, no live sync."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from omnidesk.model import Channel, InboundMessage
from omnidesk.services.ingest import ingest
from tests.tui.conftest import NOW, settle


async def test_an_emergency_ingested_elsewhere_rings_and_pins_without_a_key(make_app, contexts) -> None:
    app = make_app()
    bells: list[int] = []
    app.bell = lambda: bells.append(1)  # type: ignore[method-assign]
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        assert bells == [1] and len(app.emergencies) == 1
        other = contexts("admin")  # the ingest process: its own engine on the same file
        ingest(
            other,
            [
                InboundMessage(
                    Channel.SMS,
                    "watch-1",
                    "+15555550166",
                    "+15555550100",
                    "my husband collapsed and is not breathing",
                    NOW - timedelta(minutes=1),
                )
            ],
        )
        for _ in range(100):  # up to ~5 s
            await asyncio.sleep(0.05)
            await settle(pilot)
            if len(app.emergencies) == 2:
                break
        assert len(app.emergencies) == 2
        assert bells == [1, 1]


async def test_an_idle_console_does_not_reload_by_itself(make_app) -> None:
    app = make_app()
    reloads: list[int] = []
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await asyncio.sleep(0.3)
        await settle(pilot)
        app.refresh_all = lambda: reloads.append(1)  # type: ignore[method-assign]
        await asyncio.sleep(0.6)
        await settle(pilot)
        assert reloads == []


async def test_a_change_elsewhere_is_painted_in_one_frame_and_never_held_for_long(make_app) -> None:
    from omnidesk.app import FRAME_HOLD_S, _StoreChanged

    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        assert app._batch_count == 0 and app._held is None
        app.refresh_all = lambda: None  # type: ignore[method-assign]  # nothing will arrive
        app.post_message(_StoreChanged())
        await pilot.pause()
        assert app._batch_count == 1 and app._held == {"counts", "list", "emergencies"}
        for part in ("counts", "list"):
            app.part_loaded(part)
        assert app._batch_count == 1  # still one reload out
        app.part_loaded("emergencies")
        assert app._batch_count == 0 and app._held is None  # all in: one frame
        app.post_message(_StoreChanged())
        await pilot.pause()
        assert app._batch_count == 1
        await asyncio.sleep(FRAME_HOLD_S + 0.1)  # a reload that never comes back
        await pilot.pause()
        assert app._batch_count == 0 and app._held is None
