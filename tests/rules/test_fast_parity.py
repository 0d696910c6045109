"""The compiled hot path (``omnidesk/rules/_fast.pyx``) gives exactly the Python path's answers.

``classifier.py`` defines what the rules mean; ``_fast.pyx`` does the same steps on C arrays.
Every labelled message (the dev corpus and ``cases.jsonl``), with and without reminder
context, and a few thousand messages spliced from them (other sentences, subjects, case,
line breaks, spelled numbers, fillers, emoji) must give equal Classifications, field for field.

CI builds the module (``OMNIDESK_REQUIRE_FAST=1`` there makes a missing build a failure);
on a machine without a C compiler these tests skip and the Python path is what runs.
"""

from __future__ import annotations

import os
import random
import re
from pathlib import Path

import pytest

from omnidesk.rules import compiled
from omnidesk.rules.classifier import NEGATION_WINDOW, WHOLE_MAX_TOKENS, Classifier
from omnidesk.rules.evaluate import load_labelled
from omnidesk.rules.ruleset import load_ruleset

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parents[2] / "shared/corpus" / "messages_dev.jsonl"
CASES = HERE / "cases.jsonl"

if compiled.MODULE is None:
    if os.environ.get("OMNIDESK_REQUIRE_FAST") == "1":
        pytest.fail(f"the compiled rules module is required here: {compiled.STATUS}", pytrace=False)
    pytest.skip(compiled.STATUS, allow_module_level=True)


@pytest.fixture(scope="module")
def pair() -> tuple[Classifier, Classifier]:
    ruleset = load_ruleset()
    fast, pure = Classifier(ruleset), Classifier(ruleset, pure=True)
    assert fast._fast is not None and pure._fast is None
    return fast, pure


def _rows() -> list[tuple[str, str | None, str | None]]:
    return [(c.body, c.subject, c.channel) for p in (CORPUS, CASES) if p.is_file() for c in load_labelled(p)[0]]


ROWS = _rows()
EXTRAS = [
    "a hundred and three fever and twenty minutes of chest pain",
    "twenty minutes ago my chest started hurting",
    "fever of one hundred two since twenty min",
    "twenty um five minutes, a hundred um and three",
    "ten point five and twenty",
    "thirty y dos grados, cien por ciento seguro",
    "saw Dr\n. Kim twenty days ago, no chest pain",
    "Mrs . Lopez called twenty times",
    "treinta y ocho grados, no puede respirar",
    "um so uh my my my chest chest hurts hurts",
    "STOP!!!",
    " ",
    "",
    "👍",
    "😀 😀",
    "C",
    "cancel",
    "Dr. Kim said no chest pain. ok",
    "line one\nline two\r\nline three\n\n\n",
    "tab\tseparated\u00a0nbsp\u2003em-space\u3000ideographic",
    "w/o my meds i'll be sick, we're out",
    "x" * 300 + " chest pain " + "y" * 300,
    "pain " * 400,
    "Café niño ÉMERGENCIA dolor de pecho",
    "\x00\x1b[31mred\x1b[0m chest pain",
]


def _assert_same(fast: Classifier, pure: Classifier, rows: list[tuple[str, str | None, str | None]]) -> None:
    bad = []
    for body, subject, channel in rows:
        for reminder in (False, True):
            a = fast.classify(body, subject, channel, reminder_reply=reminder)
            b = pure.classify(body, subject, channel, reminder_reply=reminder)
            if a != b:
                bad.append((body[:80], subject, reminder, a, b))
    assert not bad, f"{len(bad)} differ, first: {bad[0]}"


def test_every_labelled_message_gets_the_same_answer(pair: tuple[Classifier, Classifier]) -> None:
    assert len(ROWS) > 3000 or not CORPUS.is_file()
    _assert_same(*pair, ROWS + [(x, None, "sms") for x in EXTRAS])


def _spliced(rng: random.Random, n: int) -> list[tuple[str, str | None, str | None]]:
    sentences = [s for body, _, _ in ROWS for s in re.split(r"(?<=[.!?\n])\s+", body) if s.strip()]
    subjects = [s for _, s, _ in ROWS if s] + ["Re: results", "RE: FW: chest pain", "Fwd:", "urgent!!"]
    noise = [
        "um",
        "uh",
        "twenty",
        "a hundred and two",
        "treinta y nueve",
        "😢",
        "\n",
        "no",
        "not",
        "again",
        "in 2019",
        "last year",
        "STOP",
        "please",
        "—",
        "...",
        "w/o",
        "I'd",
        "(",
        ")",
        "Dr.",
        "103.5",
    ]
    out = []
    for _ in range(n):
        words = []
        for _ in range(rng.randint(1, 4)):
            s = rng.choice(sentences)
            if rng.random() < 0.3:
                s = s.upper() if rng.random() < 0.5 else s.lower()
            words.extend(s.split(" "))
        for _ in range(rng.randint(0, 3)):
            words.insert(rng.randint(0, len(words)), rng.choice(noise))
        body = " ".join(words)
        if rng.random() < 0.2:
            body = body.replace(". ", ".\n")
        subject = rng.choice(subjects) if rng.random() < 0.25 else None
        out.append((body, subject, rng.choice(["sms", "email", "voicemail", "portal"])))
    return out


def test_spliced_messages_get_the_same_answer(pair: tuple[Classifier, Classifier]) -> None:
    if not ROWS:
        pytest.skip("no labelled messages to splice")
    _assert_same(*pair, _spliced(random.Random(20261205), 4000))


def test_tiny_caches_that_empty_and_refill_give_the_same_answers(pair: tuple[Classifier, Classifier]) -> None:
    pure = pair[1]
    small = Classifier(load_ruleset())
    small._fast = compiled.MODULE.FastClassifier(small, NEGATION_WINDOW, WHOLE_MAX_TOKENS, 7)  # 7 tokens / chunks
    rows = ROWS[:400] + [(x, None, None) for x in EXTRAS]
    _assert_same(small, pure, rows)
    small.clear_caches()
    _assert_same(small, pure, rows[:50])


def test_a_build_from_another_source_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compiled.MODULE, "SOURCE_SHA256", "0" * 64)
    module, status = compiled.load()
    assert module is None and "older than _fast.pyx" in status and "pip install -e ." in status


def test_pure_python_can_be_forced(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(compiled.PURE_ENV, "1")
    module, status = compiled.load()
    assert module is None and compiled.PURE_ENV in status
    monkeypatch.setenv(compiled.PURE_ENV, "0")
    assert compiled.load()[0] is compiled.MODULE
