"""Intent, urgency and consent classification of one patient message.

How a message is read (all in :meth:`Classifier.classify`):

1. Only the patient's new words count: quoted replies, ``>`` lines, "-----Original
   Message-----" blocks, device lines and signatures are cut (:func:`~omnidesk.rules.text.strip_quoted`).
   A subject is read after the body; a reply subject ("Re: …") only counts towards urgency.
2. The text is normalised (lower case, accents and apostrophes folded, voicemail fillers
   dropped, spelled numbers joined) and cut into tokens; the matcher finds every rule phrase.
3. A phrase does not count when it is negated ("no chest pain", "denies shortness of breath",
   "I'm not suicidal" — a negation word up to five words before it in the same clause,
   unless it is a pseudo-negation like "not sure"), when it is history for a rule that
   cares ("my stroke in 2019", "the chest pain I had last month", unless "again"/"came
   back"), or when one of the rule's ``unless`` phrases is in the same sentence
   ("this bill will give me a heart attack").
4. Urgency is the highest level any firing rule sets. Intents come in the order the
   patient wrote them, with three conventions from the labelled corpus: an emergency (or a
   symptom-driven urgent message) leads with ``clinical`` even when buried in an
   administrative request; ``general`` goes last; a *weak* rule's intent only counts when
   nothing stronger is found. ``[suppress]`` removes overlapping intents (reschedule wins
   over cancel). Nothing found means ``general``.

Carrier keywords (CTIA / FCC practice): a message that is only STOP, STOPALL, UNSUBSCRIBE,
END, QUIT, REVOKE, OPTOUT or CANCEL (any case, stray spaces and punctuation) is
``consent.opt_out``; START or UNSTOP is ``consent.opt_in``; HELP or INFO is ``consent.help``.
Clear requests in words ("please stop texting me", "ya no me manden mensajes") are opt-outs
too; "stop by", "don't stop my meds" and "can I stop taking metformin" are not. YES is *not*
treated as an opt-in: a patient texting "yes" is confirming an appointment (see the README's
"Consent keywords" section for what that means for a number that had opted out).

**Bare CANCEL in reply to an appointment reminder** (``reminder_reply=True``): the intents are
``("appointment.cancel", "consent.opt_out")`` — both honoured. The carrier treats CANCEL as
an opt-out keyword and will block our texts to the number, so we must record the opt-out
and stop texting; and the patient most likely meant the appointment, so it goes to the
front desk as a cancellation request, to be confirmed by phone or another channel. The
patient neither silently loses reminders nor silently keeps an appointment they meant to
cancel: the thread shows both tags and the rule that set each. Without reminder context a
bare CANCEL is ``consent.opt_out`` only; "cancel my appointment" (more than the keyword) is
an appointment cancellation and no opt-out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from itertools import accumulate
from operator import itemgetter
from pathlib import Path
from typing import Any

from omnidesk.model import Channel, Classification, Intent, RuleMatch, Urgency
from omnidesk.rules import compiled
from omnidesk.rules.matcher import (
    CACHE_LIMIT,
    CLAUSE,
    CUE_TIER,
    EMOJI,
    HISTORY,
    IS_SENTENCE,
    JOINED_TIER,
    LANG,
    NEGWORD,
    PATTERN,
    PSEUDO,
    SENTENCE,
    UNLESS,
    WEAK_TIER,
    Info,
    Matcher,
    NeedNumbers,
)
from omnidesk.rules.ruleset import Rule, RuleSet, load_ruleset
from omnidesk.rules.text import strip_quoted

NEGATION_WINDOW = 5
WHOLE_MAX_TOKENS = 8

_REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|fw|fwd|rv|aw|tr)\s*(?:\[\d+\])?\s*:\s*)+", re.IGNORECASE)
_INTENT_ORDER = {i.value: n for n, i in enumerate(Intent)}
_URGENCIES = (Urgency.EMERGENCY, Urgency.URGENT, Urgency.ROUTINE)
_ROUTINE = Urgency.ROUTINE.rank
_EMERGENCY = Urgency.EMERGENCY.rank
_GENERAL = Intent.GENERAL.value
_CLINICAL = Intent.CLINICAL.value
# Nothing matched: "general", and the reason says so (every tag names what set it).
FALLBACK_RULE = "general.fallback"
_FALLBACK = Classification(
    intents=(_GENERAL,), urgency=Urgency.ROUTINE, matched=(RuleMatch(FALLBACK_RULE, _GENERAL, ""),)
)
_BOUNDARY = (SENTENCE, CLAUSE)
_IS_SENT = itemgetter(IS_SENTENCE)
_WEAK_OF = itemgetter(WEAK_TIER)
_EMPTY: frozenset[int] = frozenset()
# A rule that fired: (rule index, first token, last token, each all_of group's span or None).
Fired = tuple[int, int, int, tuple[tuple[int, int], ...] | None]
_LANG_OF = itemgetter(LANG)


class Classifier:
    """Reads one message and says what the patient wants, how urgent it is, and why.

    Build it once with :meth:`load` (it compiles the rule files); :meth:`classify` is pure,
    thread-safe and fast (tens of microseconds a message; ``bench/bench_rules.py`` measures it).
    """

    def __init__(self, ruleset: RuleSet, *, pure: bool = False) -> None:
        self.ruleset = ruleset
        self.rules: tuple[Rule, ...] = ruleset.rules
        self.matcher = Matcher(ruleset)
        self._suppress = {k: frozenset(v) for k, v in ruleset.suppress.items()}
        rules = self.rules
        # Flat per-rule and per-phrase arrays: attribute look-ups are too slow for the hot path.
        self._owners = [(o.kind, o.rule, o.group) for o in self.matcher.phrase_owner]
        self._urg = [r.is_urgency for r in rules]
        self._rem = [r.reminder_only for r in rules]
        self._neg = [r.negatable for r in rules]
        self._hist = [r.history for r in rules]
        self._groups = [len(r.all_of) for r in rules]
        self._msg_scope = [r.scope == "message" for r in rules]
        self._rank = [Urgency(r.sets).rank if r.is_urgency else _ROUTINE for r in rules]
        self._intent = [r.intent for r in rules]
        self._sets = [r.sets for r in rules]
        self._weak = [r.weak for r in rules]
        self._ids = [r.id for r in rules]
        # a rule that says what the patient wants (an intent rule, or an urgency rule that implies one)
        self._implies = [not r.is_urgency or r.intent is not None for r in rules]
        # per phrase: how many leading words are adjacent (before its first "...")
        self._lead = [
            1 + next((n for n, (_slot, gap) in enumerate(rest) if gap), len(rest)) for rest in self.matcher.phrase_rest
        ]
        # (rule, matched words, language) -> the answer, when that one rule is all that fired (bounded)
        self._single: dict[tuple[int, str, str], Classification] = {}
        self._spanish_bit = self.matcher.spanish_bit
        sent_info = self.matcher.info(".")
        self._subject_gap = [sent_info]
        # the compiled hot path (same answers; see omnidesk/rules/compiled.py), or None
        self._fast = (
            compiled.MODULE.FastClassifier(self, NEGATION_WINDOW, WHOLE_MAX_TOKENS, CACHE_LIMIT)
            if compiled.MODULE is not None and not pure
            else None
        )

    def compose_tables(self) -> dict[str, Any]:
        """What the compiled path needs to compose an answer exactly as :meth:`_compose` does."""
        return {
            "intents": list(_INTENT_ORDER),
            "general": _GENERAL,
            "clinical": _CLINICAL,
            "routine": _ROUTINE,
            "emergency": _EMERGENCY,
            "suppress": self._suppress,
            "fallback": _FALLBACK,
            "fallback_part": (FALLBACK_RULE, _GENERAL, ""),
            "classifications": _CLASSIFICATIONS,
            "intern": _intern,
        }

    @classmethod
    def load(cls, paths: Sequence[Path] = ()) -> Classifier:
        """The shipped default rules, then each practice file in ``paths``.

        A rule with the same id replaces the earlier one; ``enabled = false`` switches it off.
        """
        return cls(load_ruleset(paths))

    @classmethod
    def from_config_dir(cls, config_dir: Path | None) -> Classifier:
        """Defaults plus ``config_dir/rules*.toml`` in name order (the layout ``TriageEngine.load`` uses)."""
        if config_dir is None:
            return cls.load()
        return cls.load(sorted(p for p in Path(config_dir).glob("rules*.toml") if p.is_file()))

    def clear_caches(self) -> None:
        """Forget everything learned from messages (for benchmarks of a cold start)."""
        self.matcher.clear_caches()
        self._single.clear()
        if self._fast is not None:
            self._fast.clear_caches()

    # ------------------------------------------------------------------ the hot path

    def classify(
        self,
        body: str,
        subject: str | None = None,
        channel: Channel | str | None = None,
        *,
        reminder_reply: bool = False,
    ) -> Classification:
        """Intents (primary first), urgency, the rule matches behind every tag, and the language."""
        text = strip_quoted(body) if "\n" in body else body
        reply_subject = False
        if subject and ":" in subject:
            m = _REPLY_PREFIX.match(subject)
            if m:
                reply_subject = True
                subject = subject[m.end() :]
        fast = self._fast
        if fast is None:
            return self._classify(text, subject, reply_subject, reminder_reply)
        return fast.run(text.lower(), subject.lower() if subject else None, reply_subject, reminder_reply)

    def _classify(self, text: str, subject: str | None, reply_subject: bool, reminder_reply: bool) -> Classification:
        """The Python path of :meth:`classify` (``_fast.pyx`` does the same steps on C arrays)."""
        matcher = self.matcher
        infos = matcher.infos(text.lower())
        body_len = len(infos)
        if subject:
            sinfos = matcher.infos(subject.lower())
            if sinfos:
                infos = infos + self._subject_gap + sinfos
        try:
            hits, present = matcher.scan(infos)
        except NeedNumbers:  # a tens or hundreds word: read again with spelled numbers joined
            return self._with_numbers(text, subject, reply_subject, reminder_reply)
        whole = self._whole(infos, body_len) if body_len <= WHOLE_MAX_TOKENS else None
        if not hits and not whole and not any(map(_WEAK_OF, infos)):
            return _FALLBACK
        return self._decide(infos, hits, present, whole, body_len, reply_subject, reminder_reply)

    def _with_numbers(
        self, text: str, subject: str | None, reply_subject: bool, reminder_reply: bool
    ) -> Classification:
        """The slow path of :meth:`classify` for a message with a spelled number ("treinta y ocho")."""
        matcher = self.matcher
        infos = matcher.infos_with_numbers(text.lower())
        body_len = len(infos)
        if subject:
            sinfos = matcher.infos_with_numbers(subject.lower())
            if sinfos:
                infos = infos + self._subject_gap + sinfos
        whole = self._whole(infos, body_len) if body_len <= WHOLE_MAX_TOKENS else None
        hits, present = matcher.scan(infos, JOINED_TIER)
        if not hits and not whole and not any(map(_WEAK_OF, infos)):
            return _FALLBACK
        return self._decide(infos, hits, present, whole, body_len, reply_subject, reminder_reply)

    def _whole(self, infos: list[Info], body_len: int) -> list[int] | None:
        words = [x[0] for x in infos[:body_len] if x[1] != EMOJI and x[0].isalnum()]
        if not words:
            words = list(dict.fromkeys(x[0] for x in infos[:body_len] if x[1] == EMOJI))
        elif len(words) > 1 and len(set(words)) == 1:
            words = words[:1]
        return self.matcher.whole.get(" ".join(words)) if words else None

    # ------------------------------------------------------------------ deciding

    def _decide(
        self,
        infos: list[Info],
        hits: list[tuple[int, int, int]],
        present: int,
        whole: list[int] | None,
        body_len: int,
        reply_subject: bool,
        reminder_reply: bool,
    ) -> Classification:
        """What the main-tier hits mean, after the cue phrases and (if nothing else) the weak rules."""
        matcher = self.matcher
        owners = self._owners
        urg = self._urg
        rem = self._rem
        hist_on = self._hist
        lead = self._lead
        pattern_hits: dict[int, list[tuple[int, int, int]]] = {}
        unless_hits: dict[int, list[int]] | None = None
        neg_spans: list[tuple[int, int]] | None = None
        # urgency rule -> (its phrase's leading words, where the phrase ends), for each longer hit
        covering: dict[int, list[tuple[range, int]]] | None = None
        needs_history = False
        neg_word = False
        for pid, s, e in hits:
            k, r, g = owners[pid]
            if k == PATTERN:
                if rem[r] and not reminder_reply:
                    continue
                if reply_subject and s >= body_len and not urg[r]:
                    continue
                lst = pattern_hits.get(r)
                if lst is None:
                    pattern_hits[r] = [(g, s, e)]
                    if hist_on[r]:
                        needs_history = True
                else:
                    lst.append((g, s, e))
                if e > s and urg[r]:
                    if covering is None:
                        covering = {}
                    covering.setdefault(r, []).append((range(s, min(e, s + lead[pid] - 1) + 1), e))
            elif k == UNLESS:
                if unless_hits is None:
                    unless_hits = {}
                unless_hits.setdefault(r, []).append(s)
            else:  # a negation: one word ("not", "sin") or several ("no longer", "ruled out")
                if neg_spans is None:
                    neg_spans = []
                neg_spans.append((s, e))
                if k == NEGWORD:
                    neg_word = True
        # Is any hit preceded by a negation at all? Only then are pseudo-negations worth looking for.
        any_negation = False
        if neg_spans:
            raw_ends = {e for _s, e in neg_spans}
            negatable = self._neg
            for r, rhits in pattern_hits.items():
                if negatable[r]:
                    for h in rhits:
                        if _negated(infos, h[1], raw_ends, _EMPTY):
                            any_negation = True
                            break
                    if any_negation:
                        break
        pseudo: set[int] | None = None
        history: list[tuple[int, int]] | None = None
        recurrence: list[int] | None = None
        if any_negation or needs_history:
            cues, present = matcher.scan(infos, CUE_TIER, present)
            for pid, s, e in cues:
                k = owners[pid][0]
                if k == PSEUDO:
                    if pseudo is None:
                        pseudo = set()
                    pseudo.update(range(s, e + 1))
                elif k == HISTORY:
                    if history is None:
                        history = []
                    history.append((s, e))
                else:
                    if recurrence is None:
                        recurrence = []
                    recurrence.append(s)
        if reply_subject:
            # "Re: chest pain" over "no more chest pain": the body has the last word on its own rule
            for r in self._subject_urgency(pattern_hits, body_len):
                pattern_hits[r] = [h for h in pattern_hits[r] if h[1] < body_len]
        blocked = pseudo or _EMPTY
        neg_ends = _negation_ends(neg_spans, blocked)
        state = (infos, any_negation, neg_ends, blocked, unless_hits, history, recurrence, None)
        fired = self._whole_fired(whole, body_len, reminder_reply)
        sent_ids = self._evaluate(pattern_hits, state, None, fired)
        if covering and any_negation:
            # "no puede respirar y dolor de pecho": the "no" of an urgency phrase that fires is a
            # symptom, not a negation of what follows the phrase (inside its gap it still is:
            # "no tiene convulsiones desde que toma keppra"). A phrase whose rule did not fire
            # shields nothing, so this is a second reading once the first says what fired.
            shields = [c for f in fired if f[0] in covering for c in covering[f[0]]]
            if shields:
                state = (infos, any_negation, neg_ends, blocked, unless_hits, history, recurrence, shields)
                fired = self._whole_fired(whole, body_len, reminder_reply)
                sent_ids = self._evaluate(pattern_hits, state, sent_ids, fired)
        implies = self._implies
        for f in fired:
            if implies[f[0]]:
                break
        else:
            # weak rules only matter when nothing stronger says what the patient wants
            if not any_negation and neg_word:
                # a negation may cancel a weak hit ("no fever"): look for pseudo-negations after all
                any_negation = True
                cues, present = matcher.scan(infos, CUE_TIER, present)
                for pid, s, e in cues:
                    if owners[pid][0] == PSEUDO:
                        blocked = blocked | set(range(s, e + 1))
                state = (infos, any_negation, neg_ends, blocked, unless_hits, history, recurrence, state[7])
            weak_hits: dict[int, list[tuple[int, int, int]]] = {}
            for pid, s, e in matcher.scan(infos, WEAK_TIER, present)[0]:
                _k, r, g = owners[pid]
                if reply_subject and s >= body_len:
                    continue
                weak_hits.setdefault(r, []).append((g, s, e))
            if weak_hits:
                self._evaluate(weak_hits, state, sent_ids, fired)
        if not fired:
            return _FALLBACK
        return self._finish(fired, [_text(infos, f[1], f[2], f[3]) for f in fired], self._lang(infos, present))

    def _finish(self, fired: list[Fired], texts: list[str], lang: str) -> Classification:
        """The answer from the rules that fired, the words each matched (``texts``) and the language."""
        if len(fired) == 1:
            # One rule decides: the answer depends only on the rule, its words and the language.
            key = (fired[0][0], texts[0], lang)
            single = self._single
            found = single.get(key)
            if found is None:
                if len(single) >= _INTERN_LIMIT:
                    single.clear()
                found = single[key] = self._compose(fired, texts, lang)
            return found
        return self._compose(fired, texts, lang)

    def _whole_fired(self, whole: list[int] | None, body_len: int, reminder_reply: bool) -> list[Fired]:
        """The whole-message rules ("Y", "STOP") that apply, as fired rules."""
        rem = self._rem
        return [(r, 0, body_len - 1, None) for r in whole if not rem[r] or reminder_reply] if whole else []

    def _subject_urgency(self, pattern_hits: dict[int, list[tuple[int, int, int]]], body_len: int) -> list[int]:
        """Urgency rules hit both in a reply's subject and in its body."""
        return [
            r
            for r, hs in pattern_hits.items()
            if any(h[1] >= body_len for h in hs) and any(h[1] < body_len for h in hs)
        ]

    def _lang(self, infos: list[Info], present: int) -> str:
        """Spanish when its markers outnumber the English ones; no marker at all (mask bit) means English."""
        if present >= 0 and not present & self._spanish_bit:
            return "en"
        return "es" if sum(map(_LANG_OF, infos)) > 0 else "en"

    def _evaluate(
        self,
        rule_hits: dict[int, list[tuple[int, int, int]]],
        state: tuple,
        sent_ids: list[int] | None,
        fired: list[Fired],
    ) -> list[int] | None:
        """Drop negated, historical and 'unless' hits; append each rule that still fires to ``fired``.

        ``sent_ids`` (each token's sentence number) is computed here the first time a rule needs
        it, and returned for the next call.
        """
        infos, any_negation, neg_ends, blocked, unless_hits, history, recurrence, shields = state
        negatable = self._neg
        hist_on = self._hist
        groups = self._groups
        for r, rhits in rule_hits.items():
            ok = rhits
            check_negation = any_negation and negatable[r]
            unless_sents = None
            if unless_hits is not None and r in unless_hits:
                if sent_ids is None:
                    sent_ids = list(accumulate(map(_IS_SENT, infos)))
                unless_sents = {sent_ids[x] for x in unless_hits[r]}
            check_history = history is not None and hist_on[r]
            if check_negation or unless_sents or check_history:
                if check_history and sent_ids is None:
                    sent_ids = list(accumulate(map(_IS_SENT, infos)))
                ok = []
                for h in rhits:
                    s = h[1]
                    if check_negation and _negated(infos, s, neg_ends, _shielded(blocked, shields, s)):
                        continue
                    if unless_sents and sent_ids[s] in unless_sents:  # type: ignore[index]
                        continue
                    if check_history and _historical(infos, s, h[2], history, recurrence, sent_ids):
                        continue
                    ok.append(h)
                if not ok:
                    continue
            n_groups = groups[r]
            if n_groups:
                if sent_ids is None and not self._msg_scope[r]:
                    sent_ids = list(accumulate(map(_IS_SENT, infos)))
                spans = _all_of(ok, n_groups, sent_ids, self._msg_scope[r])
                if spans is not None:
                    fired.append((r, spans[0][0], spans[-1][1], spans))
                    continue
                ok = [h for h in ok if h[0] < 0]
                if not ok:
                    continue
            first = min(ok, key=_START) if len(ok) > 1 else ok[0]
            fired.append((r, first[1], first[2], None))
        return sent_ids

    def _compose(self, fired: list[Fired], texts: list[str], lang: str) -> Classification:
        rank = self._rank
        urg = self._urg
        intent_of = self._intent
        sets_of = self._sets
        weak_of = self._weak
        best = min([rank[f[0]] for f in fired])
        strong: dict[str, tuple[int, int]] = {}  # intent -> (position, index in fired)
        weak: dict[str, tuple[int, int]] = {}
        lead: str | None = None
        lead_pos = 1 << 30
        for n, f in enumerate(fired):
            r = f[0]
            s = f[1]
            if urg[r]:
                intent = intent_of[r]
                if intent is None:
                    continue
                old = strong.get(intent)
                if old is None or s < old[0]:
                    strong[intent] = (s, n)
                if rank[r] == best and best < _ROUTINE and lead != _CLINICAL and (intent == _CLINICAL or s < lead_pos):
                    lead, lead_pos = intent, s
            else:
                table = weak if weak_of[r] else strong
                intent = sets_of[r]
                old = table.get(intent)
                if old is None or s < old[0]:
                    table[intent] = (s, n)
        if best == _EMERGENCY:
            lead = _CLINICAL
            if _CLINICAL not in strong:
                strong[_CLINICAL] = (lead_pos, -1)
        chosen = strong or weak
        if len(chosen) > 1:
            if not strong:
                chosen.pop(_GENERAL, None)  # a bare "thanks" never outranks another hint
            for intent in list(chosen):
                gone = self._suppress.get(intent)
                if gone and intent in chosen:
                    for other in gone:
                        if other != intent:
                            chosen.pop(other, None)
        if not chosen:
            chosen = {_GENERAL: (0, -2)}
        if len(chosen) == 1:
            intents = tuple(chosen)
        else:
            ranked = sorted(
                [
                    ((0, 0, 0) if i == lead else (2 if i == _GENERAL else 1, pos, _INTENT_ORDER[i]), i)
                    for i, (pos, _n) in chosen.items()
                ]
            )
            intents = tuple([i for _, i in ranked])
        parts: list[tuple[str, str, str]] = []
        rule_ids = self._ids
        if best < _ROUTINE:
            urgent = [(rank[f[0]], f[1], n) for n, f in enumerate(fired) if urg[f[0]]]
            urgent.sort()
            for _rk, _s, n in urgent:
                r = fired[n][0]
                parts.append((rule_ids[r], sets_of[r], texts[n]))
        for intent in intents:
            n = chosen[intent][1]
            if n == -2:
                parts.append((FALLBACK_RULE, _GENERAL, ""))
            if n < 0:
                continue
            parts.append((rule_ids[fired[n][0]], intent, texts[n]))
        key = (intents, best, tuple(parts), lang)
        found = _CLASSIFICATIONS.get(key)
        return found if found is not None else _intern(key)


