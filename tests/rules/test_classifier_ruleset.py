"""Rule files: the shipped defaults, practice overrides (replace, disable, add) and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from omnidesk.model import Channel
from omnidesk.rules.classifier import Classifier
from omnidesk.rules.ruleset import INTENT_SETS, URGENCY_SETS, RulesError, load_ruleset


def _write(tmp_path: Path, text: str, name: str = "rules.toml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_the_shipped_rules_are_readable_for_a_practice_manager() -> None:
    rs = load_ruleset()
    ids = [r.id for r in rs.rules]
    assert len(ids) == len(set(ids))
    sets = {r.sets for r in rs.rules}
    assert sets >= URGENCY_SETS
    assert sets <= URGENCY_SETS | INTENT_SETS
    assert sets >= INTENT_SETS, f"no rule sets {INTENT_SETS - sets}"
    for r in rs.rules:
        assert r.description and len(r.description) < 120, r.id
        assert r.lang in ("en", "es", "any")
        assert r.patterns or r.all_of
    assert {r.lang for r in rs.rules if r.is_urgency} >= {"en", "es"}


def test_a_rule_with_the_same_id_replaces_the_default(tmp_path: Path) -> None:
    body = "my chest feels funny"
    assert Classifier.load().classify(body).urgency.value != "emergency"
    override = _write(
        tmp_path,
        """
[[rule]]
id = "emergency.chest_pain"
sets = "emergency"
description = "Our nurses want any chest complaint escalated"
patterns = ["chest ... funny|weird|off"]
""",
    )
    c = Classifier.load([override]).classify(body)
    assert c.urgency.value == "emergency"
    assert c.matched[0].rule == "emergency.chest_pain"
    # replaced, not merged: the default phrases of that rule are gone
    assert Classifier.load([override]).classify("chest pain").urgency.value != "emergency"


def test_enabled_false_switches_a_default_rule_off(tmp_path: Path) -> None:
    off = _write(tmp_path, '[[rule]]\nid = "general.thanks"\nenabled = false\n')
    assert Classifier.load().classify("thanks so much!").matched[0].rule == "general.thanks"
    c = Classifier.load([off]).classify("thanks so much!")
    assert all(m.rule != "general.thanks" for m in c.matched)


def test_a_new_rule_is_added_and_later_files_win(tmp_path: Path) -> None:
    first = _write(
        tmp_path,
        '[[rule]]\nid = "local.x"\nsets = "billing"\ndescription = "x"\npatterns = ["zorblex"]\n',
        "rules-a.toml",
    )
    second = _write(
        tmp_path,
        '[[rule]]\nid = "local.x"\nsets = "insurance"\ndescription = "x"\npatterns = ["zorblex"]\n',
        "rules-b.toml",
    )
    assert Classifier.load([first]).classify("zorblex?").intents == ("billing",)
    assert Classifier.load([first, second]).classify("zorblex?").intents == ("insurance",)
    assert Classifier.from_config_dir(tmp_path).classify("zorblex?").intents == ("insurance",)


def test_classes_and_pattern_syntax_in_an_override(tmp_path: Path) -> None:
    f = _write(
        tmp_path,
        """
[classes]
pet = ["dog", "cat", "hamster"]

[[rule]]
id = "local.pet_meds"
sets = "refill"
description = "Pet medicine questions go to the refill line"
patterns = ["(flea pill|heartworm*) ... @pet", "#2..3 @pet"]
negatable = false
""",
    )
    c = Classifier.load([f])
    assert c.classify("flea pill for the dog").intents[0] == "refill"
    assert c.classify("heartworm meds for my cat").intents[0] == "refill"
    assert c.classify("we have two hamster").intents[0] == "refill"  # "two" counts as 2
    assert c.classify("we have 4 hamster").intents[0] != "refill"  # out of the 2..3 range
    # "hamsters" is not in the class, and only the [cues] spelling words tolerate a changed letter
    assert c.classify("we have 2 hamsters").intents[0] != "refill"


def test_every_spelling_word_is_used_by_some_rule() -> None:
    clf = Classifier.load()
    unused = set(clf.matcher._spelling) - set(clf.matcher.variants.words)
    assert not unused, f"[cues] spelling lists words no rule pattern uses: {sorted(unused)}"


def test_misspellings_of_key_words_only() -> None:
    clf = Classifier.load()
    assert clf.classify("chest pian").urgency.value == "emergency"
    assert clf.classify("i need to reshedule").intents == ("appointment.reschedule",)
    assert clf.classify("he is unconsious").urgency.value == "emergency"
    # real words near a rule word are not bent into it
    assert clf.classify("she was shaking and says she wants to kill herself").urgency.value == "emergency"
    assert clf.classify("the three of us will come").intents != ("appointment.confirm",)
    assert clf.classify("where do we park for the new building").urgency.value == "routine"


def test_reminder_only_rules_need_reminder_context(tmp_path: Path) -> None:
    c = Classifier.load()
    assert c.classify("ok", None, Channel.SMS, reminder_reply=True).intents == ("appointment.confirm",)
    assert c.classify("ok", None, Channel.SMS).intents == ("general",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[rule]\nid=", "not valid TOML"),
        ('[[rule]]\nsets = "billing"\npatterns = ["x"]', "needs an id"),
        ('[[rule]]\nid = "a"\nsets = "bilingual"\npatterns = ["x"]', "sets must be"),
        ('[[rule]]\nid = "a"\nsets = "billing"', "needs patterns or all_of"),
        ('[[rule]]\nid = "a"\nsets = "billing"\npatterns = ["x"]\ncolour = "red"', "unknown key"),
        ('[[rule]]\nid = "a"\nsets = "billing"\npatterns = ["@nope"]', "unknown class @nope"),
        ('[[rule]]\nid = "a"\nsets = "billing"\npatterns = ["x"]\nweak = "yes"', "weak must be true or false"),
        ('[[rule]]\nid = "a"\nsets = "emergency"\npatterns = ["x"]\nweak = true', "weak is only for intent rules"),
        ('[[rule]]\nid = "a"\nsets = "billing"\npatterns = ["x"]\nintent = "refill"', "intent is only for urgency"),
        ('[[rule]]\nid = "nope.never"\nenabled = false', "disables a rule that no earlier file defines"),
        ('[cues]\nmood = ["x"]', "unknown cue list"),
        ('[suppress]\n"billing" = ["bogus"]', "unknown intent"),
        ("[colours]\nx = 1", "unknown section"),
    ],
)
def test_bad_rule_files_name_the_file_and_the_problem(tmp_path: Path, text: str, message: str) -> None:
    f = _write(tmp_path, text, "rules-local.toml")
    with pytest.raises(RulesError) as err:
        Classifier.load([f])
    assert "rules-local.toml" in str(err.value)
    assert message in str(err.value)


@pytest.mark.parametrize(
    "pattern",
    ["... chest", "chest ...", "(chest pain", "#1..", "x-ray", "a||b", "(a|)"],
)
def test_bad_patterns_are_rejected(tmp_path: Path, pattern: str) -> None:
    f = _write(tmp_path, f'[[rule]]\nid = "a"\nsets = "billing"\ndescription = "x"\npatterns = ["{pattern}"]\n')
    with pytest.raises(RulesError):
        Classifier.load([f])


def test_an_unreadable_file_is_a_rules_error(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="cannot read"):
        Classifier.load([tmp_path / "missing.toml"])
