"""Ages, due times, the banner line: small pure helpers the widgets share."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from omnidesk.model import Urgency
from omnidesk.widgets.banner import banner_text
from omnidesk.widgets.formatting import age, due_label, intents_label, waited
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


def test_intents_label() -> None:
    assert intents_label(("appointment.reschedule", "refill", "billing")) == "resched, refill +1"
    assert intents_label(()) == ""


def test_banner_names_the_queue_and_the_wait_but_no_patient_text() -> None:
    old = replace(row(1, patient_name="Ana Ruiz", preview="chest pain"), urgency=Urgency.EMERGENCY, queue="emergency")
    new = replace(old, id=2, last_message_at=NOW - timedelta(seconds=30))
    old = replace(old, last_message_at=NOW - timedelta(minutes=3, seconds=5))
    text = banner_text([new, old], NOW, {"emergency": "Emergency"}, key="a")
    assert text is not None
    assert text.plain == " EMERGENCY — Emergency — waiting 3m 05s — press a to acknowledge  (+1 more) "
    assert "Ana" not in text.plain and "chest" not in text.plain
    assert banner_text([], NOW, {}) is None
    assert waited(NOW - timedelta(hours=3), NOW) == "3h"