# ---------------------------------------------------------------------- helpers


_START = itemgetter(1)


# Results are immutable, so equal ones are shared (bounded): building frozen dataclasses costs
# more than the look-up. This interns values; it never caches by message.
_INTERN_LIMIT = 50_000
_MATCHES: dict[tuple[str, str, str], RuleMatch] = {}
_CLASSIFICATIONS: dict[tuple, Classification] = {}


def _intern(key: tuple[tuple[str, ...], int, tuple[tuple[str, str, str], ...], str]) -> Classification:
    """The shared Classification for (intents, urgency rank, (rule, sets, text) parts, language)."""
    found = _CLASSIFICATIONS.get(key)
    if found is None:
        if len(_CLASSIFICATIONS) >= _INTERN_LIMIT:
            _CLASSIFICATIONS.clear()
        intents, best, parts, lang = key
        found = Classification(
            intents=intents, urgency=_URGENCIES[best], matched=tuple(_match(*p) for p in parts), lang=lang
        )
        _CLASSIFICATIONS[key] = found
    return found


def _match(rule: str, sets: str, text: str) -> RuleMatch:
    key = (rule, sets, text)
    found = _MATCHES.get(key)
    if found is None:
        if len(_MATCHES) >= _INTERN_LIMIT:
            _MATCHES.clear()
        found = _MATCHES[key] = RuleMatch(rule, sets, text)
    return found


