"""The console end to end on a seeded store: navigation, queues, search, help, emergencies, safe text."""

from __future__ import annotations

from sqlalchemy import select

from omnidesk.model import QUEUE_EMERGENCY, QUEUE_UNMATCHED
from omnidesk.screens.help import HelpScreen, collect_bindings, describe, help_nodes
from omnidesk.screens.messages import Acknowledged, NewMessages, ServiceFailed
from omnidesk.screens.search import SearchScreen
from omnidesk.store.schema import audit_events, staff
from omnidesk.widgets.banner import EmergencyBanner
from omnidesk.widgets.conversation import Conversation
from omnidesk.widgets.patient_card import PatientCardView
from omnidesk.widgets.queue_list import QueueList
from omnidesk.widgets.thread_list import ThreadList
from omnidesk.widgets.thread_row import display_name
from tests.tui.conftest import HOSTILE_BODY, MESSAGES, settle


def _rendered(widget) -> str:
    """The plain text a container shows (its Static children's renderables)."""
    from rich.console import Console
    from textual.widgets import Static

    console = Console(width=200, color_system=None, record=True)
    statics = [widget] if isinstance(widget, Static) else list(widget.query(Static))
    for static in statics:
        console.print(static.content)
    return console.export_text()


def _line(tl: ThreadList, y: int) -> str:
    return "".join(seg.text for seg in tl.render_line(y))


