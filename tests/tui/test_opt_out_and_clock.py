"""The console shows a recorded opt-out (and the cancellation a bare CANCEL asked for) on the
thread and on the patient card, and counts an emergency's wait from when it began."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from omnidesk.model import Channel, InboundMessage
from omnidesk.services.ingest import ingest
from omnidesk.services.reminders import record_reminder
from omnidesk.store.engine import reading
from omnidesk.store.schema import patients
from omnidesk.widgets.banner import EmergencyBanner
from omnidesk.widgets.conversation import Conversation
from omnidesk.widgets.patient_card import PatientCardView
from omnidesk.widgets.thread_list import ThreadList
from tests.tui.conftest import NOW, PRACTICE, settle
from tests.tui.test_console import _line, _rendered

CARLA, DAN, ANA = "+15555550133", "+15555550144", "+15555550111"
REMINDER = "Reminder: your visit Fri 9:30 with Dr. Lee. Reply C to confirm or CANCEL to cancel."


def _text(n: int, sender: str, body: str, minutes_ago: int) -> InboundMessage:
    return InboundMessage(Channel.SMS, f"tui-extra-{n}", sender, PRACTICE, body, NOW - timedelta(minutes=minutes_ago))


def _prepare(contexts) -> None:
    """Carla answers a reminder with a bare CANCEL; Dan asks to stop in words wrapped in markup;
    Ana, whose chest-pain text came 3 minutes ago, writes again a minute ago."""
    ctx = contexts("admin")
    with reading(ctx.engine) as conn:
        carla = conn.execute(select(patients.c.id).where(patients.c.mrn == "M003")).scalar_one()
    sent = NOW - timedelta(minutes=80)
    record_reminder(ctx, patient_id=carla, to=CARLA, body=REMINDER, sent_at=sent, provider_id="SMr1", sender=PRACTICE)
    report = ingest(
        ctx,
        [
            _text(1, CARLA, "CANCEL", 70),
            _text(2, DAN, "[red]please stop texting me[/red]", 50),
            _text(3, ANA, "it is worse, chest pain spreading to my arm", 1),
        ],
    )
    assert report.new == 3


def _row_of(tl: ThreadList, name: str) -> int:
    return next(i for i in range(tl.row_count) if (t := tl.row(i)) is not None and t.patient_name == name)


async def test_the_opt_out_line_and_the_emergency_clock(make_app, contexts) -> None:
    _prepare(contexts)
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await settle(pilot)
        banner = app.screen.query_one(EmergencyBanner)
        # Ana's first emergency text came 3 minutes ago; her newer message does not restart the clock
        assert "waiting 3m 00s" in str(banner.content), banner.content
        tl = app.screen.query_one(ThreadList)
        assert tl.row(0) is not None and tl.row(0).patient_name == "Ana Ruiz"
        assert _line(tl, 0).rstrip().endswith("3m")  # the row counts the wait, not the last message (1m)

        await pilot.press(*["j"] * _row_of(tl, "Carla Nguyen"), "enter")
        await settle(pilot)
        header = " ".join(_rendered(app.screen.query_one(Conversation)).split())
        card = " ".join(_rendered(app.screen.query_one(PatientCardView)).split())
        line = (
            "SMS opt-out recorded Wed 12 Jun 09:50 (patient texted “CANCEL”) — reminders by text stopped; "
            "cancellation request in Front desk"
        )
        assert line in header, header
        assert line in card, card
        assert "▶ SMS Wed 12 Jun 09:40" in header and "reminder" in header  # the reminder it answered

        await pilot.press("escape", "home", *["j"] * _row_of(tl, "Dan Price"), "enter")
        await settle(pilot)
        header = " ".join(_rendered(app.screen.query_one(Conversation)).split())
        assert "(patient texted “[red]please stop texting me[/red]”) — reminders by text stopped" in header
        assert "cancellation request" not in header  # asking to stop cancels nothing

        await pilot.press("escape", "home", "enter")  # Ana's emergency: since when, to the second
        await settle(pilot)
        header = " ".join(_rendered(app.screen.query_one(Conversation)).split())
        assert "EMERGENCY since 10:57:00 — not acknowledged" in header, header
        await pilot.press("a")
        await settle(pilot)
        header = " ".join(_rendered(app.screen.query_one(Conversation)).split())
        assert "Emergency acknowledged by Front desk at" in header, header  # (at the real time: the service's clock)
        assert not app.emergencies and not app.screen.query_one(EmergencyBanner).has_class("-active")
