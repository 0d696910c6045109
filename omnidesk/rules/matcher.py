"""The compiled form of a rule set: token slots, phrase automaton and the per-token cache.

A pattern such as ``"pain ... @chest"`` is a sequence of *slots* (``pain``; any word of the
class ``chest``), optionally separated by ``...`` (up to :data:`GAP` other words, never across
a sentence end). Every distinct slot gets an integer id. The first time the matcher meets a
token it works out, once, which slot ids the token fills (exact word, ``stem*``, ``*suffix``,
number range, temperature, misspelling of a rule word) and which phrases can *start* with it;
that :data:`Info` is cached by token text (and each white-space chunk's infos by chunk text).
Scanning a message is then one pass over its tokens with set-membership tests — no regular
expression per rule and no fuzzy search per message. A token also carries a bit mask of the
slots it fills; OR-ed over the message it says which longer phrases can match at all, so the
scan only checks those around their anchor (the check is memoised per anchor and mask).
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import reduce
from itertools import chain, compress, count
from operator import itemgetter, or_

from omnidesk.rules.fuzzy import VariantTable
from omnidesk.rules.ruleset import Rule, RulesError, RuleSet
from omnidesk.rules.text import (
    CLAUSE_MARKS,
    HUNDREDS,
    SENTENCE_MARKS,
    SYMBOLS,
    TENS,
    combine_number_words,
    fahrenheit,
    is_emoji,
    normalize,
    parse_number_token,
    tokenize,
)

GAP = 4  # "a ... b": up to this many words between a and b
MIN_STEM = 2
CACHE_LIMIT = 100_000  # tokens, and white-space chunks: ~35 MB at most for both (memory budget 150 MB)
MEMO_LIMIT = 256  # per anchoring token kind: distinct "which of its phrases' words are present" patterns

# Token kinds
WORD, SENTENCE, CLAUSE, EMOJI, SYMBOL, FILLER = range(6)

# Phrase owners. NEGWORD: the one-word negations ("no", "not", "sin"), a phrase of the main
# tier so that the one anchor scan reports them too.
PATTERN, UNLESS, NEGATION, PSEUDO, HISTORY, RECURRENCE, NEGWORD = range(7)

_JOINABLE = frozenset(TENS) | frozenset(HUNDREDS)
FILLERS = frozenset({"um", "umm", "uh", "uhh", "uhm", "er", "erm", "hmm", "mhm", "eh", "ehh", "inaudible"})

# Info tuple fields (a tuple, not a dataclass: this is the hot path). CANDS: the phrases
# anchored on a slot this token fills; IS_SENTENCE: 1 for a sentence end (for accumulate()).
# MASK: one bit for each slot the token fills that some phrase needs besides its anchor (see scan()).
# JOINED_CANDS: the main-tier phrases again; CANDS holds NUMBER_WORD instead for a tens or hundreds
# word, so that scanning the main tier raises NeedNumbers (see Matcher.infos).
TOK, KIND, SLOTS, CANDS, LANG, IS_SENTENCE, NEG, WEAK_CANDS, CUE_CANDS, MASK, JOINED_CANDS = range(11)
# Phrase tiers, scanned separately: MAIN always; CUES (pseudo-negations, history, recurrence)
# only when a negation or a history-sensitive rule needs them; WEAK only when nothing strong matched.
MAIN, WEAK_TIER, CUE_TIER, JOINED_TIER = CANDS, WEAK_CANDS, CUE_CANDS, JOINED_CANDS
Part = tuple[tuple[int, int], ...]
# (phrase id, left part, right part, mask of the slots the parts need)
Candidate = tuple[int, Part, Part, int]
# CANDS: (one-word phrase ids, longer phrases anchored here, the OR of their masks, and a bounded
# memo: that OR & the message's mask -> the longer phrases whose words are all in the message),
# or () when the token anchors nothing
Cands = tuple[tuple[int, ...], tuple[Candidate, ...], int, dict[int, tuple[Candidate, ...]]] | tuple[()]
Info = tuple[str, int, frozenset[int], Cands, int, int, int, Cands, Cands, int, Cands]
_CANDS = itemgetter(CANDS)
_TIER_GETTERS = {t: itemgetter(t) for t in (CANDS, WEAK_CANDS, CUE_CANDS, JOINED_CANDS)}
_PUNCT = frozenset(",:()/")
_SLOTS = itemgetter(SLOTS)
_MASK = itemgetter(MASK)
_NO_SLOTS: frozenset[int] = frozenset()


class NeedNumbers(Exception):
    """Raised by :meth:`Matcher.scan` on a tens or hundreds word: read the text with ``infos_with_numbers``."""


class _NumberWord:
    """The main-tier phrases of "twenty", "cien" …: unpacking them raises :class:`NeedNumbers`.

    Messages with spelled numbers are rare; this costs the others nothing (no check per token).
    """

    __slots__ = ()

    def __iter__(self) -> Iterator[Cands]:
        raise NeedNumbers


NUMBER_WORD = _NumberWord()

# Words too common to anchor a phrase on (any slot made of rarer words is tried first).
COMMON_WORDS = frozenset(
    """
    a an the i me my mine you your u we us our he him his she her they them their it its this that these those
    is am are was were be been being do does did have has had can could should would will shall may might must
    to of in on at for from with by about as into over after before up down out off than then so if or and but
    not no yes what when where who why how all any some more most very just also too now here there
    get got want like take go come see know think tell send let
    de la el los las un una y o que en por para con sin mi mis su sus tu se me le lo les al del es esta estoy
    no si ya muy mas como pero porque cuando hay tengo tiene
    """.split()  # noqa: SIM905 - a word list people can read
)
FAIRLY_COMMON_WORDS = frozenset(
    """
    time day week today tomorrow night morning again still back new last next one two three
    really please thanks thank hi hello dr doctor son daughter kid baby mom dad wife husband
    said says told way right left well good bad little lot help give use try keep start stop
    would will should ok okay appt appointment visit pain sick fever next another other different later earlier
    need needs make call donde
    cant dont wont didnt doesnt isnt im its thats ive id
    hijo hija bebe mama papa dia hoy manana semana gracias hola favor doctor cita dolor
    """.split()  # noqa: SIM905 - a word list people can read
)

_NUM_RANGE = re.compile(r"#(-?\d+(?:\.\d+)?)\.\.(-?\d+(?:\.\d+)?)$")
_TEMP = re.compile(r"#temp>=(\d+(?:\.\d+)?)$")
_REPEATED = re.compile(r"\)[*+]")
_PATTERN_PART = re.compile(r"\(([^()]*)\)(\?)?|(\.\.\.|…)|([^\s()]+)")


@dataclass(frozen=True, slots=True)
class Owner:
    """Who a phrase belongs to: a rule's patterns (``group``: -1, or the all_of group), its unless, or a cue list."""

    kind: int
    rule: int = -1
    group: int = -1


