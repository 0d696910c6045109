"""Misspelling tolerance through tables built once from the rules' own words.

No per-message fuzzy search: the classifier asks :meth:`VariantTable.lookup` only the first
time it meets a token (the answer is cached with the token). Every lower-case word one edit
away from a rule word is worked out in advance (per first letter, on first need), so the
lookup is one dict probe (plus, rarely, a skeleton probe). What counts as a misspelling:

* one edit away from a rule word of five or more letters — a letter missing, added, or two
  neighbours swapped ("apointment", "refil", "bleding", "siezure", "breth"); a wrong letter
  only for rule words of six or more ("carla" is not "carta");
* two neighbouring letters swapped in a four-letter rule word — "pian" → "pain";
* the same consonant skeleton (vowels dropped, doubled letters collapsed) and the same first
  two letters as a rule word of seven or more letters — "swolowed" → "swallowed" (but
  "building" is not "bleeding").

A fuzzy match must keep the first letter, and everyday words that happen to sit one edit
from a rule word ("paid", "bills", "strike" …) are never bent into one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from string import ascii_lowercase

MIN_EDIT_LEN = 5
MIN_SUBSTITUTE_LEN = 6
MIN_SKELETON_KEY = 4
SWAP_LEN = 4
MIN_SKELETON_LEN = 7
MIN_SKELETON_TOKEN = 6

# Real words that are one edit (or one skeleton) away from a rule word; never "corrected".
NEVER_FUZZ = frozenset(
    """
    paid pair pan pains pin pine pint pun rain main gain vain chess cheat check chase chests
    bills kills fills hills mills wills polls pulls spills skills stills
    strike strikes stoke stroked striker blinding blending breed bread breads birth births
    wheeling feeling healing heeling reeling dealing sealing
    started starved startled stared stated
    bleating blasting boating beating betting
    choking cooking coking joking
    passed pasted posted
    sweating sweeping swearing
    swollen swallow
    seizes seized sizes
    faint feint paint saint
    cough couch touch tough
    blue blur glue clue
    shot shop shut slot spot
    dying dyeing drying eying
    refill
    confirm confirmed
    insure injure insurer
    moving mowing loving living
    breathe breath breaths breathes
    chest
    spelling sizing gaping
    """.split()  # noqa: SIM905 - a word list people can read
)

_VOWELS = frozenset("aeiouy")


def skeleton(word: str) -> str:
    """First letter, then the consonants with doubled letters collapsed: "swallowed" → "swlwd"."""
    if not word:
        return word
    out = [word[0]]
    for ch in word[1:]:
        if ch in _VOWELS or ch == out[-1]:
            continue
        out.append(ch)
    return "".join(out)


def _deletes(word: str) -> Iterable[str]:
    for i in range(len(word)):
        yield word[:i] + word[i + 1 :]


def _one_edit(word: str, substitute: bool) -> Iterator[str]:
    """Every string one edit from ``word`` with lower-case letters (may repeat; callers keep the first letter)."""
    n = len(word)
    for i in range(n):
        yield word[:i] + word[i + 1 :]  # a letter missing
        if i + 1 < n:
            yield word[:i] + word[i + 1] + word[i] + word[i + 2 :]  # two neighbours swapped
        if substitute:
            for c in ascii_lowercase:
                yield word[:i] + c + word[i + 1 :]  # a wrong letter
    for i in range(1, n + 1):
        for c in ascii_lowercase:
            yield word[:i] + c + word[i:]  # a letter added
    yield word[0] + word  # added in front: only a doubled first letter keeps it ("ppain")


def within_one_edit(a: str, b: str, *, substitute: bool = True) -> bool:
    """Damerau–Levenshtein distance ≤ 1 (one insert, delete, adjacent swap, or — if allowed — substitution)."""
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diffs = [i for i in range(la) if a[i] != b[i]]
        if not diffs:
            return True
        if len(diffs) == 1:
            return substitute
        if len(diffs) == 2:
            i, j = diffs
            return j == i + 1 and a[i] == b[j] and a[j] == b[i]
        return False
    if la > lb:
        a, b = b, a
        la, lb = lb, la
    i = 0
    while i < la and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1 :]


class VariantTable:
    """Precomputed misspelling tables for a set of rule words."""

    def __init__(self, words: Iterable[str]) -> None:
        self._deletes: dict[str, set[str]] = defaultdict(set)
        self._swaps: dict[str, str] = {}
        self._skeletons: dict[str, set[str]] = defaultdict(set)
        self.words: frozenset[str] = frozenset(w for w in words if w.isalpha() and w.isascii())
        for w in self.words:
            n = len(w)
            if n >= MIN_EDIT_LEN:
                self._deletes[w].add(w)
                for d in _deletes(w):
                    self._deletes[d].add(w)
            elif n == SWAP_LEN:
                for i in range(n - 1):
                    if w[i] != w[i + 1]:
                        self._swaps[w[:i] + w[i + 1] + w[i] + w[i + 2 :]] = w
            if n >= MIN_SKELETON_LEN and len(skeleton(w)) >= MIN_SKELETON_KEY:
                self._skeletons[skeleton(w)].add(w)
        self._deletes = dict(self._deletes)
        self._skeletons = dict(self._skeletons)
        self._skeleton_starts = frozenset(w[:2] for ws in self._skeletons.values() for w in ws)
        # first letter -> {every lower-case token with that first letter one edit (or, for four
        # letters, one swap) from a rule word: the rule words it stands for}; built per letter on
        # first need (a few ms each), so a short-lived classifier does not pay for all of them.
        self._near: dict[str, dict[str, tuple[str, ...]]] = {}

    def clear_caches(self) -> None:
        """Drop the per-letter tables (they are rebuilt on demand)."""
        self._near.clear()

    def _near_table(self, letter: str) -> dict[str, tuple[str, ...]]:
        """What :meth:`_lookup` finds before its skeleton step, for every token starting with ``letter``."""
        near: dict[str, set[str]] = defaultdict(set)
        for w in self.words:
            if len(w) >= MIN_EDIT_LEN and w[0] == letter:
                for t in _one_edit(w, len(w) >= MIN_SUBSTITUTE_LEN):
                    if t[0] == letter:
                        near[t].add(w)
        for t, w in self._swaps.items():
            if t[0] == letter:
                near[t].add(w)
        skip = self.words | NEVER_FUZZ
        interned: dict[tuple[str, ...], tuple[str, ...]] = {}
        table = {}
        for t, ws in near.items():
            if len(t) >= SWAP_LEN and t not in skip:
                found = tuple(sorted(ws))
                table[t] = interned.setdefault(found, found)
        self._near[letter] = table
        return table

    def lookup(self, token: str) -> tuple[str, ...]:
        """The rule words ``token`` is plausibly a misspelling of.

        Empty for exact rule words, everyday words that sit near one, and tokens too short to judge.
        """
        if token.isascii() and token.isalpha() and token.islower():
            # the tokenizer's words: one probe; the skeleton only for a token that starts like a long rule word
            table = self._near.get(token[0])
            if table is None:
                table = self._near_table(token[0])
            found = table.get(token)
            if found is not None:
                return found
            if (
                len(token) < MIN_SKELETON_TOKEN
                or token[:2] not in self._skeleton_starts
                or token in self.words
                or token in NEVER_FUZZ
            ):
                return ()
            return self._skeleton_lookup(token)
        return self._lookup(token)

    def _skeleton_lookup(self, token: str) -> tuple[str, ...]:
        skel = skeleton(token)
        if len(skel) < MIN_SKELETON_KEY:
            return ()
        return tuple(sorted(w for w in self._skeletons.get(skel, ()) if w[:2] == token[:2]))

    def _lookup(self, token: str) -> tuple[str, ...]:
        """The same answer for any other string, worked out from the delete tables."""
        if token in self.words or token in NEVER_FUZZ or not token.isalpha() or len(token) < SWAP_LEN:
            return ()
        found: set[str] = set()
        if len(token) >= MIN_EDIT_LEN - 1:
            table = self._deletes
            candidates: set[str] = set(table.get(token, ()))
            for i in range(len(token)):
                near = table.get(token[:i] + token[i + 1 :])
                if near:
                    candidates.update(near)
            for w in candidates:
                if w[0] == token[0] and within_one_edit(token, w, substitute=len(w) >= MIN_SUBSTITUTE_LEN):
                    found.add(w)
        if len(token) == SWAP_LEN:
            w = self._swaps.get(token)
            if w is not None:
                found.add(w)
        if not found and len(token) >= MIN_SKELETON_TOKEN:
            skel = skeleton(token)
            if len(skel) >= MIN_SKELETON_KEY:
                # the first two letters must agree too: "building" is not "bleeding"
                found.update(w for w in self._skeletons.get(skel, ()) if w[:2] == token[:2])
        return tuple(sorted(found))