def _negation_ends(neg_spans: list[tuple[int, int]] | None, blocked: set[int]) -> set[int]:
    """Where each negation ends, leaving out those that overlap ``blocked`` words."""
    if not neg_spans:
        return _EMPTY
    return {e for s, e in neg_spans if blocked.isdisjoint(range(s, e + 1))}


def _shielded(blocked: set[int], shields: list[tuple[range, int]] | None, start: int) -> set[int]:
    """``blocked`` plus the leading words of every firing urgency phrase that ends before ``start``."""
    if not shields:
        return blocked
    extra = [words for words, end in shields if end < start]
    return blocked.union(*extra) if extra else blocked


def _negated(infos: list[Info], start: int, neg_ends: set[int], blocked: set[int]) -> bool:
    """A negation ends at most NEGATION_WINDOW tokens before ``start``, in the same clause.

    ``blocked`` positions (inside a pseudo-negation such as "not sure", or inside a symptom
    phrase such as "no puede respirar") do not negate.
    """
    k = start - 1
    stop = start - NEGATION_WINDOW
    if stop < 0:
        stop = 0
    while k >= stop:
        x = infos[k]
        if x[1] in _BOUNDARY:
            return False
        if k in neg_ends and k not in blocked:
            return True
        k -= 1
    return False


