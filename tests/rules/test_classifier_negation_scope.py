"""How far a negation reaches when urgency phrases overlap it, and a reply subject against its body.

These use a small rule file of their own, so they test the engine, not the shipped wording.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from omnidesk.rules.classifier import Classifier
from omnidesk.rules.ruleset import load_ruleset

RULES = """
[cues]
negation = ["no", "not", "dont", "sin"]
pseudo_negation = ["not sure"]
history = ["last year"]
recurrence = ["again"]

[[rule]]
id = "emergency.breathing"
sets = "emergency"
intent = "clinical"
description = "Cannot breathe"
patterns = ["trouble breathing", "no puede respirar"]

[[rule]]
id = "emergency.chest"
sets = "emergency"
intent = "clinical"
description = "Chest pain"
patterns = ["chest pain", "dolor de pecho"]

[[rule]]
id = "urgent.med_out"
sets = "urgent"
intent = "refill"
description = "Out of a critical medicine"
all_of = [["dont have any", "no tiene ... keppra"], ["inhaler", "keppra"]]

[[rule]]
id = "emergency.seizure"
sets = "emergency"
intent = "clinical"
description = "Seizure"
patterns = ["convulsiones", "seizure"]
"""


@pytest.fixture(scope="module")
def clf(tmp_path_factory: pytest.TempPathFactory) -> Classifier:
    path: Path = tmp_path_factory.mktemp("rules") / "rules.toml"
    path.write_text(RULES, encoding="utf-8")
    return Classifier(load_ruleset([path], include_default=False))


def test_a_phrase_of_a_rule_that_does_not_fire_does_not_shield_a_negation(clf: Classifier) -> None:
    # "dont have any" belongs to the medicine rule, which needs an inhaler or Keppra: it does not
    # fire, so its "dont" still negates "trouble breathing"
    c = clf.classify("I dont have any trouble breathing, just a stuffy nose")
    assert c.urgency.value == "routine"


def test_the_gap_of_a_phrase_shields_nothing(clf: Classifier) -> None:
    # "no tiene ... keppra" spans "convulsiones"; only its own leading words are not negations
    c = clf.classify("mi hijo ya no tiene convulsiones desde que toma keppra")
    assert c.urgency.value != "emergency"
    assert "emergency.seizure" not in {m.rule for m in c.matched}


def test_a_symptom_phrase_that_fires_is_not_a_negation_of_what_follows(clf: Classifier) -> None:
    c = clf.classify("no puede respirar y dolor de pecho")
    assert c.urgency.value == "emergency"
    assert {m.rule for m in c.matched} >= {"emergency.breathing", "emergency.chest"}


def test_a_plain_negation_still_works(clf: Classifier) -> None:
    assert clf.classify("no chest pain, just a question").urgency.value == "routine"
    assert clf.classify("sin dolor de pecho").urgency.value == "routine"


def test_a_reply_subject_does_not_overrule_the_body_on_the_same_rule(clf: Classifier) -> None:
    c = clf.classify("no more chest pain since Tuesday, just want my follow-up", "Re: chest pain")
    assert c.urgency.value == "routine"


def test_a_reply_subject_still_counts_when_the_body_is_silent(clf: Classifier) -> None:
    c = clf.classify("it is getting worse, what should I do", "Re: chest pain")
    assert c.urgency.value == "emergency"


def test_a_titles_full_stop_does_not_end_the_sentence() -> None:
    from omnidesk.rules.text import normalize, tokenize

    assert tokenize(normalize("Can Dr. Kim see me? Mrs. Lee too.")) == [
        "can", "dr", "kim", "see", "me", "?", "mrs", "lee", "too", ".",
    ]  # fmt: skip


def test_an_optional_group_matches_with_and_without_its_words(tmp_path: Path) -> None:
    from omnidesk.rules.ruleset import RulesError

    path = tmp_path / "rules.toml"
    rule = '[[rule]]\nid = "x"\nsets = "consent.opt_out"\ndescription = "x"\npatterns = [{}]\n'
    path.write_text(rule.format('"stop (the|your|these)? (texts|messages)"'), encoding="utf-8")
    clf = Classifier(load_ruleset([path], include_default=False))
    for text in ("please stop the texts", "stop texts", "stop your messages thanks", "STOP THESE TEXTS"):
        assert clf.classify(text).intents == ("consent.opt_out",), text
    for text in ("stop by the texts", "stop the the texts", "texts stop"):
        assert clf.classify(text).intents == ("general",), text
    for bad, problem in (('"stop (the|your)+ texts"', "repeated words"), ('"(the|your)?"', "not optional")):
        path.write_text(rule.format(bad), encoding="utf-8")
        with pytest.raises(RulesError, match=problem):
            Classifier(load_ruleset([path], include_default=False))
