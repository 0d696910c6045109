"""Rule files (TOML): the shipped ``default_rules.toml`` plus a practice's overrides.

A rule file has four kinds of tables (``default_rules.toml`` documents them for a reader
who is not a programmer):

* ``[[rule]]`` — ``id``, ``sets`` (an intent such as ``refill``, or the urgency ``emergency`` /
  ``urgent``), ``description``, ``lang`` (``en``, ``es`` or ``any``), and either ``patterns``
  (any one matches) or ``all_of`` (a list of pattern lists that must all match in one
  sentence). Optional: ``unless`` (patterns that cancel the rule in the same sentence),
  ``negatable`` (default true: "no chest pain" does not count), ``history`` (default true
  for urgency rules: "my stroke in 2019" does not count), ``whole`` (the pattern must be the
  whole message, e.g. STOP), ``reminder_only`` (only for replies to an appointment reminder),
  ``weak`` (the intent only counts when no other intent is found), ``intent`` (for urgency
  rules: the intent they imply, default ``clinical``), ``scope`` (``sentence``, the default, or
  ``message``: where the ``all_of`` groups must meet), ``gap`` (how many words "..." may skip,
  default 4), ``fuzzy`` (default true), ``enabled``.
* ``[classes]`` — named word lists used in patterns as ``@name``.
* ``[cues]`` — negation words, pseudo-negations, clause breakers, history and recurrence
  phrases, language markers, and ``spelling``: the key words whose misspellings still match.
* ``[suppress]`` — an intent that, when present, removes others (reschedule removes cancel).

Files load in order; a later rule with the same ``id`` replaces the earlier one (a table
with only ``id`` and ``enabled = false`` switches a shipped rule off), later classes and
cues replace earlier ones of the same name. Problems raise :class:`RulesError` naming the
file and the rule.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from omnidesk.model import Intent, Urgency

DEFAULT_SOURCE = "default_rules.toml"
URGENCY_SETS = frozenset({Urgency.EMERGENCY.value, Urgency.URGENT.value})
INTENT_SETS = frozenset(i.value for i in Intent)
LANGS = frozenset({"en", "es", "any"})
CUE_KINDS = ("negation", "pseudo_negation", "breakers", "history", "recurrence", "spanish", "english", "spelling")

_RULE_KEYS = frozenset(
    {
        "id", "sets", "description", "lang", "patterns", "all_of", "unless", "negatable", "history",
        "whole", "reminder_only", "weak", "intent", "fuzzy", "enabled", "scope", "gap",
    }
)  # fmt: skip
_TOP_KEYS = frozenset({"rule", "classes", "cues", "suppress", "meta"})


class RulesError(ValueError):
    """A rule file is unreadable or has a bad value; the message names the file and the rule."""

    def __init__(self, source: str, where: str, problem: str) -> None:
        self.source = source
        self.where = where
        self.problem = problem
        super().__init__(f"{source}: {where}: {problem}" if where else f"{source}: {problem}")


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule as written in a file (patterns still as text; the matcher compiles them)."""

    id: str
    sets: str
    description: str = ""
    lang: str = "any"
    patterns: tuple[str, ...] = ()
    all_of: tuple[tuple[str, ...], ...] = ()
    unless: tuple[str, ...] = ()
    negatable: bool = True
    history: bool = False
    whole: bool = False
    reminder_only: bool = False
    weak: bool = False
    intent: str | None = None
    fuzzy: bool = True
    enabled: bool = True
    scope: str = "sentence"
    gap: int = 4
    source: str = ""

    @property
    def is_urgency(self) -> bool:
        return self.sets in URGENCY_SETS


@dataclass(frozen=True, slots=True)
class RuleSet:
    """Every enabled rule, in file order, with the classes, cues and suppressions they use."""

    rules: tuple[Rule, ...]
    classes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    cues: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    suppress: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    sources: tuple[str, ...] = ()


def default_rules_text() -> str:
    """The shipped rule file's text."""
    return resources.files("omnidesk.rules").joinpath(DEFAULT_SOURCE).read_text(encoding="utf-8")


