"""Text preparation: quoted-text stripping, normalisation, tokens, spelled numbers, misspelling tables."""

from __future__ import annotations

import pytest

from omnidesk.rules.fuzzy import VariantTable, skeleton, within_one_edit
from omnidesk.rules.text import combine_number_words, fahrenheit, normalize, strip_quoted, tokenize


def test_gmail_reply_header_and_everything_after_it_is_cut() -> None:
    body = "Sounds good.\n\nOn Tue, Apr 8, 2025 at 2:14 PM Clinic <noreply@x.com> wrote:\n> chest pain\n> call 911"
    assert strip_quoted(body).strip() == "Sounds good."


def test_a_reply_header_wrapped_over_two_lines_is_cut() -> None:
    body = "Yes please.\n\nOn Tue, Apr 8, 2025 at 2:14 PM Riverbend Family Medicine <\nnoreply@x.com> wrote:\n> STOP"
    assert "STOP" not in strip_quoted(body)


def test_spanish_reply_header_is_cut() -> None:
    body = "Gracias.\n\nEl mar, 8 abr 2025 a las 14:14, Clínica <x@y.com> escribió:\n> dolor de pecho"
    assert "pecho" not in strip_quoted(body)


def test_outlook_original_message_block_is_cut() -> None:
    body = "I paid already.\n\n-----Original Message-----\nFrom: Billing\nSent: Monday\nSubject: x\n\nReply STOP"
    assert strip_quoted(body).strip() == "I paid already."


def test_outlook_header_block_without_separator_is_cut() -> None:
    body = "See below.\n\nFrom: Clinic <a@b.com>\nSent: Monday, May 5, 2025\nTo: me\nSubject: Reminder\n\nReply C"
    assert "Reply C" not in strip_quoted(body)


def test_interleaved_quote_lines_are_dropped_but_answers_kept() -> None:
    body = "> Do you still need the refill?\nYes please\n> Which pharmacy?\nCVS on Main"
    out = strip_quoted(body)
    assert "Yes please" in out and "CVS on Main" in out
    assert "Which pharmacy" not in out


def test_device_line_disclaimer_and_signature_are_dropped() -> None:
    body = (
        "Can I move my appointment?\n\nThanks,\nAnthony DiMarco\nSenior Billing Manager | Halvorsen\nT: 555-0130\n"
        "This email and any attachments are confidential and intended solely for the addressee.\n\nSent from my iPhone"
    )
    out = strip_quoted(body)
    assert "Can I move my appointment?" in out
    for gone in ("Billing", "confidential", "iPhone", "DiMarco"):
        assert gone not in out


def test_a_postscript_after_the_sign_off_is_kept() -> None:
    body = "Refill please.\n\nThanks,\nMary\nP.S. my chest has been hurting since this morning"
    assert "chest" in strip_quoted(body)


def test_single_line_messages_pass_through_untouched() -> None:
    assert strip_quoted("> not really a quote") == "> not really a quote"


@pytest.mark.parametrize(
    ("raw", "norm"),
    [
        ("CAN'T Breathe", "cant breathe"),
        ("I’ll be there", "i will be there"),
        ("we'll check", "we will check"),
        ("se me acabó la INSULINA", "se me acabo la insulina"),
        ("convulsión, niño, dolor", "convulsion, nino, dolor"),
        ("👍🏽", "👍"),
    ],
)
def test_normalize(raw: str, norm: str) -> None:
    assert normalize(raw) == norm


def test_tokenize_keeps_decimals_codes_emoji_and_boundaries() -> None:
    assert tokenize("temp 103.8, a1c 7.2! c👍 39,5") == ["temp", "103.8", ",", "a1c", "7.2", "!", "c", "👍", "39,5"]
    assert tokenize("x-ray\nok") == ["x", "ray", "\n", "ok"]


@pytest.mark.parametrize(
    ("words", "out"),
    [
        ("fiebre de treinta y ocho grados", "fiebre de 38 grados"),
        ("a hundred and three", "103"),
        ("one hundred two point five", "102.5"),
        ("treinta y ocho punto cinco", "38.5"),
        ("ten fifteen", "ten fifteen"),
        ("one of the pods", "one of the pods"),
        ("dos y tres", "dos y tres"),
    ],
)
def test_spelled_numbers(words: str, out: str) -> None:
    assert " ".join(combine_number_words(words.split())) == out


def test_body_temperatures_read_in_either_scale() -> None:
    assert fahrenheit(103.0) == 103.0
    assert fahrenheit(39.5) == pytest.approx(103.1)
    assert fahrenheit(38) == pytest.approx(100.4)
    assert fahrenheit(555) is None and fahrenheit(12) is None


def test_one_edit_distance() -> None:
    assert within_one_edit("pian", "pain")
    assert within_one_edit("refil", "refill")
    assert within_one_edit("apointment", "appointment")
    assert within_one_edit("carla", "carta")
    assert not within_one_edit("carla", "carta", substitute=False)
    assert not within_one_edit("pills", "spells")


def test_variant_table_corrects_misspellings_of_rule_words_only() -> None:
    table = VariantTable(["pain", "swallowed", "appointment", "seizure", "breathing", "carta", "stroke"])
    assert table.lookup("pian") == ("pain",)
    assert table.lookup("swolowed") == ("swallowed",)
    assert table.lookup("apointment") == ("appointment",)
    assert table.lookup("siezure") == ("seizure",)
    assert table.lookup("breating") == ("breathing",)
    assert table.lookup("paid") == ()  # a real word, not a typo of "pain"
    assert table.lookup("carla") == ()  # a name, one wrong letter from a five-letter word
    assert table.lookup("strike") == ()
    assert VariantTable(["bleeding"]).lookup("building") == ()  # same skeleton, different start
    assert table.lookup("pain") == ()  # exact words are not "misspellings"
    assert skeleton("swallowed") == skeleton("swolowed") == "swlwd"


def test_sms_shorthand_with_and_without() -> None:
    from omnidesk.rules.text import normalize, tokenize

    assert tokenize(normalize("Chest pain w/o fever, came w/ my mom")) == [
        "chest", "pain", "without", "fever", ",", "came", "with", "my", "mom",
    ]  # fmt: skip