async def test_first_frame_lists_threads_with_the_emergency_pinned_on_top(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        tl = app.screen.query_one(ThreadList)
        assert tl.row_count == len(MESSAGES) - 1  # Ben's SMS and email are one thread
        first = tl.row(0)
        assert first is not None and first.pinned and first.queue == QUEUE_EMERGENCY
        assert _line(tl, 0).startswith("!!") and "Ana Ruiz" in _line(tl, 0)
        assert app.focused is tl


async def test_j_k_enter_tab_escape(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        tl = app.screen.query_one(ThreadList)
        await pilot.press("j", "j", "k")
        assert tl.cursor == 1
        target = tl.highlighted
        await pilot.press("enter")
        await settle(pilot)
        conv = app.screen.query_one(Conversation)
        assert app.focused is conv
        assert conv.detail is not None and conv.detail.summary.id == target.id
        await pilot.press("escape")
        assert app.focused is tl
        await pilot.press("tab")
        assert app.focused is conv
        await pilot.press("tab")
        assert app.focused is app.screen.query_one(PatientCardView)
        await pilot.press("tab")
        assert app.focused is app.screen.query_one(QueueList)
        await pilot.press("shift+tab")
        assert app.focused is app.screen.query_one(PatientCardView)


async def test_switching_queues_changes_the_list(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        tl = app.screen.query_one(ThreadList)
        everything = tl.row_count
        app.go_to_queue(QUEUE_UNMATCHED)
        await settle(pilot)
        assert app.screen.queue == QUEUE_UNMATCHED
        ids = [tl.row(i) for i in range(tl.row_count)]
        # The waiting emergency is pinned above the queue's own threads.
        assert ids[0].queue == QUEUE_EMERGENCY and ids[0].pinned
        own = ids[1:]
        assert own and all(t.queue == QUEUE_UNMATCHED for t in own)
        assert tl.row_count < everything
        assert "Unmatched (2 candidates)" in {display_name(t) for t in own}  # the Price household's phone
        assert any("Unmatched (2 cand" in _line(tl, y) for y in range(tl.row_count))
        # Keys on the queue list switch too.
        await pilot.press("escape")
        assert app.focused is app.screen.query_one(QueueList)
        await pilot.press("k")
        await settle(pilot)
        assert app.screen.queue != QUEUE_UNMATCHED


async def test_search_finds_a_message_and_opens_its_thread(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        assert isinstance(app.screen, SearchScreen)
        await pilot.press(*"vaccin", "enter")  # the last word is a prefix
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, SearchScreen)
        assert len(screen.hits) == 1
        await pilot.press("enter")
        await settle(pilot)
        assert not isinstance(app.screen, SearchScreen)
        detail = app.screen.query_one(Conversation).detail
        assert detail is not None and detail.summary.patient_name == "Finn Walsh"
        assert detail.patient is not None and detail.patient.mrn == "M006"


async def test_search_takes_quotes_and_emoji(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await pilot.press(*'"chest pain" 😀 AND (', "enter")
        await settle(pilot)
        assert isinstance(app.screen, SearchScreen)
        assert app.is_running
        await pilot.press("escape")
        assert not isinstance(app.screen, SearchScreen)


async def test_help_lists_every_binding(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(160, 60)) as pilot:
        await settle(pilot)
        inbox = app.screen
        expected = collect_bindings(app, help_nodes(app, inbox))
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        shown = _rendered(app.screen)
        # Every binding of the app, the screen and each widget on it, by its key and description.
        nodes = help_nodes(app, inbox)
        count = 0
        for node in nodes:
            for key, binding in node._bindings:
                count += 1
                assert app.get_key_display(binding) in shown, key
                assert describe(binding)[0] in shown, binding
        assert count >= 25 and len(expected) >= 20
        for ident in ("app.quit", "app.help", "app.acknowledge", "inbox.search", "inbox.why", "threads.open"):
            assert ident in shown
        # The keys of the search screen (not open yet) and of the help itself are there too.
        for ident in ("search.close", "search.results", "help.close"):
            assert ident in shown
        assert "help quit" not in shown  # Textual's own actions are put in words
        await pilot.press("escape")
        assert app.screen is inbox


async def test_keymap_rebinds_by_id_and_help_follows(make_app) -> None:
    app = make_app(keymap={"threads.down": "n", "app.acknowledge": "ctrl+a"})
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        tl = app.screen.query_one(ThreadList)
        await pilot.press("n")
        assert tl.cursor == 1
        entries = collect_bindings(app, help_nodes(app, app.screen))
        down = next(e for e in entries if e.binding_id == "threads.down")
        assert down.keys == ("n",)
        assert "press ^a to acknowledge" in _rendered(app.screen.query_one(EmergencyBanner))


async def test_emergency_banner_bell_and_acknowledge(make_app, contexts) -> None:
    app = make_app()
    bells: list[int] = []
    app.bell = lambda: bells.append(1)  # type: ignore[method-assign]
    messages: list = []
    async with app.run_test(size=(160, 45), message_hook=messages.append) as pilot:
        await settle(pilot)
        banner = app.screen.query_one(EmergencyBanner)
        assert banner.display and banner.has_class("-active")
        text = _rendered(banner)
        waiting = app.emergencies[0].id
        assert text.startswith(f" EMERGENCY — Emergency #{waiting} — waiting 3m 00s — press a to acknowledge")
        assert "Ana" not in text and "chest" not in text  # no patient text in the banner
        assert bells == [1]
        assert app.screen.query_one(QueueList).unacknowledged == 1
        # A refresh with the same emergency does not ring again.
        app.refresh_all()
        await settle(pilot)
        assert bells == [1]

        await pilot.press("a")
        await settle(pilot)
        assert any(isinstance(m, Acknowledged) for m in messages)
        assert not banner.has_class("-active")
        assert app.emergencies == []
        conv = app.screen.query_one(Conversation)
        assert conv.detail is not None and conv.detail.summary.emergency_ack_at is not None
        assert "acknowledged by Front desk at" in _rendered(conv)
        tl = app.screen.query_one(ThreadList)
        assert not any(tl.row(i).pinned for i in range(tl.row_count))
        assert app.screen.query_one(QueueList).unacknowledged == 0
        assert app._tick is None  # no 1 s timer once nothing waits

    ctx = contexts("admin")
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            select(audit_events.c.action, staff.c.username, audit_events.c.thread_id)
            .join(staff, staff.c.id == audit_events.c.staff_id)
            .where(audit_events.c.action == "thread.ack_emergency")
        ).all()
    assert [(r.action, r.username) for r in rows] == [("thread.ack_emergency", "frontdesk")]
    assert rows[0].thread_id == conv.detail.summary.id


async def test_a_new_emergency_rings_the_bell_once(make_app, contexts) -> None:
    from datetime import timedelta

    from omnidesk.model import Channel, InboundMessage
    from omnidesk.services.ingest import ingest
    from tests.tui.conftest import NOW

    app = make_app()
    bells: list[int] = []
    app.bell = lambda: bells.append(1)  # type: ignore[method-assign]
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        assert bells == [1]
        ingest(
            contexts("admin"),
            [
                InboundMessage(
                    Channel.SMS,
                    "tui-new-1",
                    "+15555550166",
                    "+15555550100",
                    "my friend took a whole bottle of pills and is not waking up",
                    NOW - timedelta(minutes=1),
                )
            ],
        )
        app.post_message(NewMessages(1))
        await settle(pilot)
        assert bells == [1, 1]
        assert len(app.emergencies) == 2
        assert "(+1 more)" in _rendered(app.screen.query_one(EmergencyBanner))


async def test_markup_and_ansi_in_a_body_render_literally(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        tl = app.screen.query_one(ThreadList)
        index = next(i for i in range(tl.row_count) if "[bold red]x[/]" in tl.row(i).preview)
        assert "[bold red]x[/] red" in _line(tl, index)
        tl.move_to(index)
        await pilot.press("enter")
        await settle(pilot)
        shown = _rendered(app.screen.query_one(Conversation))
        assert "[bold red]x[/] red — please call me" in shown
        assert "\x1b" not in shown
        assert HOSTILE_BODY not in shown  # the escape sequence itself is gone


async def test_a_failing_service_shows_a_notification_not_a_crash(make_app) -> None:
    app = make_app()
    messages: list = []
    async with app.run_test(size=(160, 45), message_hook=messages.append) as pilot:
        await settle(pilot)
        app.screen.open_thread(999_999)
        await settle(pilot)
        failed = [m for m in messages if isinstance(m, ServiceFailed)]
        assert failed and failed[0].what == "opening a thread"
        assert any("thread 999999 not found" in n.message for n in app._notifications)
        assert app.is_running


async def test_live_sync_merges_new_messages_and_keeps_the_cursor(make_app) -> None:

    from omnidesk.model import Channel, InboundMessage
    from omnidesk.services.ingest import ingest
    from tests.tui.conftest import NOW

    runs: list[int] = []
    armed: list[int] = []

    def live_source(ctx):  # the console's worker calls this; the first run once armed brings a message
        runs.append(1)
        if len(armed) != 1:
            return None
        armed.append(2)
        msg = InboundMessage(
            Channel.SMS, "tui-live-1", "+15555550188", "+15555550100", "is the office open saturday?", NOW
        )
        return ingest(ctx, [msg])

    app = make_app(live=True, live_source=live_source, live_interval=0.05)
    messages: list = []
    async with app.run_test(size=(160, 45), message_hook=messages.append) as pilot:
        await settle(pilot)
        tl = app.screen.query_one(ThreadList)
        tl.move_to(3)
        watched = tl.highlighted.id
        runs.clear()
        armed.append(1)
        for _ in range(40):
            await pilot.pause(0.02)
            if len(runs) >= 3:
                break
        await settle(pilot)
        assert len(runs) >= 3  # the loop reschedules itself after each run
        assert [m.count for m in messages if isinstance(m, NewMessages)] == [1]
        assert tl.highlighted.id == watched  # the cursor stayed on the same thread,
        assert tl.cursor == 4  # which moved down one row under the new thread
        assert "+15555550188" in _line(tl, 1)


async def test_command_palette_goes_to_a_queue(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"nurse")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen.queue == "nurse"


async def test_acknowledged_elsewhere_first_is_reported_and_the_banner_clears(make_app, contexts) -> None:
    from omnidesk.services import inbox

    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        waiting = app.emergencies[0].id
        inbox.acknowledge_emergency(contexts("nurse"), waiting)  # another workstation was quicker
        await pilot.press("a")
        await settle(pilot)
        assert any("already acknowledged" in n.message for n in app._notifications)
        assert app.emergencies == []
        assert not app.screen.query_one(EmergencyBanner).has_class("-active")


async def test_acknowledge_acts_on_the_banners_thread_not_the_resting_cursor(make_app, contexts) -> None:
    from datetime import timedelta

    from omnidesk.model import Channel, InboundMessage
    from omnidesk.services.ingest import ingest
    from tests.tui.conftest import NOW

    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        older = app.emergencies[0].id  # Ana's, 3 minutes ago
        ingest(
            contexts("admin"),
            [
                InboundMessage(
                    Channel.SMS,
                    "tui-new-2",
                    "+15555550166",
                    "+15555550100",
                    "my friend took a whole bottle of pills and is not waking up",
                    NOW - timedelta(minutes=1),
                )
            ],
        )
        app.refresh_all()
        await settle(pilot)
        tl = app.screen.query_one(ThreadList)
        tl.move_to(0)
        await settle(pilot)
        assert tl.highlighted.id != older  # the newer emergency sits on top
        banner = app.screen.query_one(EmergencyBanner)
        assert f"Emergency #{older} — waiting 3m 00s" in _rendered(banner)
        # Opening the newer one makes it the banner's (and the key's) thread; closing it, not.
        newer = tl.highlighted.id
        await pilot.press("enter")
        await settle(pilot)
        assert f"Emergency #{newer} — waiting 1m 00s" in _rendered(banner)
        await pilot.press("escape", "escape")
        await settle(pilot)
        assert app.screen.current is None
        assert f"Emergency #{older} — waiting 3m 00s" in _rendered(banner)
        await pilot.press("a")
        await settle(pilot)
        # The banner's thread (the one waiting longest) was acknowledged and opened, not the top row.
        conv = app.screen.query_one(Conversation)
        assert conv.detail is not None and conv.detail.summary.id == older
        assert [t.id for t in app.emergencies] == [tl.row(0).id]


async def test_escape_closes_the_open_thread_and_gives_the_list_the_room(make_app) -> None:
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        tl = app.screen.query_one(ThreadList)
        right = app.screen.query_one("#right")
        assert not right.display and tl.size.width > 120  # nothing open: the list has the width
        await pilot.press("j", "enter")
        await settle(pilot)
        assert right.display and app.focused is app.screen.query_one(Conversation)
        assert 60 <= right.size.width <= 70 and tl.size.width >= 65
        await pilot.press("escape")  # to the list, the thread still shown
        assert app.focused is tl and right.display
        await pilot.press("escape")  # closes the thread
        await settle(pilot)
        assert not right.display and app.screen.current is None and app.focused is tl
        await pilot.press("escape")
        assert app.focused is app.screen.query_one(QueueList)


async def test_the_right_pane_wraps_at_every_size(make_app) -> None:
    """Card and conversation lines wrap inside the pane: nothing is cut at its right edge."""
    from textual.geometry import Region

    def shown(widget) -> str:
        strips = widget.render_lines(Region(0, 0, widget.size.width, widget.size.height))
        return " ".join(" ".join("".join(seg.text for seg in strip).split()) for strip in strips)

    for size in ((80, 24), (120, 40), (160, 45)):
        app = make_app()
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            tl = app.screen.query_one(ThreadList)
            unmatched = next(i for i in range(tl.row_count) if tl.row(i).candidates)
            tl.move_to(unmatched)
            await pilot.press("enter")
            await settle(pilot)
            card = app.screen.query_one(PatientCardView).query_one("#patient-card-body")
            text = shown(card)
            assert "Unmatched — this contact belongs to several patients" in text, (size, text)
            assert "MRN M004" in text and "MRN M005" in text, (size, text)
            conv = app.screen.query_one("#conversation-body")
            assert "This is the Price house, can someone call us back about results" in shown(conv), size


async def test_rows_read_before_the_store_opens_are_the_first_frame(make_app, contexts) -> None:
    """The command line's launch: a helper process read the first page; the console draws it
    before its own store is open, then opens it (after that frame) and carries on as usual."""
    import threading

    from omnidesk.services import inbox
    from omnidesk.widgets.thread_list import ThreadList as TL

    rows = inbox.thread_page(contexts("frontdesk"), queue=None, limit=TL.PAGE_SIZE)
    release, calls = threading.Event(), []

    def slow_open():
        calls.append(1)
        assert release.wait(10)
        return contexts("frontdesk")

    app = make_app()
    app.ctx_factory = slow_open
    app.preload_page(rows, TL.PAGE_SIZE)
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.pause()
        tl = app.screen.query_one(ThreadList)
        assert [tl.row(i).id for i in range(tl.row_count)] == [t.id for t in rows]
        assert "Ana Ruiz" in _line(tl, 0)
        assert app.screen.query_one(QueueList).counts == {}  # counts wait for the store
        release.set()
        await settle(pilot)
        assert calls == [1]
        assert app.screen.query_one(QueueList).counts  # the store opened: counts and emergencies came
        assert app.emergencies and app.emergencies[0].id == rows[0].id
        await pilot.press("j", "enter")
        await settle(pilot)
        detail = app.screen.query_one(Conversation).detail
        assert detail is not None and detail.summary.id == rows[1].id
