"""The classifier on the message shapes the issue names.

Slang, caps, emoji, voicemail fillers, quoted email, negation, history and Spanish.
"""

from __future__ import annotations

import pytest

from omnidesk.model import Channel, Classification, Urgency
from omnidesk.rules.classifier import Classifier, default_classifier

E, U, R = Urgency.EMERGENCY, Urgency.URGENT, Urgency.ROUTINE


@pytest.fixture(scope="module")
def clf() -> Classifier:
    return default_classifier()


def _c(clf: Classifier, body: str, subject: str | None = None, **kw: object) -> Classification:
    return clf.classify(body, subject, Channel.SMS, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "body",
    [
        "cant breath chest tight help",
        "CHEST PIAN AND SWEATING",
        "my husband is having chest pain rn 😰",
        "she cant breathe!!!",
        "uh hi, um, my dad's, uh, face is drooping on one side and he's slurring, um, please call",
        "i swolowed a bunch of my pills",
        "toddler ate a laundry pod",
        "i've been planning how to kill myself",
        "she's having a seizure right now",
        "me duele el pecho y no puedo respirar",
        "mi hijo se quiere suicidar",
        "se trago una pila",
        "está convulsionando",
        "tiene un sangrado que no para de sangrar",
    ],
)
def test_emergencies_in_real_message_shapes(clf: Classifier, body: str) -> None:
    c = _c(clf, body)
    assert c.urgency is E, c
    assert c.intents[0] == "clinical"
    assert any(m.sets == "emergency" for m in c.matched)


@pytest.mark.parametrize(
    "body",
    [
        "no chest pain, just need my refill",
        "I had a stroke in 2019, need a copy of my records",
        "denies shortness of breath, cough for a week",
        "I'm not suicidal, just stressed and want to talk to someone",
        "The chest pain I had last month is totally gone",
        "lol this bill is gonna give me a heart attack",
        "whats the number for poison control? for the fridge",
        "No es una emergencia, solo una pregunta sobre mi receta",
        "no tiene dolor de pecho, solo tos",
        "what should we do if he has a seizure at school?",
    ],
)
def test_negated_historical_hypothetical_and_figurative_are_not_emergencies(clf: Classifier, body: str) -> None:
    assert _c(clf, body).urgency is not E


def test_not_sure_is_not_a_negation(clf: Classifier) -> None:
    assert _c(clf, "I don't know if this is chest pain or heartburn but it's bad").urgency is E
    assert _c(clf, "no sé si es dolor de pecho pero me duele mucho").urgency is E


def test_a_negation_does_not_reach_past_but(clf: Classifier) -> None:
    assert _c(clf, "no fever but now crushing chest pain").urgency is E
    assert _c(clf, "no puede respirar y le duele el pecho").urgency is E  # the "no" belongs to the symptom


def test_emergency_buried_in_an_admin_request_leads_with_clinical(clf: Classifier) -> None:
    c = clf.classify(
        "Hi, I need to reschedule my appt on the 14th. Also I've had pressure in my chest since this morning.",
        None,
        Channel.PORTAL,
    )
    assert c.urgency is E
    assert c.intents[0] == "clinical"
    assert "appointment.reschedule" in c.intents


def test_every_tag_records_the_rule_and_the_matched_text(clf: Classifier) -> None:
    c = _c(clf, "need a refill on my lisinopril, also my chest hurts")
    by_sets = {m.sets: m for m in c.matched}
    assert by_sets["emergency"].rule.startswith("emergency.chest")
    assert "chest" in by_sets["emergency"].text
    for intent in c.intents:
        assert intent in by_sets, f"no rule recorded for {intent}"
    assert "refil" in by_sets["refill"].text


def test_quoted_email_text_does_not_drive_the_label(clf: Classifier) -> None:
    body = (
        "Thanks, can I book my follow up for next week?\n\n"
        "On Tue, Apr 8, 2025 at 2:14 PM Clinic <noreply@clinic.com> wrote:\n"
        "> If you have chest pain or trouble breathing call 911.\n"
        "> Reply STOP to opt out."
    )
    c = clf.classify(body, "Re: Your results", Channel.EMAIL)
    assert c.urgency is R
    assert c.intents == ("appointment.book",)


def test_outlook_original_message_and_signature_are_cut(clf: Classifier) -> None:
    body = (
        "Please refill my metformin.\n\nBest regards,\nJo Smith\nBilling Manager | Acme\n\n"
        "-----Original Message-----\nFrom: Clinic\nSent: Monday\nSubject: Statement\n\nYour balance is $20."
    )
    c = clf.classify(body, None, Channel.EMAIL)
    assert c.intents == ("refill",)


def test_reply_subject_counts_for_urgency_only(clf: Classifier) -> None:
    assert clf.classify("ok thanks", "Re: Billing question", Channel.EMAIL).intents != ("billing",)
    assert clf.classify("see subject", "Refill request - amlodipine", Channel.EMAIL).intents == ("refill",)