class Matcher:
    """Slots, phrases and the token cache for one :class:`RuleSet`; thread-safe for reading."""

    def __init__(self, ruleset: RuleSet) -> None:
        self.ruleset = ruleset
        self._slot_ids: dict[tuple[frozenset[str], bool], int] = {}
        self._slot_specs: list[frozenset[str]] = []
        self._lit: dict[str, set[int]] = defaultdict(set)
        self._stem: dict[str, set[int]] = defaultdict(set)
        self._suffix: dict[str, set[int]] = defaultdict(set)
        self._num: list[tuple[int, float, float]] = []
        self._temp: list[tuple[int, float]] = []
        self._fuzzy_lit: dict[str, set[int]] = defaultdict(set)
        self.phrase_rest: list[tuple[tuple[int, int], ...]] = []
        self.phrase_owner: list[Owner] = []
        self.phrase_text: list[str] = []
        self._phrase_first: list[int] = []
        # whole-message rules: normalized text -> rule indexes
        self.whole: dict[str, list[int]] = defaultdict(list)
        cues = ruleset.cues
        # Only these words (in rule patterns, not in "unless" lists) tolerate misspellings.
        self._spelling = frozenset(_words(cues.get("spelling", ())))
        self._breakers = frozenset(_words(cues.get("breakers", ())))
        self._spanish = frozenset(_words(cues.get("spanish", ())))
        self._english = frozenset(_words(cues.get("english", ())))
        for idx, rule in enumerate(ruleset.rules):
            self._compile_rule(idx, rule)
        # One-word negations are one slot of their own (exact words, no misspellings) and one
        # phrase; longer ones are ordinary phrases.
        negations = [" ".join(normalize(p).split()) for p in cues.get("negation", ())]
        self._negation_words = frozenset(p for p in negations if " " not in p and "|" not in p and "*" not in p)
        for pat in cues.get("negation", ()):
            if " ".join(normalize(pat).split()) not in self._negation_words:
                self._add_pattern(pat, Owner(NEGATION), fuzzy=False, where="cues.negation")
        self._neg_slot = self._special_phrase(self._negation_words, Owner(NEGWORD), "(one-word negations)")
        for kind, name in (
            (PSEUDO, "pseudo_negation"),
            (HISTORY, "history"),
            (RECURRENCE, "recurrence"),
        ):
            for pat in cues.get(name, ()):
                self._add_pattern(pat, Owner(kind), fuzzy=False, where=f"cues.{name}")
        self.variants = VariantTable(self._fuzzy_lit)
        self._fuzzy_lit = dict(self._fuzzy_lit)
        self._stem = dict(self._stem)
        self._suffix = dict(self._suffix)
        self._stem_lengths = sorted({len(p) for p in self._stem})
        self._suffix_lengths = sorted({len(s) for s in self._suffix})
        # A token can only fill a stem* (*suffix) slot if it starts (ends) like one: one probe first.
        self._stem_head = self._stem_lengths[0] if self._stem_lengths else 0
        self._stem_heads = frozenset(p[: self._stem_head] for p in self._stem)
        self._suffix_tail = self._suffix_lengths[0] if self._suffix_lengths else 0
        self._suffix_tails = frozenset(s[-self._suffix_tail :] for s in self._suffix)
        self._build_anchors()
        self.cache: dict[str, Info] = {}
        self.chunks: _ChunkCache = _ChunkCache(self)
        self._chunk_of = self.chunks.__getitem__
        self._by_slots: dict[frozenset[int], tuple[Cands, Cands, Cands, int]] = {}

    # ------------------------------------------------------------------ compiling

    def _compile_rule(self, idx: int, rule: Rule) -> None:
        where = f"rule {rule.id}"
        if rule.whole:
            for pat in rule.patterns:
                key = " ".join(normalize(pat).split())
                self.whole[key].append(idx)
            return
        for pat in rule.patterns:
            self._add_pattern(pat, Owner(PATTERN, idx, -1), rule.fuzzy, where, rule.gap)
        for g, group in enumerate(rule.all_of):
            for pat in group:
                self._add_pattern(pat, Owner(PATTERN, idx, g), rule.fuzzy, where, rule.gap)
        for pat in rule.unless:
            self._add_pattern(pat, Owner(UNLESS, idx), False, where, rule.gap)

    def _add_pattern(self, pattern: str, owner: Owner, fuzzy: bool, where: str, max_gap: int = GAP) -> None:
        try:
            items = self._parse(pattern, where)
        except RulesError as exc:  # name the file the rule came from
            raise RulesError(self._source(owner), exc.where, exc.problem) from None
        for variant in self._expand(items):
            slots: list[tuple[int, int]] = []
            gap = 0
            for item in variant:
                if item is None:
                    gap = max_gap
                    continue
                slots.append((self._slot(item, fuzzy), gap))
                gap = 0
            if not slots:
                raise RulesError(self._source(owner), where, f"pattern {pattern!r} needs a word that is not optional")
            if slots[0][1]:
                raise RulesError(self._source(owner), where, f"pattern {pattern!r} cannot start or end with '...'")
            if gap:
                raise RulesError(self._source(owner), where, f"pattern {pattern!r} cannot end with '...'")
            self._phrase_first.append(slots[0][0])
            self.phrase_rest.append(tuple(slots[1:]))
            self.phrase_owner.append(owner)
            self.phrase_text.append(pattern)

    def _special_phrase(self, words: frozenset[str], owner: Owner, text: str) -> int:
        """A slot filled by exactly ``words`` (set on the token by :meth:`_compute`) and a one-slot phrase on it."""
        sid = len(self._slot_specs)
        self._slot_specs.append(words)
        self._phrase_first.append(sid)
        self.phrase_rest.append(())
        self.phrase_owner.append(owner)
        self.phrase_text.append(text)
        return sid

    def _source(self, owner: Owner) -> str:
        if owner.rule >= 0:
            return self.ruleset.rules[owner.rule].source
        return "rules"

    def _parse(self, pattern: str, where: str) -> list[list[tuple[str, ...]] | None]:
        """Pattern text → items: None for '...', else a list of alternatives, each a tuple of word specs.

        ``a|b`` are one-word alternatives; ``(too many|too much)`` are alternatives of several words;
        ``(the|your)?`` may also be absent (the empty tuple is that alternative).
        """
        items: list[list[tuple[str, ...]] | None] = []
        if _REPEATED.search(pattern):
            raise RulesError(
                "rules",
                where,
                f"repeated words ('*' or '+' after a group) are not supported: {pattern!r}; "
                "'(words)?' makes a group optional, '...' lets other words sit between",
            )
        found = list(_PATTERN_PART.finditer(pattern))
        if "".join("".join(m.group(0).split()) for m in found) != "".join(pattern.split()):
            raise RulesError("rules", where, f"unbalanced or nested parentheses in pattern {pattern!r}")
        for m in found:
            group, optional, gap, raw = m.groups()
            if gap:
                items.append(None)
                continue
            alts: list[tuple[str, ...]] = [()] if optional else []
            if group is not None:
                for alt in group.split("|"):
                    words = alt.split()
                    if not words:
                        raise RulesError("rules", where, f"empty alternative in pattern {pattern!r}")
                    if len(words) == 1:
                        alts.extend(self._alternatives(words[0], pattern, where))
                    else:
                        if any(w.startswith("@") for w in words):
                            raise RulesError("rules", where, f"use @class alone inside ( ) in pattern {pattern!r}")
                        alts.append(tuple(self._spec(w, pattern, where) for w in words))
            else:
                for alt in raw.split("|"):
                    if not alt:
                        raise RulesError("rules", where, f"empty alternative in pattern {pattern!r}")
                    alts.extend(self._alternatives(alt, pattern, where))
            items.append(alts)
        return items

    def _alternatives(self, alt: str, pattern: str, where: str) -> list[tuple[str, ...]]:
        if not alt.startswith("@"):
            return [(self._spec(alt, pattern, where),)]
        members = self.ruleset.classes.get(alt[1:])
        if members is None:
            raise RulesError("rules", where, f"unknown class {alt} in pattern {pattern!r}")
        return [tuple(self._spec(w, pattern, where) for w in m.split()) for m in members]

    def _spec(self, word: str, pattern: str, where: str) -> str:
        if word.startswith("#"):
            if word == "#" or _NUM_RANGE.match(word) or _TEMP.match(word):
                return word
            raise RulesError("rules", where, f"bad number slot {word!r} in pattern {pattern!r}")
        norm = normalize(word)
        star_front = norm.startswith("*")
        star_back = norm.endswith("*") and len(norm) > 1
        core = norm.strip("*")
        tokens = re.findall(r"[a-z0-9]+|[^\sa-z0-9*]", core)
        if len(tokens) != 1:
            raise RulesError(
                "rules", where, f"{word!r} in pattern {pattern!r} is not one word (write 'x ray', not 'x-ray')"
            )
        if star_back and len(core) < MIN_STEM:
            raise RulesError("rules", where, f"stem {word!r} is too short")
        return ("*" if star_front else "") + tokens[0] + ("*" if star_back else "")

    @staticmethod
    def _expand(items: list[list[tuple[str, ...]] | None]) -> Iterable[list[frozenset[str] | None]]:
        """Alternatives of one word share a slot; multi-word class members become separate phrases."""
        choices: list[list[list[frozenset[str] | None]]] = []
        for item in items:
            if item is None:
                choices.append([[None]])
                continue
            singles = frozenset(a[0] for a in item if len(a) == 1)
            options: list[list[frozenset[str] | None]] = []
            if () in item:  # an optional group: one variant without it
                options.append([])
            if singles:
                options.append([singles])
            for a in item:
                if len(a) > 1:
                    options.append([frozenset((w,)) for w in a])
            choices.append(options)
        for combo in itertools.product(*choices):
            yield [slot for part in combo for slot in part]

    def _slot(self, alts: frozenset[str], fuzzy: bool) -> int:
        key = (alts, fuzzy)
        sid = self._slot_ids.get(key)
        if sid is not None:
            return sid
        sid = len(self._slot_specs)
        self._slot_ids[key] = sid
        self._slot_specs.append(alts)
        for spec in alts:
            if spec.startswith("#"):
                if spec == "#":
                    self._num.append((sid, float("-inf"), float("inf")))
                elif m := _NUM_RANGE.match(spec):
                    self._num.append((sid, float(m.group(1)), float(m.group(2))))
                elif m := _TEMP.match(spec):
                    self._temp.append((sid, float(m.group(1))))
            elif spec.startswith("*"):
                self._suffix[spec[1:]].add(sid)
                if fuzzy:
                    for word in self._spelling:
                        if word.endswith(spec[1:]):
                            self._fuzzy_lit[word].add(sid)
            elif spec.endswith("*"):
                self._stem[spec[:-1]].add(sid)
                if fuzzy:
                    for word in self._spelling:
                        if word.startswith(spec[:-1]):
                            self._fuzzy_lit[word].add(sid)
            else:
                self._lit[spec].add(sid)
                if fuzzy and spec in self._spelling:
                    self._fuzzy_lit[spec].add(sid)
        return sid

    # ------------------------------------------------------------------ anchors

    def _slot_weight(self, sid: int) -> int:
        """How common the words filling a slot are (lower = rarer = a better anchor).

        A slot is as common as its most common alternative; the number of alternatives breaks ties.
        """
        worst = 0
        specs = self._slot_specs[sid]
        for spec in specs:
            if spec.startswith("#"):
                w = 300 if ".." in spec else (50 if "temp" in spec else 900)
            elif spec.startswith("*"):
                w = 5
            elif spec.endswith("*"):
                w = 500 if len(spec) <= 4 else 3
            elif spec in COMMON_WORDS or len(spec) == 1:
                w = 1000
            elif spec in FAIRLY_COMMON_WORDS:
                w = 200
            else:
                w = 2
            worst = max(worst, w)
        return worst * 100 + len(specs)

    def _build_anchors(self) -> None:
        """Each phrase is found from its rarest slot, then checked to the left and to the right.

        ``self._anchored[slot]`` lists (phrase id, left part read right-to-left, right part); each
        part is a tuple of (slot, gap) where gap is how many other words may sit in between.
        """
        anchored: dict[int, dict[int, list[tuple[int, Part, Part]]]] = {
            t: defaultdict(list) for t in (MAIN, WEAK_TIER, CUE_TIER)
        }
        load: dict[int, int] = defaultdict(int)
        weight = {sid: self._slot_weight(sid) for sid in range(len(self._slot_specs))}
        for pid, (first, rest) in enumerate(zip(self._phrase_first, self.phrase_rest, strict=True)):
            slots = [first, *(sl for sl, _ in rest)]
            gaps = [0, *(g for _, g in rest)]  # gaps[j]: words allowed between slot j-1 and slot j
            # the rarest slot; among equally rare ones the least crowded, so no word carries too many phrases
            k = min(range(len(slots)), key=lambda j: (weight[slots[j]], load[slots[j]], -j))
            load[slots[k]] += 1
            left = tuple((slots[j], gaps[j + 1]) for j in range(k - 1, -1, -1))
            right = tuple((slots[j], gaps[j]) for j in range(k + 1, len(slots)))
            anchored[self._tier(pid)][slots[k]].append((pid, left, right))
        # Every slot a longer phrase needs besides its anchor gets a bit: a token's MASK has the bits
        # of its slots, a message's mask is their OR, and a phrase whose bits are not all in it is skipped.
        needed = sorted(
            {sl for by_slot in anchored.values() for cs in by_slot.values() for c in cs for sl, _ in c[1] + c[2]}
        )
        self._need_bit = {sid: 1 << n for n, sid in enumerate(needed)}
        # Three more bits: a Spanish language marker (a message whose mask lacks it is not Spanish),
        # and a token that anchors a cue / a weak-rule phrase (without one, those scans find nothing).
        self.spanish_bit = 1 << len(needed)
        self._tier_bit = {MAIN: 0, JOINED_TIER: 0, CUE_TIER: 2 << len(needed), WEAK_TIER: 4 << len(needed)}
        bit = self._need_bit
        # Per anchor slot: phrases of one word (a hit as soon as the word is seen) and longer ones.
        self._anchored: dict[int, dict[int, tuple[tuple[int, ...], tuple[Candidate, ...]]]] = {}
        for tier, by_slot in anchored.items():
            self._anchored[tier] = {
                sid: (
                    tuple(pid for pid, left, right in cands if not left and not right),
                    tuple(
                        (pid, left, right, sum({bit[sl] for sl, _ in left + right}))
                        for pid, left, right in cands
                        if left or right
                    ),
                )
                for sid, cands in by_slot.items()
            }

    def _tier(self, pid: int) -> int:
        owner = self.phrase_owner[pid]
        if owner.kind in (PSEUDO, HISTORY, RECURRENCE):
            return CUE_TIER
        if owner.kind == PATTERN and self.ruleset.rules[owner.rule].weak:
            return WEAK_TIER
        return MAIN

    # ------------------------------------------------------------------ tokens

    def clear_caches(self) -> None:
        """Forget everything learned from messages (token and chunk caches, memos, misspelling tables)."""
        self.cache.clear()
        self.chunks.clear()
        self._by_slots.clear()
        self.variants.clear_caches()

    def infos(self, lowered: str) -> list[Info]:
        """The tokens of an already lower-cased text, as cached :data:`Info` tuples.

        The text is split on white space (C speed); each chunk ("pain,", "103.8", "can't",
        "c👍") is normalised and tokenised once, the first time it is seen, and cached. Spelled
        numbers across chunks ("treinta y ocho") are not joined here: scanning a tens or hundreds
        word raises :class:`NeedNumbers`, and the caller then reads the text again with
        :meth:`infos_with_numbers` and scans :data:`JOINED_TIER` instead of :data:`MAIN`.
        """
        if "\n" in lowered:
            lowered = lowered.replace("\n", " . ")  # a line break ends a sentence
        return list(chain.from_iterable(map(self._chunk_of, lowered.split())))

    def infos_with_numbers(self, lowered: str) -> list[Info]:
        """Like :meth:`infos`, with spelled multi-word numbers joined ("a hundred and three" → ``103``)."""
        if "\n" in lowered:
            lowered = lowered.replace("\n", " . ")
        infos = list(chain.from_iterable(map(self._chunk_of, lowered.split())))
        if not any(x[TOK] in _JOINABLE for x in infos):
            return infos
        toks = combine_number_words(tokenize(normalize(lowered)))
        return [x for x in map(self.info, toks) if x[1] != FILLER]

    def chunk_infos(self, chunk: str, *, remember: bool = True) -> tuple[Info, ...]:
        """The token infos of one white-space chunk ("pain,", "c👍"), voicemail fillers left out.

        The chunk itself is not cached here; with ``remember=False`` its new tokens are not either
        (the compiled path keeps its own copy of each token).
        """
        info = self.info if remember else self._peek
        return tuple(x for x in map(info, tokenize(normalize(chunk))) if x[1] != FILLER)

    def _peek(self, tok: str) -> Info:
        found = self.cache.get(tok)
        return found if found is not None else self._compute(tok)

    def info(self, tok: str) -> Info:
        """Everything the matcher needs to know about one token (computed once, then cached)."""
        found = self.cache.get(tok)
        if found is not None:
            return found
        if len(self.cache) >= CACHE_LIMIT:
            self.cache.clear()
        found = self._compute(tok)
        self.cache[tok] = found
        return found

    def _compute(self, tok: str) -> Info:
        if tok in SENTENCE_MARKS:
            kind = SENTENCE
        elif tok in CLAUSE_MARKS or tok in self._breakers:
            kind = CLAUSE
        elif tok in FILLERS:
            return (tok, FILLER, frozenset(), (), 0, 0, 0, (), (), 0, ())
        elif tok in SYMBOLS:
            kind = SYMBOL
        elif is_emoji(tok):
            kind = EMOJI
        else:
            kind = WORD
        slots: set[int] = set(self._lit.get(tok, ()))
        size = len(tok)
        if tok[: self._stem_head] in self._stem_heads:
            stem = self._stem
            for n in self._stem_lengths:
                if n > size:
                    break
                found = stem.get(tok[:n])
                if found:
                    slots.update(found)
        if size >= self._suffix_tail and tok[-self._suffix_tail :] in self._suffix_tails:
            suffix = self._suffix
            for n in self._suffix_lengths:
                if n > size:
                    break
                found = suffix.get(tok[-n:])
                if found:
                    slots.update(found)
        value = parse_number_token(tok) if kind in (WORD, CLAUSE) else None
        if value is not None:
            for sid, lo, hi in self._num:
                if lo <= value <= hi:
                    slots.add(sid)
            temp = fahrenheit(value) if self._temp and tok[0].isdigit() else None
            if temp is not None:
                for sid, at_least in self._temp:
                    if temp >= at_least:
                        slots.add(sid)
        if kind == WORD and not slots and tok.isalpha():
            for word in self.variants.lookup(tok):
                slots.update(self._fuzzy_lit.get(word, ()))
        if tok in self._negation_words:
            slots.add(self._neg_slot)
        lang = 1 if tok in self._spanish else (-1 if tok in self._english else 0)
        neg = 1 if tok in self._negation_words else 0
        sent = 1 if kind == SENTENCE else 0
        spanish = self.spanish_bit if lang > 0 else 0
        if not slots:
            main: Cands = NUMBER_WORD if tok in _JOINABLE else ()  # type: ignore[assignment]
            return (tok, kind, _NO_SLOTS, main, lang, sent, neg, (), (), spanish, ())
        key = frozenset(slots)
        tiers = self._by_slots.get(key)
        if tiers is None:
            bit = self._need_bit
            mask = sum(bit[sid] for sid in slots if sid in bit)
            main, weak, cue = (self._candidates(t, slots) for t in (MAIN, WEAK_TIER, CUE_TIER))
            mask |= (self._tier_bit[WEAK_TIER] if weak else 0) | (self._tier_bit[CUE_TIER] if cue else 0)
            tiers = (main, weak, cue, mask)
            self._by_slots[key] = tiers
        main = NUMBER_WORD if tok in _JOINABLE else tiers[0]  # type: ignore[assignment]
        return (tok, kind, key, main, lang, sent, neg, tiers[1], tiers[2], tiers[3] | spanish, tiers[0])

    def _candidates(self, tier: int, slots: set[int]) -> Cands:
        single: list[int] = []
        longer: list[Candidate] = []
        for sid in sorted(slots):
            one, more = self._anchored[tier].get(sid, ((), ()))
            single.extend(one)
            longer.extend(more)
        if not single and not longer:
            return ()
        return (tuple(single), tuple(longer), reduce(or_, (c[3] for c in longer), 0), {})

    # ------------------------------------------------------------------ scanning

    def scan(
        self, infos: Sequence[Info], tier: int = MAIN, present: int = -1
    ) -> tuple[list[tuple[int, int, int]], int]:
        """Every phrase occurrence as (phrase id, first token, last token), and the message's mask.

        Only tokens that fill some phrase's anchor slot (its rarest word) are visited, picked
        out in C by ``compress``. One-word phrases hit at once. A longer phrase is skipped when
        a slot it needs is nowhere in the message (its mask bits are not all in ``present``,
        the OR of the tokens' masks, worked out on first need and returned for the next
        call; -1 = not yet; it also tells when no token anchors a cue or weak phrase at all);
        otherwise it is checked leftwards and rightwards from the anchor —
        an adjacent slot in the neighbouring token, a gapped slot in one of the next GAP + 1
        words of the same sentence (the nearest one; commas do not count as words). ``tier``
        picks the MAIN, CUE, WEAK or JOINED phrases; MAIN raises :class:`NeedNumbers` on a
        tens or hundreds word.
        """
        hits: list[tuple[int, int, int]] = []
        if present >= 0 and not present & self._tier_bit[tier] and tier in (CUE_TIER, WEAK_TIER):
            return hits, present  # no token anchors a phrase of this tier
        n = len(infos)
        # present: the OR of the tokens' masks, computed when a longer phrase first needs it (-1: not yet)
        for i in compress(count(), map(_TIER_GETTERS[tier], infos)):
            single, longer, used, memo = infos[i][tier]
            for pid in single:
                hits.append((pid, i, i))
            if not longer:
                continue
            if present < 0:
                present = reduce(or_, map(_MASK, infos))
            key = present & used
            passing = memo.get(key)
            if passing is None:
                # the phrases none of whose other words is missing from the message
                passing = tuple(c for c in longer if key & c[3] == c[3])
                if len(memo) >= MEMO_LIMIT:
                    memo.clear()
                memo[key] = passing
            for pid, left, right, _need in passing:
                # check leftwards from the anchor, then rightwards (inlined: this is the hot loop)
                pos = i
                for slot, gap in left:
                    if gap == 0:
                        pos -= 1
                        if pos < 0 or slot not in infos[pos][2]:
                            break
                    else:
                        j = pos - 1
                        lim = pos - 2 - gap
                        if lim < -1:
                            lim = -1
                        while j > lim:
                            y = infos[j]
                            if slot in y[2]:
                                break
                            if y[1] == SENTENCE:
                                j = lim
                                break
                            if y[0] in _PUNCT and lim > -1:
                                lim -= 1  # a comma does not count as a word in between
                            j -= 1
                        if j <= lim:
                            break
                        pos = j
                else:
                    start = pos
                    pos = i
                    for slot, gap in right:
                        if gap == 0:
                            pos += 1
                            if pos >= n or slot not in infos[pos][2]:
                                break
                        else:
                            j = pos + 1
                            lim = pos + 2 + gap
                            if lim > n:
                                lim = n
                            while j < lim:
                                y = infos[j]
                                if slot in y[2]:
                                    break
                                if y[1] == SENTENCE:
                                    j = lim
                                    break
                                if y[0] in _PUNCT and lim < n:
                                    lim += 1  # a comma does not count as a word in between
                                j += 1
                            if j >= lim:
                                break
                            pos = j
                    else:
                        hits.append((pid, start, pos))
        return hits, present


class _ChunkCache(dict[str, tuple[Info, ...]]):
    """White-space chunk → its token infos; a chunk seen for the first time is tokenised on the spot.

    ``chunks.__getitem__`` can then be mapped over a message in C. Bounded: emptied when full.
    """

    __slots__ = ("_matcher",)

    def __init__(self, matcher: Matcher) -> None:
        super().__init__()
        self._matcher = matcher

    def __missing__(self, chunk: str) -> tuple[Info, ...]:
        if len(self) >= CACHE_LIMIT:
            self.clear()
        found = self[chunk] = self._matcher.chunk_infos(chunk)
        return found


def _words(values: Iterable[str]) -> Iterable[str]:
    for v in values:
        yield from normalize(v).split()
