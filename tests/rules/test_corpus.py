"""The thresholds that fail the build (issue 3), on the shared dev corpus and on our own held-out cases.

``../shared/corpus/messages_dev.jsonl`` sits beside the checkout (CI puts ``shared/`` beside
the clone). ``tests/rules/cases.jsonl`` holds messages we wrote ourselves, phrased differently
from the corpus, in both languages, with negation, history, hypotheticals and quoted text.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from omnidesk.rules.classifier import Classifier, default_classifier
from omnidesk.rules.evaluate import (
    MIN_EMERGENCY_PRECISION,
    MIN_PRIMARY_ACCURACY,
    MIN_URGENCY_ACCURACY,
    OPT_OUT,
    Evaluation,
    evaluate,
    format_report,
    load_labelled,
)

CORPUS = Path(__file__).resolve().parents[3] / "shared/corpus" / "messages_dev.jsonl"
CASES = Path(__file__).resolve().parent / "cases.jsonl"


def _load(path: Path) -> Evaluation:
    cases, errors = load_labelled(path)
    assert not errors, errors
    return evaluate(default_classifier(), cases, errors)


@pytest.fixture(scope="module")
def dev() -> Evaluation:
    if not CORPUS.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"the dev corpus is missing at {CORPUS} (CI must check out shared/ beside the repo)")
        pytest.skip(f"no dev corpus at {CORPUS}")
    return _load(CORPUS)


@pytest.fixture(scope="module")
def held_out() -> Evaluation:
    return _load(CASES)


def _assert_thresholds(ev: Evaluation) -> None:
    report = format_report(ev)
    em = ev.emergency
    assert em.support > 0
    assert em.fn == 0, f"missed emergencies:\n{report}"
    assert em.precision >= MIN_EMERGENCY_PRECISION, report
    assert ev.urgency_accuracy >= MIN_URGENCY_ACCURACY, report
    assert ev.primary_accuracy >= MIN_PRIMARY_ACCURACY, report
    assert not ev.consent_failures, report
    for o in ev.outcomes:
        consent = [i for i in o.case.intents if i.startswith("consent.")]
        if consent:
            assert sorted(i for i in o.got.intents if i.startswith("consent.")) == sorted(consent), o.case.id
        else:
            assert OPT_OUT not in o.got.intents, f"{o.case.id}: opt-out on a message that is not one"
    assert ev.passed, report


def test_dev_corpus_meets_the_safety_thresholds(dev: Evaluation) -> None:
    assert dev.total == 150
    _assert_thresholds(dev)


def test_held_out_cases_meet_the_same_thresholds(held_out: Evaluation) -> None:
    assert held_out.total >= 60
    langs = {o.case.lang for o in held_out.outcomes}
    assert {"en", "es"} <= langs
    _assert_thresholds(held_out)


def test_every_emergency_says_which_rule_and_words_made_it_one(dev: Evaluation, held_out: Evaluation) -> None:
    for o in dev.outcomes + held_out.outcomes:
        if o.got.urgency.value == "emergency":
            hits = [m for m in o.got.matched if m.sets == "emergency"]
            assert hits and all(m.rule and m.text for m in hits), o.case.id


def test_the_thresholds_can_fail(tmp_path: Path, dev: Evaluation) -> None:
    """Switch the chest-pain rules off: the same check must now report the missed emergencies."""
    override = tmp_path / "rules.toml"
    override.write_text(
        '[[rule]]\nid = "emergency.chest_pain"\nenabled = false\n\n'
        '[[rule]]\nid = "emergency.chest_pain.es"\nenabled = false\n',
        encoding="utf-8",
    )
    crippled = Classifier.load([override])
    cases, _ = load_labelled(CORPUS)
    ev = evaluate(crippled, cases)
    assert ev.emergency.fn > 0
    assert not ev.passed
    assert any("emergency recall" in f for f in ev.failures())
    assert "SAFETY: missed emergency" in format_report(ev)