@pytest.mark.parametrize(
    ("body", "reminder", "intents"),
    [
        ("C", True, ("appointment.confirm",)),
        ("c 👍", False, ("appointment.confirm",)),
        ("Y", True, ("appointment.confirm",)),
        ("yes", True, ("appointment.confirm",)),
        ("👍", True, ("appointment.confirm",)),
        ("Confirm", True, ("appointment.confirm",)),
        ("R", True, ("appointment.reschedule",)),
        ("need to reschedule", True, ("appointment.reschedule",)),
        ("can't make it", True, ("appointment.cancel",)),
        ("Si confirmo", False, ("appointment.confirm",)),
    ],
)
def test_reminder_replies(clf: Classifier, body: str, reminder: bool, intents: tuple[str, ...]) -> None:
    assert clf.classify(body, None, Channel.SMS, reminder_reply=reminder).intents == intents


def test_thumbs_up_without_a_reminder_is_not_a_confirmation(clf: Classifier) -> None:
    assert clf.classify("👍", None, Channel.SMS).intents == ("general",)


@pytest.mark.parametrize(
    ("body", "primary"),
    [
        ("I HAVE BEEN ON HOLD FOR 40 MINUTES. I JUST NEED MY LISINOPRIL REFILLED", "refill"),
        ("omeprazole refil pls, walmart pharmacy", "refill"),
        ("Pls cancel my apointment tmrw", "appointment.cancel"),
        ("can we move my thurs appt to fri", "appointment.reschedule"),
        ("got a statement saying i owe $45 but i paid", "billing"),
        ("new insurance card, we switched to Aetna", "insurance"),
        ("are my lab results back yet??", "results"),
        ("need a school form signed for my son", "records"),
        ("what time do you open on saturday", "general"),
        ("is it ok to take ibuprofen with lisinopril?", "clinical"),
        ("quiero hacer una cita para mi hija", "appointment.book"),
        ("necesito otra receta de metformina", "refill"),
        ("¿ya están los resultados de mi mamá?", "results"),
    ],
)
def test_primary_intents(clf: Classifier, body: str, primary: str) -> None:
    assert _c(clf, body).intents[0] == primary


def test_intents_are_multi_label_in_the_order_written(clf: Classifier) -> None:
    assert _c(clf, "need refill on my amlodipine and also whats my balance").intents == ("refill", "billing")
    assert _c(clf, "whats my balance and i need a refill on my amlodipine").intents == ("billing", "refill")


def test_reschedule_wins_over_cancel(clf: Classifier) -> None:
    assert _c(clf, "cant make it, kid is sick. can we do next wk").intents == ("appointment.reschedule",)
    assert _c(clf, "I need to cancel, I'll call back to reschedule later").intents == ("appointment.cancel",)


@pytest.mark.parametrize(
    ("body", "urgency", "primary"),
    [
        ("my son has a 103.8 fever, can we be seen today?", U, "clinical"),
        ("mi niño tiene 39.5 de fiebre", U, "clinical"),
        ("fever of a hundred and four since last night", U, "clinical"),
        ("my 6 week old feels warm, rectal temp 100.6", U, "clinical"),
        ("mi bebé tiene seis semanas y tiene fiebre de treinta y ocho grados", U, "clinical"),
        ("my 2 month old has no fever, rectal 99.1, just fussy", R, "clinical"),
        ("out of my insulin today and the pharmacy needs a new rx", U, "refill"),
        ("se me acabó la insulina hoy", U, "refill"),
        ("almost out of my insulin, about 5 days left", R, "refill"),
        ("started amoxicillin and now an itchy rash all over, breathing fine", U, "clinical"),
        ("the cut is red, hot and there's a red streak going up my arm", U, "clinical"),
        ("can't keep anything down since last night", U, "clinical"),
    ],
)
def test_urgent_thresholds(clf: Classifier, body: str, urgency: Urgency, primary: str) -> None:
    c = _c(clf, body)
    assert c.urgency is urgency, c
    assert c.intents[0] == primary, c


def test_language_is_detected(clf: Classifier) -> None:
    assert _c(clf, "hola necesito una cita para mi hijo por favor").lang == "es"
    assert _c(clf, "hi I need an appointment for my son please").lang == "en"


def test_empty_and_odd_bodies_do_not_crash(clf: Classifier) -> None:
    for body in ["", "   ", "\n\n", "🙂🙂🙂", "?!?!", "\x1b[31mred\x1b[0m", "a" * 10_000, "> quoted only\n> more"]:
        c = clf.classify(body, None, None)
        assert c.intents
        assert c.urgency in (E, U, R)


def test_classify_is_a_pure_function(clf: Classifier) -> None:
    body = "my chest hurts and I need to reschedule"
    assert clf.classify(body) == clf.classify(body) == Classifier.load().classify(body)
