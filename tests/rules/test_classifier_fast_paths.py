"""The classifier's shortcuts give the same answers as the long way round."""

from __future__ import annotations

import random
import string

from omnidesk.rules.classifier import Classifier, default_classifier
from omnidesk.rules.fuzzy import VariantTable, _one_edit

MESSAGES = [
    ("can i get a refill on my lisinopril", None),
    ("My son has a fever of 103 and is not eating, should I bring him in today?", None),
    ("fever of a hundred and four since last night, twenty minutes ago he threw up", None),
    ("mi bebé tiene seis semanas y tiene fiebre de treinta y ocho grados", None),
    ("No chest pain, just a question about my bill", "Re: statement"),
    ("I need to reschedule my appointment on Tuesday. Can we do Thursday instead?", None),
    ("my dad is slurring his words and his face is drooping", "urgent"),
    ("Thanks,\nMaria\n\nOn Mon, Jan 5, 2025 at 9:00 AM Clinic wrote:\n> chest pain? call 911", None),
    ("STOP", None),
    ("ok thanks", None),
]


def _table_words() -> list[str]:
    return sorted(default_classifier().matcher.variants.words)


def test_the_misspelling_table_agrees_with_the_reference_lookup() -> None:
    table = VariantTable(_table_words())
    rng = random.Random(4)
    tokens: set[str] = set()
    for word in table.words:
        tokens.update(_one_edit(word, True))
        tokens.add(word[:2] + "".join(rng.choice("aeiou") for _ in range(len(word) - 2)))
    tokens.update("".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(3, 10))) for _ in range(3000))
    tokens.update(["swolowed", "siezure", "pian", "paid", "carla", "building", "Apointment", "pаin"])
    disagree = [t for t in sorted(tokens) if table.lookup(t) != table._lookup(t)]
    assert not disagree, disagree[:10]
    assert any(table.lookup(t) for t in tokens)  # the check is not vacuous


def test_cold_and_warm_caches_give_the_same_answers() -> None:
    clf = Classifier.load()
    warm = [clf.classify(body, subject) for body, subject in MESSAGES]
    assert [clf.classify(body, subject) for body, subject in MESSAGES] == warm
    clf.clear_caches()
    assert [clf.classify(body, subject) for body, subject in MESSAGES] == warm
    # "a hundred and four" was joined into 104 (the message also has "twenty", which starts that path)
    assert warm[2].urgency.value != "routine" and any("104" in m.text for m in warm[2].matched)
    assert warm[3].lang == "es" and warm[0].lang == "en"
