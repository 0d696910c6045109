"""Consent per carrier / FCC practice: lone keywords, natural-language requests, and what is NOT consent."""

from __future__ import annotations

import pytest

from omnidesk.model import Channel
from omnidesk.rules.classifier import Classifier, default_classifier

OPT_OUT, OPT_IN, HELP = "consent.opt_out", "consent.opt_in", "consent.help"


@pytest.fixture(scope="module")
def clf() -> Classifier:
    return default_classifier()


def _intents(clf: Classifier, body: str, *, reminder: bool = False) -> tuple[str, ...]:
    return clf.classify(body, None, Channel.SMS, reminder_reply=reminder).intents


@pytest.mark.parametrize(
    "body",
    ["STOP", "stop", "Stop.", "  stopall ", "STOP ALL", "Unsubscribe.", "END", "end!", "Quit", "REVOKE", "OptOut!",
     "opt-out", "opt out", "cancel", "CANCEL", "Stop!!!", "stop stop", " STOP\n", "stop please"],
)  # fmt: skip
def test_lone_opt_out_keywords_any_case_and_punctuation(clf: Classifier, body: str) -> None:
    assert _intents(clf, body) == (OPT_OUT,)


@pytest.mark.parametrize("body", ["START", "start", "Unstop", "UNSTOP!"])
def test_lone_opt_in_keywords(clf: Classifier, body: str) -> None:
    assert _intents(clf, body) == (OPT_IN,)


@pytest.mark.parametrize("body", ["HELP", "help?", "Info", "INFO."])
def test_lone_help_keywords(clf: Classifier, body: str) -> None:
    assert _intents(clf, body) == (HELP,)


def test_yes_is_a_confirmation_not_an_opt_in(clf: Classifier) -> None:
    assert _intents(clf, "YES") == ("appointment.confirm",)
    assert _intents(clf, "yes", reminder=True) == ("appointment.confirm",)


def test_bare_cancel_replying_to_a_reminder_is_both_a_cancellation_and_an_opt_out(clf: Classifier) -> None:
    c = clf.classify("CANCEL", None, Channel.SMS, reminder_reply=True)
    assert c.intents == ("appointment.cancel", OPT_OUT)
    rules = {m.sets: m.rule for m in c.matched}
    assert rules["appointment.cancel"] == "appointment.cancel.reminder_keyword"
    assert rules[OPT_OUT] == "consent.opt_out.keyword"


def test_bare_cancel_without_a_reminder_is_an_opt_out_only(clf: Classifier) -> None:
    assert _intents(clf, "Cancel.") == (OPT_OUT,)


def test_cancel_with_more_words_is_an_appointment_cancellation_not_an_opt_out(clf: Classifier) -> None:
    assert _intents(clf, "cancel it pls, he's better") == ("appointment.cancel",)
    assert _intents(clf, "cancel my appointment", reminder=True) == ("appointment.cancel",)


@pytest.mark.parametrize(
    "body",
    [
        "Please stop texting me, I don't want these reminders anymore.",
        "Stop sending me these. Wrong number",
        "no more texts please",
        "don't text me anymore",
        "please remove me from your text list",
        "unsubscribe me from these messages",
        "ya no me manden mensajes por favor",
        "deja de mandarme mensajes",
        "dejen de enviarme mensajes",
        "no quiero recibir más mensajes",
    ],
)
def test_clear_natural_language_opt_outs(clf: Classifier, body: str) -> None:
    assert OPT_OUT in _intents(clf, body)


def test_opt_out_mid_sentence_keeps_the_other_intent(clf: Classifier) -> None:
    assert _intents(clf, "cancel my appt tomorrow and stop texting me") == ("appointment.cancel", OPT_OUT)


@pytest.mark.parametrize(
    "body",
    [
        "can I stop by tomorrow to pick up the form?",
        "please don't stop my meds, I need a refill",
        "can I stop taking metformin?",
        "should I stop the antibiotic if the rash is better?",
        "I want to stop getting paper statements, can you email them?",
        "my cut won't stop bleeding",
        "end of next week works better, can we move it?",
        "HELP my son swallowed a magnet",
        "cant breath chest tight help",
        "please don't stop texting me, the reminders help",
        "stop sending reminders to my old number, use this one instead",
        "Reply STOP to opt out",  # a quoted line pasted without '>' is still more than a keyword
    ],
)
def test_not_consent(clf: Classifier, body: str) -> None:
    assert OPT_OUT not in _intents(clf, body)
    assert _intents(clf, body) not in ((OPT_IN,), (HELP,))


def test_a_lone_keyword_is_never_urgent(clf: Classifier) -> None:
    for body in ("STOP", "HELP", "START", "INFO"):
        assert clf.classify(body).urgency.value == "routine"
