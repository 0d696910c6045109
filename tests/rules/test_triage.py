"""TriageEngine end to end: real classifier + router + clock, loaded from a config folder."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from omnidesk.model import Channel, Classification, Intent, Urgency
from omnidesk.rules.practice import PracticeConfigError
from omnidesk.rules.triage import TriageEngine

NY = ZoneInfo("America/New_York")
WEDNESDAY_10 = datetime(2026, 5, 13, 10, tzinfo=NY)
SATURDAY_22 = datetime(2026, 5, 16, 22, tzinfo=NY)


@pytest.fixture(scope="module")
def engine() -> TriageEngine:
    return TriageEngine.load()


def test_emergency_goes_to_the_emergency_queue_with_a_five_minute_target(engine: TriageEngine) -> None:
    t = engine.triage("I have crushing chest pain right now and can't breathe", None, Channel.SMS, SATURDAY_22)
    assert t.classification.urgency is Urgency.EMERGENCY
    assert t.queue == "emergency"
    assert t.due_at == SATURDAY_22 + timedelta(minutes=5)
    assert t.after_hours
    assert t.next_open_at == datetime(2026, 5, 18, 8, tzinfo=NY)
    assert not t.auto_handled


def test_refill_goes_to_the_nurse_with_two_business_days(engine: TriageEngine) -> None:
    t = engine.triage("Can I get a refill on my lisinopril please", None, Channel.SMS, WEDNESDAY_10)
    assert t.classification.intents[0] == Intent.REFILL
    assert t.queue == "nurse"
    assert t.due_at == datetime(2026, 5, 15, 10, tzinfo=NY)
    assert not t.after_hours and t.next_open_at is None


def test_billing_question_by_email(engine: TriageEngine) -> None:
    t = engine.triage(
        "I think I was charged twice for my visit last month, can someone check my bill?",
        "Question about my bill",
        Channel.EMAIL,
        WEDNESDAY_10,
    )
    assert t.classification.intents[0] == Intent.BILLING
    assert t.queue == "billing"
    assert t.due_at == datetime(2026, 5, 14, 10, tzinfo=NY)


def test_stop_is_auto_handled(engine: TriageEngine) -> None:
    t = engine.triage("STOP", None, Channel.SMS, WEDNESDAY_10)
    assert t.classification.intents == (Intent.CONSENT_OPT_OUT,)
    assert t.queue == "front_desk"
    assert t.auto_handled
    assert t.due_at is None


def test_queues_config_and_route(engine: TriageEngine) -> None:
    assert engine.queues == [
        ("emergency", "Emergency"),
        ("nurse", "Nurse"),
        ("billing", "Billing"),
        ("front_desk", "Front desk"),
        ("unmatched", "Unmatched"),
    ]
    assert engine.config.timezone == "America/New_York"
    assert str(engine.config.urgency_targets["emergency"]) == "5 minutes"
    assert engine.route(Classification((Intent.INSURANCE.value,), Urgency.ROUTINE)) == "billing"
    assert engine.route(Classification((Intent.INSURANCE.value,), Urgency.EMERGENCY)) == "emergency"


def test_naive_received_at_is_refused(engine: TriageEngine) -> None:
    with pytest.raises(ValueError, match="naive"):
        engine.triage("hello", None, Channel.SMS, datetime(2026, 5, 13, 10))


def test_config_dir_overrides_practice(tmp_path: Path) -> None:
    (tmp_path / "practice.toml").write_text(
        """
[practice]
name = "Desert Pediatrics"
timezone = "America/Phoenix"

[hours]
saturday = ["09:00-13:00"]

[queues]
pharmacy = "Pharmacy"

[routing.intent]
refill = "pharmacy"

[targets.intent]
refill = "4 business hours"
""",
        encoding="utf-8",
    )
    engine = TriageEngine.load(tmp_path)
    assert engine.config.name == "Desert Pediatrics"
    assert ("pharmacy", "Pharmacy") in engine.queues
    phx = ZoneInfo("America/Phoenix")
    saturday = datetime(2026, 5, 16, 10, tzinfo=phx)
    t = engine.triage_classified(Classification((Intent.REFILL.value,), Urgency.ROUTINE), saturday)
    assert t.queue == "pharmacy"
    assert not t.after_hours  # open on Saturdays now
    assert t.due_at == datetime(2026, 5, 18, 9, tzinfo=phx)  # 3 h left Saturday, 1 h Monday


def test_config_dir_rules_and_practice_files_both_apply(tmp_path: Path) -> None:
    (tmp_path / "rules-local.toml").write_text(
        """
[[rule]]
id = "local.payment_plan"
sets = "billing"
lang = "en"
description = "Our Zorblex payment plan"
patterns = ["zorblex"]
""",
        encoding="utf-8",
    )
    (tmp_path / "practice.toml").write_text('[queues]\nbilling = "Accounts"\n', encoding="utf-8")
    engine = TriageEngine.load(tmp_path)
    t = engine.triage("question about zorblex", None, Channel.SMS, WEDNESDAY_10)
    assert t.classification.intents[0] == Intent.BILLING
    assert any(m.rule == "local.payment_plan" for m in t.classification.matched)
    assert t.queue == "billing"
    assert ("billing", "Accounts") in engine.queues
    assert TriageEngine.load().triage("question about zorblex", None, Channel.SMS, WEDNESDAY_10).queue != "billing"


def test_config_dir_without_files_uses_defaults(tmp_path: Path) -> None:
    engine = TriageEngine.load(tmp_path)
    assert engine.queues == TriageEngine.load().queues
    assert engine.config.sources == ("default_practice.toml",)


def test_bad_practice_file_in_config_dir_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "practice.toml").write_text('[hours]\nmonday = ["9-5"]\n', encoding="utf-8")
    with pytest.raises(PracticeConfigError, match=r"practice\.toml: hours\.monday\[0\]"):
        TriageEngine.load(tmp_path)


def test_triage_is_thread_safe_and_deterministic() -> None:
    rng = random.Random(1)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    cases = [
        (
            Classification((rng.choice(list(Intent)).value,), rng.choice(list(Urgency))),
            start + timedelta(seconds=rng.randrange(400 * 86400)),
        )
        for _ in range(4000)
    ]
    reference = TriageEngine.load()
    expected = [reference.triage_classified(c, t) for c, t in cases]
    shared = TriageEngine.load()  # cold caches, filled concurrently below

    def run(offset: int) -> list:
        order = cases[offset:] + cases[:offset]
        got = [shared.triage_classified(c, t) for c, t in order]
        return got[-offset:] + got[:-offset] if offset else got

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(run, range(0, 4000, 500)))
    for got in results:
        assert got == expected