def _historical(
    infos: list[Info],
    s: int,
    e: int,
    history: list[tuple[int, int]],
    recurrence: list[int] | None,
    sent_ids: list[int] | None,
) -> bool:
    """A history phrase ("in 2019", "2 years ago", "last month") is in the same sentence, and nothing there says now.

    "Now", "today", "again", "came back", "still", "since" in that sentence mean it is happening now after all.
    """
    if sent_ids is None:
        return False
    sent = sent_ids[s]
    if not any(sent_ids[hs] == sent for hs, _he in history):
        return False
    return not (recurrence and any(sent_ids[p] == sent for p in recurrence))


def _all_of(
    ok: list[tuple[int, int, int]], groups: int, ids: list[int] | None, whole_message: bool
) -> tuple[tuple[int, int], ...] | None:
    """The (start, end) of each group's first hit in the first sentence (or the message) where all groups meet."""
    if whole_message:
        found: dict[int, tuple[int, int]] = {}
        for g, s, e in ok:
            if g >= 0 and (g not in found or s < found[g][0]):
                found[g] = (s, e)
        return tuple(sorted(found.values())) if len(found) == groups else None
    assert ids is not None
    by_sent: dict[int, dict[int, tuple[int, int]]] = {}
    for g, s, e in ok:
        if g < 0:
            continue
        slot = by_sent.setdefault(ids[s], {})
        if g not in slot or s < slot[g][0]:
            slot[g] = (s, e)
    for found in by_sent.values():
        if len(found) == groups:
            return tuple(sorted(found.values()))
    return None


def _text(infos: list[Info], s: int, e: int, spans: tuple[tuple[int, int], ...] | None = None) -> str:
    """The matched words as the patient wrote them (normalised); all_of rules show each part."""
    if s == e and spans is None:
        return infos[s][0]
    if spans is not None and len(spans) > 1:
        return " … ".join(_text(infos, a, b) for a, b in spans)
    out: list[str] = []
    for x in infos[s : e + 1]:
        tok = x[0]
        if x[1] in _BOUNDARY and not tok.isalnum() and out:
            out[-1] += tok
        else:
            out.append(tok)
    text = " ".join(out)
    return text if len(text) <= 80 else text[:79] + "…"


@lru_cache(maxsize=1)
def default_classifier() -> Classifier:
    """The classifier with only the shipped rules (built once per process)."""
    return Classifier.load()
