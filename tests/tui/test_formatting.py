"""Ages, due times, the banner line: small pure helpers the widgets share."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from omnidesk.model import Urgency
from omnidesk.widgets.banner import banner_text
from omnidesk.widgets.formatting import age, ago, due_label, emergency_start, intents_label, waited
from tests.tui.rows import NOW, row


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
    text = banner_text([t], NOW, {"emergency": "Emergency"}, started={t.id: first.at})
    assert text is not None and "waiting 20m 00s" in text.plain


def test_ago_reads_as_words() -> None:
    assert ago(NOW - timedelta(seconds=20), NOW) == "just now"
    assert ago(NOW - timedelta(minutes=2), NOW) == "2m ago"
    assert ago(NOW - timedelta(days=3), NOW) == "3d ago"