def load_ruleset(paths: Sequence[Path | str] = (), *, include_default: bool = True) -> RuleSet:
    """The shipped rules, then each file in ``paths`` in order (later ids replace earlier ones)."""
    docs: list[tuple[str, Mapping[str, Any]]] = []
    if include_default:
        docs.append((DEFAULT_SOURCE, _parse(DEFAULT_SOURCE, default_rules_text())))
    for p in paths:
        path = Path(p)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise RulesError(path.name, "", f"cannot read the file ({exc.strerror or type(exc).__name__})") from None
        docs.append((path.name, _parse(path.name, text)))
    return merge(docs)


def merge(docs: Iterable[tuple[str, Mapping[str, Any]]]) -> RuleSet:
    """Merge parsed rule documents in order into one :class:`RuleSet`."""
    rules: dict[str, Rule] = {}
    classes: dict[str, tuple[str, ...]] = {}
    cues: dict[str, tuple[str, ...]] = {}
    suppress: dict[str, tuple[str, ...]] = {}
    sources: list[str] = []
    for source, doc in docs:
        sources.append(source)
        unknown = set(doc) - _TOP_KEYS
        if unknown:
            raise RulesError(source, "", f"unknown section(s): {', '.join(sorted(unknown))}")
        for name, words in _table(source, "classes", doc.get("classes", {})).items():
            classes[name] = _strings(source, f"classes.{name}", words)
        for name, words in _table(source, "cues", doc.get("cues", {})).items():
            if name not in CUE_KINDS:
                raise RulesError(source, f"cues.{name}", f"unknown cue list (known: {', '.join(CUE_KINDS)})")
            cues[name] = _strings(source, f"cues.{name}", words)
        for name, targets in _table(source, "suppress", doc.get("suppress", {})).items():
            _check_intent(source, f"suppress.{name}", name)
            values = _strings(source, f"suppress.{name}", targets)
            for t in values:
                _check_intent(source, f"suppress.{name}", t)
            suppress[name] = values
        raw_rules = doc.get("rule", [])
        if not isinstance(raw_rules, list):
            raise RulesError(source, "rule", "write rules as [[rule]] tables")
        for n, raw in enumerate(raw_rules, start=1):
            rule = _rule(source, n, raw, rules)
            rules.pop(rule.id, None)  # a replaced rule moves to its new place in the order
            rules[rule.id] = rule
    classes = _flatten_classes(classes)
    for rule in rules.values():
        for pat in (*rule.patterns, *(p for g in rule.all_of for p in g), *rule.unless):
            for word in pat.replace("|", " ").replace("(", " ").replace(")", " ").split():
                name = word.lstrip("@") if word.startswith("@") else None
                if name is not None and name not in classes:
                    raise RulesError(rule.source, f"rule {rule.id}", f"unknown class @{name} in pattern {pat!r}")
    return RuleSet(
        rules=tuple(r for r in rules.values() if r.enabled),
        classes=classes,
        cues=cues,
        suppress=suppress,
        sources=tuple(sources),
    )


