"""SVG snapshots of the main screens (frozen clock and time zone, a store seeded the same way every run).

Update after a deliberate change with ``pytest tests/tui/test_snapshots.py --snapshot-update`` and
look at the report before committing.
"""

from __future__ import annotations

import pytest

from omnidesk.rules.triage import TriageEngine
from tests.tui.conftest import FixedTriage, settle

SIZE = (160, 45)


@pytest.fixture
def triage() -> TriageEngine:
    """Snapshots show tags from fixed keywords, so a rules change does not redraw them."""
    return FixedTriage()


async def _ready(pilot) -> None:
    await settle(pilot)


def test_inbox_with_a_waiting_emergency(snap_compare, make_app) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=_ready)


def test_conversation_with_why_and_hostile_text(snap_compare, make_app) -> None:
    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press("j", "enter")
        await settle(pilot)
        await pilot.press("w")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)


def test_help_screen(snap_compare, make_app) -> None:
    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press("question_mark")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=(160, 60), run_before=run_before)


def test_search_results(snap_compare, make_app) -> None:
    async def run_before(pilot) -> None:
        await settle(pilot)
        await pilot.press("slash", *"refill", "enter")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)
