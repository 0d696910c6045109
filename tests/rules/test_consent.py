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


@pytest.mark.parametrize(
    "body",
    ["opt-out please", "Unsubscribe me please", "STOPP", "unsuscribe", "do not text", "Stop thank you", "STOP 🛑",
     "Stop Stop STOP", "remove me"],
)  # fmt: skip
def test_keyword_variants_and_misspellings_are_opt_outs(clf: Classifier, body: str) -> None:
    assert _intents(clf, body) == (OPT_OUT,)


@pytest.mark.parametrize(
    "body",
    [
        "I no longer want to receive text messages from your office",
        "Please cease all text communication with this number.",
        "I revoke my consent to receive texts from this office",
        "I do not consent to text messages",
        "Please don't contact me by text anymore",
        "Do not contact this number again",
        "how do i stop getting these texts?",
        "please stop the automated messages",
        "Please stop with the texts",
        "I never signed up for these texts, please remove me",
        "Please delete my number from your texting system",
        "Stop!!! wrong person",
        "Texts are annoying. Stop.",
        "These reminders are useless! STOP!!",
        "I want off this list",
        "no quiero que me escriban más",
        "Favor de no enviarme más mensajes",
        "Por favor sáquenme de su lista de mensajes",
        "No me vuelvan a escribir",
        "no deseo recibir mensajes",
    ],
)
def test_opt_outs_in_unusual_words(clf: Classifier, body: str) -> None:
    assert OPT_OUT in _intents(clf, body)


@pytest.mark.parametrize(
    "body",
    [
        "START please",
        "I accidentally replied STOP, how do I get the texts back?",
        "Please add me back to the text list",
        "I'd like to get text reminders again please",
        "quiero volver a recibir los mensajes",
        "pueden volver a mandarme mensajes",
        "please don't unsubscribe me, that was my son playing with my phone",
    ],
)
def test_opt_ins_in_words(clf: Classifier, body: str) -> None:
    intents = _intents(clf, body)
    assert OPT_IN in intents
    assert OPT_OUT not in intents


@pytest.mark.parametrize(
    "body",
    [
        # about texts, but not a request to stop them for this number
        "I never got your text, please text me the address",
        "don't text me at work please, after 5 is fine",
        "dont text me the code, email it to me",
        "no more than 2 texts a day please",
        "stop texting my wife, text me instead",
        "can you stop sending reminders to my mom's phone? send them to me",
        "Please unsubscribe me from the monthly newsletter emails.",
        "please remove me from the waiting list, i found another dr",
        "no quiero que dejen de mandarme mensajes",
        "no dejen de mandarme los recordatorios, me ayudan mucho",
        # stop / quit / cancel / end about something else
        "Stop sending these paper statements",
        "STOP sending me bills for a visit that insurance covered",
        "no me manden mas facturas por correo",
        "I can't stop coughing at night, should I come in?",
        "Quit taking the prednisone yesterday like the doc said, rash is still there",
        "we quit using that pharmacy, send my lisinopril to Walgreens now",
        "Cancel my autopay please",
        "what time do you end on Fridays",
        "Can you stop the reminder calls to my landline? Texts are fine.",
        "Got your message. Can I stop by at noon?",
        "please don't unsubscribe me, that was my son playing with my phone",
    ],
)
def test_more_things_that_are_not_an_opt_out(clf: Classifier, body: str) -> None:
    assert OPT_OUT not in _intents(clf, body)


def test_asking_for_a_text_is_not_an_opt_in(clf: Classifier) -> None:
    assert OPT_IN not in _intents(clf, "¿Me pueden mandar un mensaje cuando esté lista la receta?")
    assert OPT_IN not in _intents(clf, "I didn't get the reminder again, can you text me the time?")
