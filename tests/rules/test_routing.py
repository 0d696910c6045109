"""Routing table, emergency precedence, consent handling and response targets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from omnidesk.model import Classification, Intent, Urgency
from omnidesk.rules.practice import load_practice, parse_practice
from omnidesk.rules.routing import Router, is_consent_only, primary_intent

NY = ZoneInfo("America/New_York")


def ny(y: int, m: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, m, d, h, mi, tzinfo=NY)


def c(*intents: str | Intent, urgency: Urgency = Urgency.ROUTINE) -> Classification:
    return Classification(intents=tuple(str(i) for i in intents), urgency=urgency)


@pytest.fixture(scope="module")
def router() -> Router:
    return Router(load_practice())


DEFAULT_TABLE = {
    Intent.CLINICAL: "nurse",
    Intent.RESULTS: "nurse",
    Intent.REFILL: "nurse",
    Intent.BILLING: "billing",
    Intent.INSURANCE: "billing",
    Intent.APPOINTMENT_BOOK: "front_desk",
    Intent.APPOINTMENT_RESCHEDULE: "front_desk",
    Intent.APPOINTMENT_CANCEL: "front_desk",
    Intent.APPOINTMENT_CONFIRM: "front_desk",
    Intent.RECORDS: "front_desk",
    Intent.GENERAL: "front_desk",
}


def test_table_covers_every_non_consent_intent() -> None:
    assert set(DEFAULT_TABLE) == {i for i in Intent if not i.value.startswith("consent.")}


@pytest.mark.parametrize(("intent", "queue"), DEFAULT_TABLE.items(), ids=str)
@pytest.mark.parametrize("urgency", [Urgency.ROUTINE, Urgency.URGENT], ids=str)
def test_default_routing_table(router: Router, intent: Intent, queue: str, urgency: Urgency) -> None:
    route = router.decide(c(intent, urgency=urgency))
    assert route.queue == queue
    assert not route.auto_handled


@pytest.mark.parametrize("intent", list(Intent), ids=str)
def test_emergency_beats_every_intent(router: Router, intent: Intent) -> None:
    route = router.decide(c(intent, Intent.BILLING, urgency=Urgency.EMERGENCY))
    assert route.queue == "emergency"
    assert not route.auto_handled


def test_primary_intent_decides(router: Router) -> None:
    assert router.route(c(Intent.APPOINTMENT_BOOK, Intent.CLINICAL)) == "front_desk"
    assert router.route(c(Intent.CLINICAL, Intent.APPOINTMENT_BOOK)) == "nurse"
    assert router.route(c(Intent.BILLING, Intent.REFILL)) == "billing"


@pytest.mark.parametrize("intent", [Intent.CONSENT_OPT_OUT, Intent.CONSENT_OPT_IN, Intent.CONSENT_HELP], ids=str)
def test_consent_only_is_auto_handled_without_due_time(router: Router, intent: Intent) -> None:
    route = router.decide(c(intent))
    assert route.queue == "front_desk"
    assert route.auto_handled
    t = router.triage(c(intent), ny(2026, 5, 13, 10))
    assert t.auto_handled and t.due_at is None and t.queue == "front_desk"


def test_consent_with_another_request_is_staff_work(router: Router) -> None:
    # "CANCEL" answering a reminder: an opt-out AND a cancellation; staff must see it.
    route = router.decide(c(Intent.CONSENT_OPT_OUT, Intent.APPOINTMENT_CANCEL))
    assert route.queue == "front_desk" and not route.auto_handled
    route = router.decide(c(Intent.CONSENT_OPT_OUT, Intent.BILLING))
    assert route.queue == "billing" and not route.auto_handled
    t = router.triage(c(Intent.CONSENT_OPT_OUT, Intent.BILLING), ny(2026, 5, 13, 10))
    assert t.due_at is not None


def test_consent_that_is_urgent_is_never_auto_handled(router: Router) -> None:
    assert router.decide(c(Intent.CONSENT_OPT_OUT, urgency=Urgency.EMERGENCY)).queue == "emergency"
    route = router.decide(c(Intent.CONSENT_OPT_OUT, urgency=Urgency.URGENT))
    assert route.queue == "front_desk" and not route.auto_handled


def test_helpers() -> None:
    assert primary_intent(("consent.opt_out", "refill", "billing")) == "refill"
    assert primary_intent(("consent.help",)) is None
    assert is_consent_only(("consent.opt_out", "consent.help"))
    assert not is_consent_only(())
    assert not is_consent_only(("consent.opt_out", "general"))


def test_empty_intents_go_to_the_default_queue(router: Router) -> None:
    assert router.decide(c()).queue == "front_desk"


# ------------------------------------------------------------------ configured remap


REMAP = """
[queues]
pharmacy = "Pharmacy"
triage_rn = "Triage nurse"

[routing]
default = "front_desk"
consent = "unmatched"

[routing.urgency]
emergency = "triage_rn"
urgent = "nurse"