def _flatten_classes(classes: Mapping[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """Expand ``@other`` members of a class into the other class's words (cycles are an error)."""
    done: dict[str, tuple[str, ...]] = {}

    def expand(name: str, trail: tuple[str, ...]) -> tuple[str, ...]:
        if name in done:
            return done[name]
        if name in trail:
            raise RulesError("rules", f"classes.{name}", f"refers to itself through {' -> '.join(trail)}")
        if name not in classes:
            raise RulesError("rules", f"classes.{trail[-1]}", f"unknown class @{name}")
        out: dict[str, None] = {}
        for member in classes[name]:
            if member.startswith("@"):
                out.update(dict.fromkeys(expand(member[1:], (*trail, name))))
            else:
                out[member] = None
        done[name] = tuple(out)
        return done[name]

    for name in classes:
        expand(name, ())
    return done


def _parse(source: str, text: str) -> Mapping[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(source, "", f"not valid TOML ({exc})") from None


def _table(source: str, where: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise RulesError(source, where, "must be a table")
    return value


def _strings(source: str, where: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise RulesError(source, where, "must be a list of non-empty strings")
    return tuple(v.strip() for v in value)


def _check_intent(source: str, where: str, name: str) -> None:
    if name not in INTENT_SETS:
        raise RulesError(source, where, f"unknown intent {name!r}")


def _bool(source: str, where: str, raw: Mapping[str, Any], key: str, default: bool) -> bool:
    value = raw.get(key, default)
    if not isinstance(value, bool):
        raise RulesError(source, where, f"{key} must be true or false")
    return value


def _rule(source: str, n: int, raw: Any, earlier: Mapping[str, Rule]) -> Rule:
    where = f"rule #{n}"
    if not isinstance(raw, Mapping):
        raise RulesError(source, where, "must be a table")
    rid = raw.get("id")
    if not isinstance(rid, str) or not rid.strip():
        raise RulesError(source, where, "needs an id")
    rid = rid.strip()
    where = f"rule {rid}"
    unknown = set(raw) - _RULE_KEYS
    if unknown:
        raise RulesError(source, where, f"unknown key(s): {', '.join(sorted(unknown))}")
    enabled = _bool(source, where, raw, "enabled", True)
    if not enabled and set(raw) <= {"id", "enabled"}:
        base = earlier.get(rid)
        if base is None:
            raise RulesError(source, where, "disables a rule that no earlier file defines")
        return Rule(**{**_as_dict(base), "enabled": False, "source": source})
    sets = raw.get("sets")
    if sets not in URGENCY_SETS and sets not in INTENT_SETS:
        raise RulesError(
            source, where, f"sets must be an intent ({', '.join(sorted(INTENT_SETS))}) or emergency/urgent"
        )
    is_urgency = sets in URGENCY_SETS
    lang = raw.get("lang", "any")
    if lang not in LANGS:
        raise RulesError(source, where, "lang must be en, es or any")
    patterns = _strings(source, f"{where}: patterns", raw["patterns"]) if "patterns" in raw else ()
    all_of: tuple[tuple[str, ...], ...] = ()
    if "all_of" in raw:
        groups = raw["all_of"]
        if not isinstance(groups, list) or len(groups) < 2:
            raise RulesError(source, where, "all_of must be a list of two or more pattern lists")
        all_of = tuple(_strings(source, f"{where}: all_of", g) for g in groups)
    if not patterns and not all_of:
        raise RulesError(source, where, "needs patterns or all_of")
    unless = _strings(source, f"{where}: unless", raw["unless"]) if "unless" in raw else ()
    whole = _bool(source, where, raw, "whole", False)
    if whole and (all_of or unless):
        raise RulesError(source, where, "a whole-message rule takes patterns only")
    intent = raw.get("intent", "clinical" if is_urgency else None)
    if intent == "":
        intent = None
    if intent is not None:
        if not is_urgency:
            raise RulesError(source, where, "intent is only for urgency rules")
        _check_intent(source, where, intent)
    weak = _bool(source, where, raw, "weak", False)
    if weak and is_urgency:
        raise RulesError(source, where, "weak is only for intent rules")
    gap = raw.get("gap", 4)
    if not isinstance(gap, int) or isinstance(gap, bool) or not 1 <= gap <= 12:
        raise RulesError(source, where, "gap must be a whole number from 1 to 12")
    scope = raw.get("scope", "sentence")
    if scope not in ("sentence", "message"):
        raise RulesError(source, where, "scope must be sentence or message")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise RulesError(source, where, "description must be text")
    return Rule(
        id=rid,
        sets=sets,
        description=description.strip(),
        lang=lang,
        patterns=patterns,
        all_of=all_of,
        unless=unless,
        negatable=_bool(source, where, raw, "negatable", True),
        history=_bool(source, where, raw, "history", is_urgency),
        whole=whole,
        reminder_only=_bool(source, where, raw, "reminder_only", False),
        weak=weak,
        intent=intent,
        fuzzy=_bool(source, where, raw, "fuzzy", True),
        enabled=enabled,
        scope=scope,
        gap=gap,
        source=source,
    )


def _as_dict(rule: Rule) -> dict[str, Any]:
    return {name: getattr(rule, name) for name in Rule.__slots__}
