"""Ages, due times, the banner line: small pure helpers the widgets share."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from omnidesk.model import Urgency
from omnidesk.widgets.banner import banner_text
from omnidesk.widgets.formatting import age, ago, due_label, emergency_start, intents_label, waited
from tests.tui.rows import NOW, row

UTC_TZ = NOW.tzinfo


def test_age_is_compact() -> None:
    assert age(NOW - timedelta(seconds=20), NOW) == "now"
    assert age(NOW - timedelta(minutes=4), NOW) == "4m"
    assert age(NOW - timedelta(hours=2, minutes=59), NOW) == "2h"
    assert age(NOW - timedelta(days=3), NOW) == "3d"
    assert age(NOW + timedelta(minutes=5), NOW) == "now"  # a clock a little ahead is not negative


def test_due_and_breach() -> None:
    assert due_label(None, NOW) == ("", False)
    assert due_label(NOW + timedelta(minutes=45), NOW) == ("due 45m", False)
    assert due_label(NOW - timedelta(hours=2), NOW) == ("late 2h", True)
    assert due_label(NOW - timedelta(seconds=20), NOW) == ("due now", True)  # not "late now"
    assert due_label(NOW + timedelta(seconds=20), NOW) == ("due now", False)


def test_intents_label() -> None:
    assert intents_label(("appointment.reschedule", "refill", "billing")) == "resched, refill +1"
    assert intents_label(()) == ""


def test_banner_names_the_queue_and_the_wait_but_no_patient_text() -> None:
    old = replace(row(1, patient_name="Ana Ruiz", preview="chest pain"), urgency=Urgency.EMERGENCY, queue="emergency")
    new = replace(old, id=2, last_message_at=NOW - timedelta(seconds=30))
    old = replace(old, last_message_at=NOW - timedelta(minutes=3, seconds=5))
    text = banner_text([new, old], NOW, {"emergency": "Emergency"}, key="a")
    assert text is not None
    assert text.plain == " EMERGENCY — Emergency #1 — waiting 3m 05s — press a to acknowledge  (+1 more) "
    assert "Ana" not in text.plain and "chest" not in text.plain
    assert banner_text([], NOW, {}) is None
    assert waited(NOW - timedelta(hours=3, minutes=4), NOW) == "3h 04m"
    assert waited(NOW - timedelta(days=2, hours=5), NOW) == "2d 5h"


def test_the_wait_counts_from_when_the_thread_became_an_emergency() -> None:
    from omnidesk.model import Channel, Direction, MessageView

    def msg(i: int, minutes_ago: int, urgency: Urgency, direction: Direction = Direction.INBOUND) -> MessageView:
        at = NOW - timedelta(minutes=minutes_ago)
        return MessageView(i, Channel.SMS, direction, "+1555", "+1666", None, "x", at, None, (), urgency, ())

    t = replace(row(1, last_message_at=NOW - timedelta(minutes=1)), urgency=Urgency.EMERGENCY, queue="emergency")
    routine, first, again = msg(1, 30, Urgency.ROUTINE), msg(2, 20, Urgency.EMERGENCY), msg(3, 5, Urgency.EMERGENCY)
    reply = msg(4, 1, Urgency.ROUTINE, Direction.OUTBOUND)
    # The first emergency message, not the newest message (a follow-up does not restart the clock).
    assert emergency_start(t, [routine, first, again, reply]) == first.at
    # After an acknowledgment, only a new emergency counts.
    acked = replace(t, emergency_ack_at=NOW - timedelta(minutes=10))
    assert emergency_start(acked, [routine, first, again, reply]) == again.at
    # Without the messages: the store's time when it has one, else the last message.
    assert emergency_start(t) == t.last_message_at
    assert emergency_start(replace(t, emergency_since=first.at)) == first.at
    text = banner_text([replace(t, emergency_since=first.at)], NOW, {"emergency": "Emergency"})
    assert text is not None and "waiting 20m 00s" in text.plain


def test_ago_reads_as_words() -> None:
    assert ago(NOW - timedelta(seconds=20), NOW) == "just now"
    assert ago(NOW - timedelta(minutes=2), NOW) == "2m ago"
    assert ago(NOW - timedelta(days=3), NOW) == "3d ago"


def test_emergency_status_says_since_when_and_how_long_it_waited() -> None:
    from zoneinfo import ZoneInfo

    from omnidesk.widgets.conversation import emergency_status

    tz = ZoneInfo("America/New_York")
    t = replace(row(1), urgency=Urgency.EMERGENCY, emergency_since=NOW - timedelta(minutes=4, seconds=5))
    status = emergency_status(t, tz, NOW)
    assert status is not None and status.plain == " EMERGENCY since 10:55:55 — not acknowledged "
    yesterday = replace(t, emergency_since=NOW - timedelta(days=1))
    assert "since Thu 13 Mar 11:00:00" in emergency_status(yesterday, tz, NOW).plain  # type: ignore[union-attr]
    acked = replace(t, emergency_ack_by="Nurse Joy", emergency_ack_at=NOW)
    assert emergency_status(acked, tz, NOW).plain == (  # type: ignore[union-attr]
        "Emergency acknowledged by Nurse Joy at 11:00 (waited 4m 05s)"
    )
    assert emergency_status(replace(acked, emergency_since=None), tz, NOW).plain.endswith("at 11:00")  # type: ignore[union-attr]
    assert emergency_status(row(2), tz, NOW) is None


def test_the_opt_out_line_quotes_the_patient_as_plain_text() -> None:
    from omnidesk.model import Channel, OptOutView
    from omnidesk.widgets.opt_out import opt_out_line

    cancel = OptOutView("+15550142222", Channel.SMS, NOW, "CANCEL", "front_desk", True, 7)
    line = opt_out_line(cancel, UTC_TZ, {"front_desk": "Front desk"})
    assert line.plain == (
        "SMS opt-out recorded Fri 14 Mar 15:00 (patient texted “CANCEL”) — reminders by text stopped; "
        "cancellation request in Front desk"
    )
    hostile = OptOutView("a@example.org", Channel.EMAIL, NOW, "[bold]stop\x1b[31m emailing me[/bold] " + "x" * 60)
    line = opt_out_line(hostile, UTC_TZ)
    assert "(patient wrote “[bold]stop emailing me[/bold] xxxxxxxxx…”) — reminders by email stopped" in line.plain
    assert not line.spans or all(s.style in ("bold yellow", "yellow") for s in line.spans)  # no style from the text
    closed = OptOutView("+15550142222", Channel.SMS, NOW, None, "front_desk", False)
    assert opt_out_line(closed, UTC_TZ).plain.endswith(
        "(patient asked to stop) — reminders by text stopped; cancellation request filed in Front desk (thread closed)"
    )