[routing.intent]
refill = "pharmacy"
results = "front_desk"
records = "billing"
"""


def test_configured_remap() -> None:
    router = Router(parse_practice(REMAP))
    assert router.route(c(Intent.REFILL)) == "pharmacy"
    assert router.route(c(Intent.RESULTS)) == "front_desk"
    assert router.route(c(Intent.RECORDS)) == "billing"
    assert router.route(c(Intent.CLINICAL)) == "nurse"  # default mapping kept
    assert router.route(c(Intent.BILLING, urgency=Urgency.URGENT)) == "nurse"
    assert router.route(c(Intent.REFILL, urgency=Urgency.EMERGENCY)) == "triage_rn"
    assert router.decide(c(Intent.CONSENT_OPT_OUT)) == router.decide(c(Intent.CONSENT_HELP))
    assert router.decide(c(Intent.CONSENT_OPT_OUT)).queue == "unmatched"


def test_emergency_queue_is_pinned_first_in_display_order() -> None:
    config = parse_practice(REMAP)
    assert config.queues[0] == ("triage_rn", "Triage nurse")
    assert [q for q, _ in config.queues[1:]] == ["emergency", "nurse", "billing", "front_desk", "unmatched", "pharmacy"]
    assert config.queue_label("pharmacy") == "Pharmacy"
    assert config.queue_label("nope") == "nope"


# ------------------------------------------------------------------ response targets


def test_emergency_due_in_five_wall_clock_minutes_even_at_night(router: Router) -> None:
    saturday_night = ny(2026, 5, 16, 23, 58)
    t = router.triage(c(Intent.CLINICAL, urgency=Urgency.EMERGENCY), saturday_night)
    assert t.queue == "emergency"
    assert t.due_at == saturday_night + timedelta(minutes=5)
    assert t.after_hours and t.next_open_at == ny(2026, 5, 18, 8)


def test_urgent_due_in_one_wall_clock_hour(router: Router) -> None:
    t = router.triage(c(Intent.REFILL, urgency=Urgency.URGENT), ny(2026, 5, 15, 16, 30))
    assert t.queue == "nurse"
    assert t.due_at == ny(2026, 5, 15, 17, 30)


@pytest.mark.parametrize(
    ("intent", "due"),
    [
        (Intent.CLINICAL, ny(2026, 5, 18, 16, 30)),
        (Intent.REFILL, ny(2026, 5, 19, 16, 30)),
        (Intent.BILLING, ny(2026, 5, 18, 16, 30)),
        (Intent.APPOINTMENT_BOOK, ny(2026, 5, 18, 16, 30)),
        (Intent.GENERAL, ny(2026, 5, 18, 16, 30)),
    ],
    ids=str,
)
def test_routine_targets_in_business_days_from_friday_afternoon(router: Router, intent: Intent, due: datetime) -> None:
    t = router.triage(c(intent), ny(2026, 5, 15, 16, 30))
    assert t.due_at == due
    assert not t.after_hours and t.next_open_at is None


def test_friday_evening_message_is_after_hours_and_due_monday_close(router: Router) -> None:
    t = router.triage(c(Intent.APPOINTMENT_RESCHEDULE), ny(2026, 5, 15, 19, 5))
    assert t.after_hours
    assert t.next_open_at == ny(2026, 5, 18, 8)
    assert t.due_at == ny(2026, 5, 18, 17)
    assert t.due_at.tzinfo is UTC


def test_refill_over_thanksgiving(router: Router) -> None:
    t = router.triage(c(Intent.REFILL), ny(2026, 11, 25, 11))
    assert t.due_at == ny(2026, 11, 30, 11)  # Thu holiday, Fri = day 1, Mon = day 2


def test_message_on_christmas_day(router: Router) -> None:
    t = router.triage(c(Intent.CLINICAL), ny(2026, 12, 25, 10))
    assert t.after_hours
    assert t.next_open_at == ny(2026, 12, 28, 8)
    assert t.due_at == ny(2026, 12, 28, 17)


def test_dst_spring_forward_target(router: Router) -> None:
    t = router.triage(c(Intent.BILLING), ny(2026, 3, 6, 16, 30))
    assert t.due_at == datetime(2026, 3, 9, 20, 30, tzinfo=UTC)  # 16:30 EDT


def test_earliest_of_urgency_and_intent_target_wins() -> None:
    router = Router(
        parse_practice(
            '[targets.urgency]\nurgent = "1 business day"\n[targets.intent]\nclinical = "2 business hours"\n'
        )
    )
    start = ny(2026, 5, 13, 10)
    assert router.triage(c(Intent.CLINICAL, urgency=Urgency.URGENT), start).due_at == ny(2026, 5, 13, 12)
    assert router.triage(c(Intent.BILLING, urgency=Urgency.URGENT), start).due_at == ny(2026, 5, 14, 10)
    assert router.triage(c(Intent.BILLING), start).due_at == ny(2026, 5, 14, 10)


def test_business_hours_target_counts_only_open_time() -> None:
    router = Router(parse_practice('[targets.intent]\ndefault = "4 business hours"\n'))
    assert router.triage(c(Intent.GENERAL), ny(2026, 5, 15, 15)).due_at == ny(2026, 5, 18, 10)


def test_triage_inside_hours_has_no_next_open(router: Router) -> None:
    t = router.triage(c(Intent.GENERAL), ny(2026, 5, 13, 8))
    assert not t.after_hours and t.next_open_at is None
    t = router.triage(c(Intent.GENERAL), ny(2026, 5, 13, 17))
    assert t.after_hours and t.next_open_at == ny(2026, 5, 14, 8)
