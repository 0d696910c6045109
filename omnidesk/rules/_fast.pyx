# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False, cdivision=True
"""The compiled hot path of :meth:`omnidesk.rules.classifier.Classifier.classify`.

``classifier.py`` is the definition: what a rule, a negation, a history phrase or an ``all_of``
group means is written there, in Python, and this module does the same steps on C arrays
(token slots, phrase parts, hit lists) instead of tuples, sets and dicts. The matcher still
compiles the rules and works out each new token (:meth:`Matcher._compute`, misspellings
included); this module copies that answer into a C struct the first time it meets the token.

``tests/rules/test_fast_parity.py`` runs both over every labelled case and thousands of
shuffled ones and requires the same :class:`Classification`, field for field. When this
module is not built (no C compiler) or was built from another version of this file, the
classifier uses the Python path and says so once (``omnidesk.rules.fast.status``).
"""

import collections
import functools

cimport cython
from cpython.ref cimport Py_INCREF, Py_XDECREF, PyObject
from cpython.unicode cimport (
    Py_UNICODE_ISSPACE,
    PyUnicode_DATA,
    PyUnicode_GET_LENGTH,
    PyUnicode_KIND,
    PyUnicode_READ,
    PyUnicode_Substring,
)
from libc.stdint cimport uint64_t
from libc.stdlib cimport calloc, free, malloc, realloc
from libc.string cimport memcmp, memcpy, memset

cdef extern from *:
    """
    #ifndef OMNIDESK_FAST_SOURCE
    #define OMNIDESK_FAST_SOURCE ""
    #endif
    """
    const char* OMNIDESK_FAST_SOURCE

# The SHA-256 of the .pyx this module was compiled from (set by setup.py): a stale build is refused.
SOURCE_SHA256 = OMNIDESK_FAST_SOURCE.decode("ascii")

# Token kinds, phrase owners and tiers: the same numbers as omnidesk.rules.matcher (checked at init).
cdef enum:
    K_WORD = 0
    K_SENTENCE = 1
    K_CLAUSE = 2
    K_EMOJI = 3
    K_SYMBOL = 4
    K_FILLER = 5

cdef enum:
    O_PATTERN = 0
    O_UNLESS = 1
    O_NEGATION = 2
    O_PSEUDO = 3
    O_HISTORY = 4
    O_RECURRENCE = 5
    O_NEGWORD = 6

cdef enum:
    T_MAIN = 0
    T_WEAK = 1
    T_CUE = 2
    T_JOINED = 3  # the main phrases again, for text read with spelled numbers joined

KINDS = (K_WORD, K_SENTENCE, K_CLAUSE, K_EMOJI, K_SYMBOL, K_FILLER)

from omnidesk.rules import matcher as _m

# The fields of the matcher's Info tuple (read once per new token).
cdef Py_ssize_t I_TOK = _m.TOK, I_KIND = _m.KIND, I_LANG = _m.LANG, I_SLOTS = _m.SLOTS, I_CANDS = _m.CANDS
cdef Py_ssize_t I_WEAK = _m.WEAK_CANDS, I_CUE = _m.CUE_CANDS, I_JOINED = _m.JOINED_CANDS
cdef object NUMBER_WORD = _m.NUMBER_WORD
from omnidesk.rules.text import ABBREVIATIONS, NUMBER_RUN_NEXT, NUMBER_RUN_START
OWNERS = (O_PATTERN, O_UNLESS, O_NEGATION, O_PSEUDO, O_HISTORY, O_RECURRENCE, O_NEGWORD)


cdef enum:
    RUN_START = 1
    RUN_NEXT = 2
    TITLE = 4
    STOP = 8


cdef struct Ref:  # a longer phrase anchored on a token
    int key    # its rarest other slot: a phrase whose key slot is nowhere in the message is skipped
    int key2   # and its next rarest (its key again when it has only one other slot)
    int pid


cdef struct CandsData:
    int nsingle
    int* single
    int nlonger
    Ref* longer


cdef struct TokData:
    int kind
    int lang
    int punct      # one of , : ( ) /  (does not count as a word inside a "..." gap)
    int numword    # a tens or hundreds word: the message needs the spelled-number path
    int numflags   # RUN_START / RUN_NEXT: may begin or continue a spelled number; TITLE: "dr", "mrs"...; STOP: "."
    int alnum
    int boundary   # a sentence or clause mark
    int nslots
    int* slots     # sorted
    int nneed      # the key bits of its slots (see FastClassifier.bit), as 64-bit words of the bitmap:
    int* need      # word indexes
    uint64_t* needmask  # and the bits in each
    CandsData* tier[4]


cdef class _Cands:
    cdef CandsData d

    def __dealloc__(self):
        free(self.d.single)
        free(self.d.longer)


@cython.no_gc  # holds only its text and its candidate lists: no cycles for the collector to find
cdef class _Tok:
    cdef TokData d
    cdef str text
    cdef object keep  # the _Cands objects d.tier points into

    def __dealloc__(self):
        free(self.d.slots)
        free(self.d.need)
        free(self.d.needmask)


cdef struct Hit:
    int pid
    int s
    int e


cdef struct RHit:   # a rule's hit: rule, all_of group (-1: a pattern), first and last token
    int r
    int g
    int s
    int e


cdef struct Span:
    int s
    int e


cdef struct Fired:
    int r
    int s
    int e
    int nspans     # 0: no all_of spans
    int span0      # index into the span pool


cdef struct Cover:  # an urgency phrase's leading words [a, b] and where it ends
    int r
    int a
    int b
    int end


cdef struct Buf:  # a growing array; it may start in a caller's stack array (heap = 0) and move to the heap
    void* data
    int n
    int cap
    int size
    int heap


cdef void* _grow(Buf* b) except NULL:
    cdef int cap
    cdef void* p
    if b.n >= b.cap:
        cap = b.cap * 2 if b.cap else 16
        if b.heap:
            p = realloc(b.data, <size_t>cap * b.size)
        else:
            p = malloc(<size_t>cap * b.size)
            if p != NULL and b.n:
                memcpy(p, b.data, <size_t>b.n * b.size)
        if p == NULL:
            raise MemoryError()
        b.data = p
        b.cap = cap
        b.heap = 1
    b.n += 1
    return <char*>b.data + <size_t>(b.n - 1) * b.size


cdef inline void _init(Buf* b, int size, void* stack=NULL, int cap=0) noexcept:
    """An empty array of ``size``-byte items, in ``stack`` (``cap`` items) until it outgrows it."""
    b.data = stack
    b.n = 0
    b.cap = cap
    b.size = size
    b.heap = 0


cdef inline void _release(Buf* b) noexcept:
    if b.heap:
        free(b.data)


cdef inline bint _space1(unsigned char c) noexcept:
    """White space as ``str.split()`` sees it, for a Latin-1 character."""
    return c == 32 or 9 <= c <= 13 or 28 <= c <= 31 or c == 0x85 or c == 0xA0


cdef inline bint _has(TokData* t, int slot) noexcept:
    cdef int i
    for i in range(t.nslots):
        if t.slots[i] >= slot:
            return t.slots[i] == slot
    return False


cdef int* _ints(object values) except? NULL:
    cdef Py_ssize_t n = len(values), i
    cdef int* out
    if n == 0:
        return NULL
    out = <int*>malloc(n * sizeof(int))
    if out == NULL:
        raise MemoryError()
    for i in range(n):
        out[i] = values[i]
    return out


cdef enum:
    SMALL = 32  # chunks of up to this many bytes (in their message's string kind) are compared in the entry


cdef struct Entry:  # one cache line
    uint64_t h
    PyObject* key    # the chunk (a str), NULL for an empty entry
    PyObject* value  # its tokens (a tuple of _Tok)
    int nbytes       # the chunk's length in bytes in the buffer it was found in (kind * code points)
    int kind
    char small[SMALL]  # those bytes, when they fit: no need to touch the key object


cdef inline bint _same(PyObject* key, int kind, const void* data, Py_ssize_t start, Py_ssize_t length) noexcept:
    cdef Py_ssize_t i
    cdef object k = <object>key
    if PyUnicode_GET_LENGTH(k) != length:
        return False
    if PyUnicode_KIND(k) == kind:
        return memcmp(PyUnicode_DATA(k), <const char*>data + start * kind, length * kind) == 0
    for i in range(length):
        if PyUnicode_READ(PyUnicode_KIND(k), PyUnicode_DATA(k), i) != PyUnicode_READ(kind, data, start + i):
            return False
    return True


cdef class _ChunkTable:
    """White-space chunk -> its tokens, found from the message's own buffer (no substring, no SipHash).

    Open addressing with FNV-1a over the code points; emptied when it holds ``limit`` chunks.
    """
    cdef Entry* e
    cdef Py_ssize_t mask
    cdef Py_ssize_t used
    cdef Py_ssize_t limit

    def __cinit__(self, Py_ssize_t limit):
        self.limit = limit
        self._alloc(1024)

    cdef int _alloc(self, Py_ssize_t cap) except -1:
        self.e = <Entry*>calloc(cap, sizeof(Entry))
        if self.e == NULL:
            raise MemoryError()
        self.mask = cap - 1
        self.used = 0
        return 0

    cdef void _release(self):
        cdef Py_ssize_t i
        if self.e == NULL:
            return
        for i in range(self.mask + 1):
            if self.e[i].key != NULL:
                Py_XDECREF(self.e[i].key)
                Py_XDECREF(self.e[i].value)
        free(self.e)
        self.e = NULL

    def __dealloc__(self):
        self._release()

    cdef int clear(self) except -1:
        self._release()
        return self._alloc(1024)

    cdef inline PyObject* get(self, uint64_t h, int kind, const void* data, Py_ssize_t start, Py_ssize_t length) noexcept:
        cdef Py_ssize_t i = <Py_ssize_t>(h & <uint64_t>self.mask)
        cdef Py_ssize_t nbytes = length * kind
        cdef Entry* e
        while self.e[i].key != NULL:
            e = self.e + i
            if e.h == h:
                if nbytes <= SMALL and e.kind == kind and e.nbytes == nbytes:
                    if memcmp(e.small, <const char*>data + start * kind, nbytes) == 0:
                        return e.value
                elif _same(e.key, kind, data, start, length):
                    return e.value
            i = (i + 1) & self.mask
        return NULL

    cdef int put(
        self, uint64_t h, object key, object value, int kind, const void* data, Py_ssize_t start, Py_ssize_t length
    ) except -1:
        """Remember ``key`` (found in ``data`` of ``kind`` at ``start``) and its tokens."""
        cdef Entry* old
        cdef Py_ssize_t i, cap
        if self.used >= self.limit:
            self.clear()
        if (self.used + 1) * 2 > self.mask + 1:
            old = self.e
            cap = self.mask + 1
            self._alloc(cap * 2)
            for i in range(cap):
                if old[i].key != NULL:
                    self._insert(old[i].h, old[i].key, old[i].value)[0] = old[i]
            free(old)
        Py_INCREF(key)
        Py_INCREF(value)
        cdef Entry* e = self._insert(h, <PyObject*>key, <PyObject*>value)
        e.kind = kind
        e.nbytes = <int>(length * kind)
        if e.nbytes <= SMALL:
            memcpy(e.small, <const char*>data + start * kind, e.nbytes)
        return 0

    cdef Entry* _insert(self, uint64_t h, PyObject* key, PyObject* value):
        cdef Py_ssize_t i = <Py_ssize_t>(h & <uint64_t>self.mask)
        while self.e[i].key != NULL:
            i = (i + 1) & self.mask
        self.e[i].h = h
        self.e[i].key = key
        self.e[i].value = value
        self.used += 1
        return self.e + i


@cython.no_gc
cdef class Message:
    """One message's tokens as C structs (kept alive by ``parts``)."""
    cdef list parts
    cdef TokData** t
    cdef PyObject** obj
    cdef uint64_t* present  # one bit per key slot filled by some token of the message
    cdef int n
    cdef int body_len

    def __dealloc__(self):
        free(self.t)  # one block: t, obj, then present


cdef class FastClassifier:
    """The C-array form of one :class:`~omnidesk.rules.matcher.Matcher` and its rules."""

    cdef object matcher
    cdef object chunk_infos
    cdef dict whole
    cdef dict toks
    cdef _ChunkTable chunks
    cdef tuple dot
    cdef int* bit  # per slot: its bit in a message's key-slot bitmap, or -1 when it is no phrase's key
    cdef int nwords  # 64-bit words in that bitmap
    cdef dict cands
    cdef int cache_limit
    cdef int negation_window
    cdef int whole_max
    cdef _Tok sent_tok
    # per phrase
    cdef int nphrases
    cdef int* okind
    cdef int* orule
    cdef int* ogroup
    cdef int* lead
    cdef int* loff
    cdef int* llen
    cdef int* roff
    cdef int* rlen
    cdef int* pslot
    cdef int* pgap
    cdef int* key  # per phrase: its two rarest other slots (-1: a one-word phrase)
    cdef int* key2
    cdef int nslots
    # per rule
    cdef int nrules
    cdef int* rank
    cdef int* rint     # the intent a rule sets (an urgency rule: the intent it implies, or -1)
    cdef int* weakr
    cdef list rule_ids
    cdef list sets_names
    # composing the answer
    cdef int nint, general, clinical, routine, emergency
    cdef list intent_names
    cdef unsigned char* sup       # sup[i * nint + j]: intent i removes intent j
    cdef unsigned char* has_sup
    cdef object fallback
    cdef tuple fallback_part
    cdef dict classifications
    cdef object intern
    cdef int* urg
    cdef int* rem
    cdef int* negatable
    cdef int* hist
    cdef int* groups
    cdef int* msgscope
    cdef int* implies

    def __init__(self, classifier, int negation_window, int whole_max, int cache_limit):
        from omnidesk.rules import matcher as m

        if (m.WORD, m.SENTENCE, m.CLAUSE, m.EMOJI, m.SYMBOL, m.FILLER) != KINDS or (
            m.PATTERN, m.UNLESS, m.NEGATION, m.PSEUDO, m.HISTORY, m.RECURRENCE, m.NEGWORD
        ) != OWNERS:
            raise RuntimeError("omnidesk.rules._fast does not match omnidesk.rules.matcher (rebuild it)")
        matcher = classifier.matcher
        self.matcher = matcher
        self.chunk_infos = functools.partial(matcher.chunk_infos, remember=False)  # this module keeps its own
        self.whole = dict(matcher.whole)
        self.toks = {}
        self.chunks = _ChunkTable(cache_limit)
        self.cands = {}
        self.cache_limit = cache_limit
        self.negation_window = negation_window
        self.whole_max = whole_max
        owners = classifier._owners
        n = len(owners)
        self.nphrases = n
        self.okind = _ints([o[0] for o in owners])
        self.orule = _ints([o[1] for o in owners])
        self.ogroup = _ints([o[2] for o in owners])
        self.lead = _ints(classifier._lead)
        # each longer phrase has one anchor: its left part (read leftwards) and right part
        left = [()] * n
        right = [()] * n
        for tier in (m.MAIN, m.WEAK_TIER, m.CUE_TIER):
            for _sid, (_one, more) in matcher._anchored[tier].items():
                for pid, lp, rp, _need in more:
                    left[pid] = lp
                    right[pid] = rp
        slots, gaps, loff, llen, roff, rlen = [], [], [], [], [], []
        for pid in range(n):
            loff.append(len(slots))
            llen.append(len(left[pid]))
            for sl, gp in left[pid]:
                slots.append(sl)
                gaps.append(gp)
            roff.append(len(slots))
            rlen.append(len(right[pid]))
            for sl, gp in right[pid]:
                slots.append(sl)
                gaps.append(gp)
        weight = {}
        keys, keys2 = [], []
        for pid in range(n):
            others = {sl for sl, _gp in (*left[pid], *right[pid])}
            for sl in others:
                if sl not in weight:
                    weight[sl] = (matcher._slot_weight(sl), sl)
            others = sorted(others, key=weight.__getitem__)
            keys.append(others[0] if others else -1)
            keys2.append(others[1] if len(others) > 1 else (others[0] if others else -1))
        # Key slots get bits grouped by their most widely shared word, so that a common word's many
        # key slots ("my" is in dozens of word lists) fall in a few 64-bit words of the bitmap.
        specs = matcher._slot_specs
        keyed = sorted({sl for sl in keys + keys2 if sl >= 0})
        shared = collections.Counter(word for sl in keyed for word in specs[sl])
        lead = {sl: max(specs[sl], key=lambda word: (shared[word], word)) for sl in keyed}
        keyed.sort(key=lambda sl: (-shared[lead[sl]], lead[sl], sl))
        bits = [-1] * len(specs)
        for b, sl in enumerate(keyed):
            bits[sl] = b
        self.bit = _ints(bits)
        self.nwords = (len(keyed) >> 6) + 1
        self.key = _ints([bits[k] if k >= 0 else -1 for k in keys])
        self.key2 = _ints([bits[k] if k >= 0 else -1 for k in keys2])
        self.nslots = len(specs)
        self.loff = _ints(loff)
        self.llen = _ints(llen)
        self.roff = _ints(roff)
        self.rlen = _ints(rlen)
        self.pslot = _ints(slots)
        self.pgap = _ints(gaps)
        self.nrules = len(classifier.rules)
        self.urg = _ints([int(x) for x in classifier._urg])
        self.rem = _ints([int(x) for x in classifier._rem])
        self.negatable = _ints([int(x) for x in classifier._neg])
        self.hist = _ints([int(x) for x in classifier._hist])
        self.groups = _ints(classifier._groups)
        self.msgscope = _ints([int(x) for x in classifier._msg_scope])
        self.implies = _ints([int(x) for x in classifier._implies])
        comp = classifier.compose_tables()
        names = comp["intents"]
        if len(names) > 32:
            raise RuntimeError("omnidesk.rules._fast handles at most 32 intents")
        index = {name: i for i, name in enumerate(names)}
        self.intent_names = list(names)
        self.nint = len(names)
        self.general = index[comp["general"]]
        self.clinical = index[comp["clinical"]]
        self.routine = comp["routine"]
        self.emergency = comp["emergency"]
        self.rank = _ints(classifier._rank)
        self.rint = _ints([
            (index[i] if i is not None else -1) if u else index[st]
            for u, i, st in zip(classifier._urg, classifier._intent, classifier._sets)
        ])
        self.weakr = _ints([int(x) for x in classifier._weak])
        self.rule_ids = list(classifier._ids)
        self.sets_names = list(classifier._sets)
        self.sup = <unsigned char*>calloc(self.nint * self.nint + 1, 1)
        self.has_sup = <unsigned char*>calloc(self.nint + 1, 1)
        if self.sup == NULL or self.has_sup == NULL:
            raise MemoryError()
        for name, gone in comp["suppress"].items():
            if name in index:
                for other in gone:
                    if other in index:
                        self.sup[index[name] * self.nint + index[other]] = 1
                        self.has_sup[index[name]] = 1
        self.fallback = comp["fallback"]
        self.fallback_part = comp["fallback_part"]
        self.classifications = comp["classifications"]
        self.intern = comp["intern"]
        self.sent_tok = self._tok(matcher.info("."))
        self.dot = self._learn(".")

    def __dealloc__(self):
        free(self.okind); free(self.orule); free(self.ogroup); free(self.lead)
        free(self.key); free(self.key2); free(self.bit)
        free(self.loff); free(self.llen); free(self.roff); free(self.rlen); free(self.pslot); free(self.pgap)
        free(self.urg); free(self.rem); free(self.negatable); free(self.hist); free(self.groups)
        free(self.msgscope); free(self.implies)
        free(self.rank); free(self.rint); free(self.weakr); free(self.sup); free(self.has_sup)

    def clear_caches(self):
        """Forget the tokens and chunks seen so far (the matcher's caches are cleared by the caller)."""
        self.toks.clear()
        self.chunks.clear()
        self.cands.clear()
        self.sent_tok = self._tok(self.matcher.info("."))
        self.dot = self._learn(".")

    # ------------------------------------------------------------------ tokens

    cdef _Cands _cands(self, int tier, object slots, object py):
        cdef _Cands c
        if not py:
            return None
        key = (tier, slots)
        c = self.cands.get(key)
        if c is not None:
            return c
        c = _Cands()
        c.d.nsingle = len(py[0])
        c.d.single = _ints(py[0])
        c.d.nlonger = len(py[1])
        c.d.longer = <Ref*>malloc((c.d.nlonger + 1) * sizeof(Ref))
        if c.d.longer == NULL:
            raise MemoryError()
        for i, x in enumerate(py[1]):
            pid = x[0]
            c.d.longer[i].pid = pid
            c.d.longer[i].key = self.key[pid]
            c.d.longer[i].key2 = self.key2[pid]
        self.cands[key] = c
        return c

    cdef _Tok _tok(self, tuple info):
        cdef _Tok t
        text = info[I_TOK]
        t = self.toks.get(text)
        if t is not None:
            return t
        t = _Tok()
        t.text = text
        t.d.kind = info[I_KIND]
        t.d.lang = info[I_LANG]
        t.d.punct = text in ",:()/"
        t.d.alnum = text.isalnum()
        t.d.boundary = t.d.kind == K_SENTENCE or t.d.kind == K_CLAUSE
        slots = info[I_SLOTS]
        t.d.nslots = len(slots)
        t.d.slots = _ints(sorted(slots))
        words = {}
        for sl in slots:
            b = self.bit[<int>sl]
            if b >= 0:
                words[b >> 6] = words.get(b >> 6, 0) | (1 << (b & 63))
        t.d.nneed = len(words)
        t.d.need = _ints(sorted(words))
        t.d.needmask = <uint64_t*>malloc((len(words) + 1) * sizeof(uint64_t))
        if t.d.needmask == NULL:
            raise MemoryError()
        for i, w in enumerate(sorted(words)):
            t.d.needmask[i] = words[w]
        main = info[I_CANDS]
        t.d.numword = main is NUMBER_WORD
        t.d.numflags = (
            (RUN_START if text in NUMBER_RUN_START else 0)
            | (RUN_NEXT if text in NUMBER_RUN_NEXT else 0)
            | (TITLE if text in ABBREVIATIONS else 0)
            | (STOP if text == "." else 0)
        )
        joined = self._cands(T_MAIN, slots, info[I_JOINED])
        cands = (
            None if t.d.numword else joined,
            self._cands(T_WEAK, slots, info[I_WEAK]),
            self._cands(T_CUE, slots, info[I_CUE]),
            joined,
        )
        t.keep = cands
        for i in range(4):
            t.d.tier[i] = NULL if cands[i] is None else &(<_Cands>cands[i]).d
        if len(self.toks) >= self.cache_limit:
            self.toks.clear()
        self.toks[text] = t
        return t

    cdef tuple _learn(self, str chunk):
        """A chunk seen for the first time: the matcher's tokens for it, as _Tok structs."""
        return tuple([self._tok(x) for x in self.chunk_infos(chunk)])

    cdef int _split(self, str text, list parts) except -1:
        """Append the token tuple of each white-space chunk of ``text``; return how many tokens.

        Like ``text.replace("\\n", " . ").split()``: a line break is a sentence end.
        """
        cdef int kind = PyUnicode_KIND(text)
        cdef const void* data = PyUnicode_DATA(text)
        cdef Py_ssize_t size = PyUnicode_GET_LENGTH(text), i = 0, start
        cdef Py_UCS4 ch
        cdef uint64_t h
        cdef PyObject* found
        cdef int n = 0
        cdef tuple part
        cdef const unsigned char* b = <const unsigned char*>data
        while i < size:
            ch = b[i] if kind == 1 else PyUnicode_READ(kind, data, i)
            if (_space1(<unsigned char>ch) if kind == 1 else Py_UNICODE_ISSPACE(ch)):
                if ch == 10:
                    parts.append(self.dot)
                    n += 1
                i += 1
                continue
            start = i
            h = 14695981039346656037ULL
            if kind == 1:  # Latin-1 text (most messages): read the bytes
                while i < size and not _space1(b[i]):
                    h = (h ^ b[i]) * 1099511628211ULL
                    i += 1
            else:
                while i < size:
                    ch = PyUnicode_READ(kind, data, i)
                    if Py_UNICODE_ISSPACE(ch):
                        break
                    h = (h ^ <uint64_t>ch) * 1099511628211ULL
                    i += 1
            h ^= h >> 29  # FNV's low bits are weak: mix before the table masks them
            h *= 0xBF58476D1CE4E5B9ULL
            h ^= h >> 32
            found = self.chunks.get(h, kind, data, start, i - start)
            if found == NULL:
                chunk = PyUnicode_Substring(text, start, i)
                part = self._learn(chunk)
                self.chunks.put(h, chunk, part, kind, data, start, i - start)
            else:
                part = <tuple>found
            if len(part):
                parts.append(part)
                n += len(part)
        return n

    cdef bint _joins_numbers(self, Message msg) noexcept:
        """Could the matcher's spelled-number reading differ from these tokens?

        Only where two number words (or "a hundred", "twenty and", "ten point") meet, or where a
        title's full stop starts a chunk ("Dr ."), which that reading drops. Otherwise the tokens
        are the same and only the tier of the main scan changes (number words get their phrases).
        """
        cdef int i
        for i in range(1, msg.n):
            if (msg.t[i - 1].numflags & RUN_START and msg.t[i].numflags & RUN_NEXT) or (
                msg.t[i].numflags & STOP and msg.t[i - 1].numflags & TITLE
            ):
                return True
        return False

    cdef Message _message_with_numbers(self, str body, object subject):
        """Like :meth:`_message`, for text with a spelled number: the matcher joins "treinta y ocho" first."""
        joined = self.matcher.infos_with_numbers
        parts = [tuple([self._tok(x) for x in joined(body)])]
        body_len = len(parts[0])
        if subject:
            sub = tuple([self._tok(x) for x in joined(subject)])
            if sub:
                parts.append(self.dot)
                parts.append(sub)
        return self._fill(parts, body_len)

    cdef Message _message(self, str body, object subject):
        """The message's tokens: the body's, then (after a sentence end) the subject's."""
        cdef list parts = []
        cdef list sub
        cdef int n, body_len, sn
        n = self._split(body, parts)
        body_len = n
        if subject:
            sub = []
            sn = self._split(subject, sub)
            if sn:
                parts.append(self.dot)
                parts.extend(sub)
                n += sn + 1
        return self._fill(parts, body_len)

    cdef Message _fill(self, list parts, int body_len):
        """The message's token structs, in order, from its chunks' token tuples."""
        cdef Message msg = Message()
        cdef int n = 0, k, i, x, sl
        cdef tuple part
        cdef TokData* d
        for part in parts:
            n += len(part)
        msg.parts = parts
        msg.n = n
        msg.body_len = body_len
        cdef size_t bitmap = self.nwords * sizeof(uint64_t)
        cdef char* block = <char*>malloc((n + 1) * (sizeof(TokData*) + sizeof(PyObject*)) + bitmap)
        if block == NULL:
            raise MemoryError()
        msg.t = <TokData**>block
        msg.obj = <PyObject**>(block + (n + 1) * sizeof(TokData*))
        msg.present = <uint64_t*>(block + (n + 1) * (sizeof(TokData*) + sizeof(PyObject*)))
        memset(msg.present, 0, bitmap)
        k = 0
        for part in parts:
            for i in range(len(part)):
                msg.obj[k] = <PyObject*>part[i]
                d = &(<_Tok>part[i]).d
                msg.t[k] = d
                for x in range(d.nneed):
                    msg.present[d.need[x]] |= d.needmask[x]
                k += 1
        return msg

    # ------------------------------------------------------------------ scanning

    cdef int _scan(self, Message msg, int tier, Buf* out) except -1:
        """Every phrase of ``tier`` found in the message, as :meth:`Matcher.scan` finds them."""
        cdef TokData** t = msg.t
        cdef uint64_t* present = msg.present
        cdef int n = msg.n
        cdef int i, k, pid, pos, start, j, lim, x, slot, gap, ok
        cdef CandsData* c
        cdef Ref* ref
        cdef Hit* h
        cdef TokData* y
        for i in range(n):
            c = t[i].tier[tier]
            if c == NULL:
                continue
            for k in range(c.nsingle):
                h = <Hit*>_grow(out)
                h.pid = c.single[k]
                h.s = i
                h.e = i
            for k in range(c.nlonger):
                ref = c.longer + k
                slot = ref.key
                if not (present[slot >> 6] >> (slot & 63)) & 1:
                    continue  # its rarest other word is nowhere in the message
                slot = ref.key2
                if not (present[slot >> 6] >> (slot & 63)) & 1:
                    continue
                pid = ref.pid
                ok = 1
                pos = i
                for x in range(self.loff[pid], self.loff[pid] + self.llen[pid]):
                    slot = self.pslot[x]
                    gap = self.pgap[x]
                    if gap == 0:
                        pos -= 1
                        if pos < 0 or not _has(t[pos], slot):
                            ok = 0
                            break
                    else:
                        j = pos - 1
                        lim = pos - 2 - gap
                        if lim < -1:
                            lim = -1
                        while j > lim:
                            y = t[j]
                            if _has(y, slot):
                                break
                            if y.kind == K_SENTENCE:
                                j = lim
                                break
                            if y.punct and lim > -1:
                                lim -= 1
                            j -= 1
                        if j <= lim:
                            ok = 0
                            break
                        pos = j
                if not ok:
                    continue
                start = pos
                pos = i
                for x in range(self.roff[pid], self.roff[pid] + self.rlen[pid]):
                    slot = self.pslot[x]
                    gap = self.pgap[x]
                    if gap == 0:
                        pos += 1
                        if pos >= n or not _has(t[pos], slot):
                            ok = 0
                            break
                    else:
                        j = pos + 1
                        lim = pos + 2 + gap
                        if lim > n:
                            lim = n
                        while j < lim:
                            y = t[j]
                            if _has(y, slot):
                                break
                            if y.kind == K_SENTENCE:
                                j = lim
                                break
                            if y.punct and lim < n:
                                lim += 1
                            j += 1
                        if j >= lim:
                            ok = 0
                            break
                        pos = j
                if ok:
                    h = <Hit*>_grow(out)
                    h.pid = pid
                    h.s = start
                    h.e = pos
        return 0

    # ------------------------------------------------------------------ classifying

    def run(self, str body, object subject, bint reply_subject, bint reminder_reply):
        """The Classification of lower-cased text (``Classifier.classify`` strips quotes and the reply prefix)."""
        cdef Message msg = self._message(body, subject)
        cdef int i, main = T_MAIN
        for i in range(msg.n):
            if msg.t[i].numword:  # "twenty", "cien": the matcher reads such text with spelled numbers joined
                main = T_JOINED
                if self._joins_numbers(msg):  # "a hundred and three": it would join some here
                    msg = self._message_with_numbers(body, subject)
                break
        cdef Buf hits, fired, spans
        cdef Hit hits0[128]
        cdef Fired fired0[16]
        cdef Span spans0[16]
        cdef int work0[3 * 128 + 1]
        _init(&hits, sizeof(Hit), hits0, 128)
        _init(&fired, sizeof(Fired), fired0, 16)
        _init(&spans, sizeof(Span), spans0, 16)
        cdef int* work = NULL
        try:
            self._scan(msg, main, &hits)
            whole = self._whole(msg) if msg.body_len <= self.whole_max else None
            if hits.n == 0 and not whole:
                for i in range(msg.n):
                    if msg.t[i].tier[T_WEAK] != NULL:
                        break
                else:
                    return self.fallback
            # per token: sentence number, negation end, blocked (pseudo-negation) flags
            work = &work0[0] if msg.n <= 128 else <int*>malloc((3 * msg.n + 1) * sizeof(int))
            if work == NULL:
                raise MemoryError()
            self._decide(msg, &hits, whole, reply_subject, reminder_reply, work, &fired, &spans)
            if fired.n == 0:
                return self.fallback
            return self._compose(msg, &fired, &spans)
        finally:
            _release(&hits)
            _release(&fired)
            _release(&spans)
            if work != &work0[0]:
                free(work)

    cdef object _whole(self, Message msg):
        cdef int i
        cdef _Tok t
        words = []
        for i in range(msg.body_len):
            t = <_Tok>msg.obj[i]
            if t.d.kind != K_EMOJI and t.d.alnum:
                words.append(t.text)
        if not words:
            for i in range(msg.body_len):
                t = <_Tok>msg.obj[i]
                if t.d.kind == K_EMOJI and t.text not in words:
                    words.append(t.text)
        elif len(words) > 1 and len(set(words)) == 1:
            words = words[:1]
        return self.whole.get(" ".join(words)) if words else None

    cdef int _decide(self, Message msg, Buf* hits, object whole, bint reply_subject, bint reminder_reply,
                     int* work, Buf* fired, Buf* spans) except -1:
        """:meth:`Classifier._decide` up to the list of rules that fire."""
        cdef int n = msg.n, body_len = msg.body_len
        cdef TokData** t = msg.t
        cdef int* sent = work
        cdef int* neg_end = work + n
        cdef int* blocked = work + 2 * n
        cdef Buf ph, unl, negs, cov, cues, hist, recur, weak
        cdef int i, k, pid, kind, r, g, any_negation = 0, needs_history = 0, neg_word = 0, has_neg = 0
        cdef int has_cues = 0, has_history = 0
        cdef Hit* h
        cdef RHit* rh
        cdef Span* sp
        cdef Cover* cv
        cdef int s, e, a, b, ok
        cdef RHit ph0[64]
        cdef Span unl0[16]
        cdef Span negs0[16]
        cdef Cover cov0[16]
        cdef Hit cues0[16]
        cdef int hist0[8]
        cdef int recur0[8]
        cdef RHit weak0[16]
        _init(&ph, sizeof(RHit), ph0, 64)
        _init(&unl, sizeof(Span), unl0, 16)
        _init(&negs, sizeof(Span), negs0, 16)
        _init(&cov, sizeof(Cover), cov0, 16)
        _init(&cues, sizeof(Hit), cues0, 16)
        _init(&hist, sizeof(int), hist0, 8)
        _init(&recur, sizeof(int), recur0, 8)
        _init(&weak, sizeof(RHit), weak0, 16)
        try:
            k = 0
            for i in range(n):
                k += t[i].kind == K_SENTENCE
                sent[i] = k
                neg_end[i] = 0
                blocked[i] = 0
            for i in range(hits.n):
                h = <Hit*>hits.data + i
                kind = self.okind[h.pid]
                r = self.orule[h.pid]
                if kind == O_PATTERN:
                    if self.rem[r] and not reminder_reply:
                        continue
                    if reply_subject and h.s >= body_len and not self.urg[r]:
                        continue
                    if self.hist[r]:
                        needs_history = 1
                    rh = <RHit*>_grow(&ph)
                    rh.r = r
                    rh.g = self.ogroup[h.pid]
                    rh.s = h.s
                    rh.e = h.e
                    if h.e > h.s and self.urg[r]:
                        cv = <Cover*>_grow(&cov)
                        cv.r = r
                        cv.a = h.s
                        cv.b = h.e if h.e < h.s + self.lead[h.pid] - 1 else h.s + self.lead[h.pid] - 1
                        cv.end = h.e
                elif kind == O_UNLESS:
                    sp = <Span*>_grow(&unl)
                    sp.s = r
                    sp.e = h.s
                else:
                    sp = <Span*>_grow(&negs)
                    sp.s = h.s
                    sp.e = h.e
                    has_neg = 1
                    if kind == O_NEGWORD:
                        neg_word = 1
            if has_neg:
                # raw negation ends (nothing blocked yet): is any negatable hit negated at all?
                for i in range(negs.n):
                    neg_end[(<Span*>negs.data + i).e] = 1
                for i in range(ph.n):
                    rh = <RHit*>ph.data + i
                    if self.negatable[rh.r] and self._negated(t, rh.s, neg_end, blocked, NULL, 0):
                        any_negation = 1
                        break
                memset(neg_end, 0, n * sizeof(int))
            if any_negation or needs_history:
                has_cues = 1
                self._scan(msg, T_CUE, &cues)
                for i in range(cues.n):
                    h = <Hit*>cues.data + i
                    kind = self.okind[h.pid]
                    if kind == O_PSEUDO:
                        for k in range(h.s, h.e + 1):
                            blocked[k] = 1
                    elif kind == O_HISTORY:
                        (<int*>_grow(&hist))[0] = h.s
                        has_history = 1
                    else:
                        (<int*>_grow(&recur))[0] = h.s
            if reply_subject:
                # "Re: chest pain" over "no more chest pain": the body has the last word on its own rule
                for i in range(ph.n):
                    rh = <RHit*>ph.data + i
                    if rh.s >= body_len and rh.r >= 0:
                        for k in range(ph.n):
                            if (<RHit*>ph.data + k).r == rh.r and (<RHit*>ph.data + k).s < body_len:
                                break
                        else:
                            continue
                        r = rh.r
                        for k in range(ph.n):
                            if (<RHit*>ph.data + k).r == r and (<RHit*>ph.data + k).s >= body_len:
                                (<RHit*>ph.data + k).g = -2  # dropped
            for i in range(negs.n):
                sp = <Span*>negs.data + i
                ok = 1
                for k in range(sp.s, sp.e + 1):
                    if blocked[k]:
                        ok = 0
                        break
                if ok:
                    neg_end[sp.e] = 1
            self._whole_fired(whole, body_len, reminder_reply, fired)
            self._evaluate(t, &ph, any_negation, neg_end, blocked, &unl, has_history, &hist, &recur, sent,
                           NULL, 0, fired, spans)
            if cov.n and any_negation:
                # a second reading with the leading words of each firing urgency phrase as shields
                shields = []
                for i in range(fired.n):
                    r = (<Fired*>fired.data + i).r
                    for k in range(cov.n):
                        cv = <Cover*>cov.data + k
                        if cv.r == r:
                            shields.append((cv.a, cv.b, cv.end))
                if shields:
                    cv = <Cover*>malloc(len(shields) * sizeof(Cover))
                    if cv == NULL:
                        raise MemoryError()
                    try:
                        for i, (a, b, e) in enumerate(shields):
                            cv[i].a = a
                            cv[i].b = b
                            cv[i].end = e
                        fired.n = 0
                        spans.n = 0
                        self._whole_fired(whole, body_len, reminder_reply, fired)
                        self._evaluate(t, &ph, any_negation, neg_end, blocked, &unl, has_history, &hist, &recur,
                                       sent, cv, len(shields), fired, spans)
                        self._weak(msg, fired, spans, any_negation, neg_word, neg_end, blocked, &unl,
                                   has_history, &hist, &recur, sent, cv, len(shields), reply_subject, &weak)
                    finally:
                        free(cv)
                    return 0
            self._weak(msg, fired, spans, any_negation, neg_word, neg_end, blocked, &unl,
                       has_history, &hist, &recur, sent, NULL, 0, reply_subject, &weak)
            return 0
        finally:
            _release(&ph)
            _release(&unl)
            _release(&negs)
            _release(&cov)
            _release(&cues)
            _release(&hist)
            _release(&recur)
            _release(&weak)

    cdef int _weak(self, Message msg, Buf* fired, Buf* spans, int any_negation, int neg_word, int* neg_end,
                   int* blocked, Buf* unl, int has_history, Buf* hist, Buf* recur, int* sent, Cover* shields,
                   int nshields, bint reply_subject, Buf* weak) except -1:
        """Weak rules, when no rule that fired says what the patient wants."""
        cdef int i, k
        cdef Buf cues, hits
        cdef Hit* h
        cdef RHit* rh
        for i in range(fired.n):
            if self.implies[(<Fired*>fired.data + i).r]:
                return 0
        cdef Hit cues0[16]
        cdef Hit hits0[16]
        _init(&cues, sizeof(Hit), cues0, 16)
        _init(&hits, sizeof(Hit), hits0, 16)
        try:
            if not any_negation and neg_word:
                # a negation may cancel a weak hit ("no fever"): look for pseudo-negations after all
                any_negation = 1
                self._scan(msg, T_CUE, &cues)
                for i in range(cues.n):
                    h = <Hit*>cues.data + i
                    if self.okind[h.pid] == O_PSEUDO:
                        for k in range(h.s, h.e + 1):
                            blocked[k] = 1
            self._scan(msg, T_WEAK, &hits)
            for i in range(hits.n):
                h = <Hit*>hits.data + i
                if reply_subject and h.s >= msg.body_len:
                    continue
                rh = <RHit*>_grow(weak)
                rh.r = self.orule[h.pid]
                rh.g = self.ogroup[h.pid]
                rh.s = h.s
                rh.e = h.e
            if weak.n:
                self._evaluate(msg.t, weak, any_negation, neg_end, blocked, unl, has_history, hist, recur, sent,
                               shields, nshields, fired, spans)
            return 0
        finally:
            _release(&cues)
            _release(&hits)

    cdef void _whole_fired(self, object whole, int body_len, bint reminder_reply, Buf* fired) except *:
        cdef Fired* f
        if not whole:
            return
        for r in whole:
            if not self.rem[<int>r] or reminder_reply:
                f = <Fired*>_grow(fired)
                f.r = r
                f.s = 0
                f.e = body_len - 1
                f.nspans = 0
                f.span0 = 0

    cdef bint _negated(self, TokData** t, int start, int* neg_end, int* blocked, Cover* shields, int nshields) noexcept:
        """A negation ends at most NEGATION_WINDOW tokens before ``start``, in the same clause."""
        cdef int k = start - 1, stop = start - self.negation_window, x
        cdef bint shielded
        if stop < 0:
            stop = 0
        while k >= stop:
            if t[k].boundary:
                return False
            if neg_end[k] and not blocked[k]:
                shielded = False
                for x in range(nshields):
                    if shields[x].end < start and shields[x].a <= k <= shields[x].b:
                        shielded = True
                        break
                if not shielded:
                    return True
            k -= 1
        return False

    cdef int _evaluate(self, TokData** t, Buf* hits, int any_negation, int* neg_end, int* blocked, Buf* unl,
                       int has_history, Buf* hist, Buf* recur, int* sent, Cover* shields, int nshields,
                       Buf* fired, Buf* spans) except -1:
        """:meth:`Classifier._evaluate`: each rule in order of its first hit; append the ones that fire."""
        cdef RHit* all_hits = <RHit*>hits.data
        cdef int nh = hits.n
        cdef int i, j, k, r, x, s, first, nok, check_negation, check_history, has_unless, ng, q, w
        cdef int ok0[64]
        cdef char done0[256]
        cdef int* ok = &ok0[0] if nh < 64 else <int*>malloc((nh + 1) * sizeof(int))
        cdef char* done = &done0[0] if self.nrules < 256 else <char*>malloc(self.nrules + 1)
        cdef Fired* f
        cdef RHit* rh
        cdef Span* sp
        if ok == NULL or done == NULL:
            if ok != &ok0[0]:
                free(ok)
            if done != &done0[0]:
                free(done)
            raise MemoryError()
        memset(done, 0, self.nrules + 1)
        try:
            for i in range(nh):
                r = all_hits[i].r
                if all_hits[i].g == -2 or done[r]:
                    continue
                done[r] = 1
                check_negation = any_negation and self.negatable[r]
                check_history = has_history and self.hist[r]
                has_unless = 0
                for x in range(unl.n):
                    if (<Span*>unl.data + x).s == r:
                        has_unless = 1
                        break
                nok = 0
                for j in range(i, nh):
                    rh = all_hits + j
                    if rh.r != r or rh.g == -2:
                        continue
                    s = rh.s
                    if check_negation and self._negated(t, s, neg_end, blocked, shields, nshields):
                        continue
                    if has_unless:
                        for x in range(unl.n):
                            sp = <Span*>unl.data + x
                            if sp.s == r and sent[sp.e] == sent[s]:
                                break
                        else:
                            x = -1
                        if x >= 0:
                            continue
                    if check_history and self._historical(s, hist, recur, sent):
                        continue
                    ok[nok] = j
                    nok += 1
                if nok == 0:
                    continue
                ng = self.groups[r]
                if ng:
                    if self._all_of(all_hits, ok, nok, ng, sent, self.msgscope[r], spans):
                        f = <Fired*>_grow(fired)
                        f.r = r
                        f.nspans = ng
                        f.span0 = spans.n - ng
                        f.s = (<Span*>spans.data + f.span0).s
                        f.e = (<Span*>spans.data + spans.n - 1).e
                        continue
                    q = 0
                    for j in range(nok):
                        if all_hits[ok[j]].g < 0:
                            ok[q] = ok[j]
                            q += 1
                    nok = q
                    if nok == 0:
                        continue
                first = ok[0]
                for j in range(1, nok):
                    if all_hits[ok[j]].s < all_hits[first].s:
                        first = ok[j]
                f = <Fired*>_grow(fired)
                f.r = r
                f.s = all_hits[first].s
                f.e = all_hits[first].e
                f.nspans = 0
                f.span0 = 0
            return 0
        finally:
            if ok != &ok0[0]:
                free(ok)
            if done != &done0[0]:
                free(done)

    cdef bint _historical(self, int s, Buf* hist, Buf* recur, int* sent) noexcept:
        """A history phrase in the same sentence, and no "again"/"now" there."""
        cdef int i, here = sent[s]
        for i in range(hist.n):
            if sent[(<int*>hist.data)[i]] == here:
                break
        else:
            return False
        for i in range(recur.n):
            if sent[(<int*>recur.data)[i]] == here:
                return False
        return True

    cdef bint _all_of(self, RHit* hits, int* ok, int nok, int ngroups, int* sent, int whole_message,
                      Buf* spans) except -1:
        """Each group's first hit in the first sentence (or the message) where all groups meet; pushed sorted."""
        cdef int i, j, g, best, sid, found, c, base
        cdef Span* sp
        cdef Span tmp
        # the sentences in order of their first grouped hit (one pass per sentence, few hits)
        for i in range(nok):
            if hits[ok[i]].g < 0:
                continue
            sid = sent[hits[ok[i]].s]
            if not whole_message:
                for j in range(i):
                    if hits[ok[j]].g >= 0 and sent[hits[ok[j]].s] == sid:
                        break
                else:
                    j = -1
                if j >= 0:
                    continue  # this sentence was tried already
            base = spans.n
            found = 0
            for g in range(ngroups):
                best = -1
                for j in range(nok):
                    c = ok[j]
                    if hits[c].g != g or (not whole_message and sent[hits[c].s] != sid):
                        continue
                    if best < 0 or hits[c].s < hits[best].s:
                        best = c
                if best < 0:
                    break
                sp = <Span*>_grow(spans)
                sp.s = hits[best].s
                sp.e = hits[best].e
                found += 1
            if found == ngroups:
                # sort the group spans by (start, end): a handful, insertion sort
                sp = <Span*>spans.data + base
                for j in range(1, ngroups):
                    tmp = sp[j]
                    c = j - 1
                    while c >= 0 and (sp[c].s > tmp.s or (sp[c].s == tmp.s and sp[c].e > tmp.e)):
                        sp[c + 1] = sp[c]
                        c -= 1
                    sp[c + 1] = tmp
                return True
            spans.n = base
            if whole_message:
                return False
        return False

    # ------------------------------------------------------------------ the answer

    cdef object _fired_text(self, Message msg, Fired* f, Buf* spans):
        """The words a fired rule matched; an all_of rule shows each group's words."""
        cdef Span* sp
        cdef int j
        if f.nspans > 1:
            sp = <Span*>spans.data + f.span0
            return " … ".join([self._text(msg, sp[j].s, sp[j].e) for j in range(f.nspans)])
        return self._text(msg, f.s, f.e, f.nspans == 0)

    cdef object _compose(self, Message msg, Buf* fired, Buf* spans):
        """:meth:`Classifier._compose`: intents in order, the urgency, and the match behind every tag."""
        cdef Fired* F = <Fired*>fired.data
        cdef int nf = fired.n, nint = self.nint
        cdef int n, r, s, it, best = 1 << 30, lead = -1, lead_pos = 1 << 30, lang = 0, i, j, k, cnt
        cdef int general = self.general, clinical = self.clinical
        # two insertion-ordered "dicts" intent -> (position, fired index): strong and weak
        cdef int has[2][32]
        cdef int pos[2][32]
        cdef int idx[2][32]
        cdef int order[2][32]
        cdef int size[2]
        cdef int tb, c
        cdef int keys[32]
        cdef int rank_key[32][3]
        cdef int tmp, a0, a1, a2
        for n in range(nf):
            r = F[n].r
            if self.rank[r] < best:
                best = self.rank[r]
        memset(has, 0, sizeof(has))
        size[0] = 0
        size[1] = 0
        for n in range(nf):
            r = F[n].r
            s = F[n].s
            if self.urg[r]:
                it = self.rint[r]
                if it < 0:
                    continue
                tb = 0
            else:
                it = self.rint[r]
                tb = 1 if self.weakr[r] else 0
            if not has[tb][it]:
                has[tb][it] = 1
                pos[tb][it] = s
                idx[tb][it] = n
                order[tb][size[tb]] = it
                size[tb] += 1
            elif s < pos[tb][it]:
                pos[tb][it] = s
                idx[tb][it] = n
            if self.urg[r] and self.rank[r] == best and best < self.routine and lead != clinical and (
                it == clinical or s < lead_pos
            ):
                lead = it
                lead_pos = s
        if best == self.emergency:
            lead = clinical
            if not has[0][clinical]:
                has[0][clinical] = 1
                pos[0][clinical] = lead_pos
                idx[0][clinical] = -1
                order[0][size[0]] = clinical
                size[0] += 1
        c = 0 if size[0] else 1
        if size[c] > 1:
            if c == 1 and has[1][general]:  # a bare "thanks" never outranks another hint
                has[1][general] = 0
            for k in range(size[c]):
                i = order[c][k]
                if not has[c][i] or not self.has_sup[i]:
                    continue
                for j in range(nint):
                    if j != i and self.sup[i * nint + j]:
                        has[c][j] = 0
        cnt = 0
        for k in range(size[c]):
            if has[c][order[c][k]]:
                keys[cnt] = order[c][k]
                cnt += 1
        if cnt == 0:
            c = 0
            keys[0] = general
            pos[0][general] = 0
            idx[0][general] = -2
            cnt = 1
        elif cnt > 1:
            for k in range(cnt):
                i = keys[k]
                if i == lead:
                    rank_key[k][0] = 0
                    rank_key[k][1] = 0
                    rank_key[k][2] = 0
                else:
                    rank_key[k][0] = 2 if i == general else 1
                    rank_key[k][1] = pos[c][i]
                    rank_key[k][2] = i
            for k in range(1, cnt):  # insertion sort by the rank key (the intent's order breaks ties)
                tmp = keys[k]
                a0 = rank_key[k][0]
                a1 = rank_key[k][1]
                a2 = rank_key[k][2]
                j = k - 1
                while j >= 0 and (rank_key[j][0], rank_key[j][1], rank_key[j][2]) > (a0, a1, a2):
                    keys[j + 1] = keys[j]
                    rank_key[j + 1][0] = rank_key[j][0]
                    rank_key[j + 1][1] = rank_key[j][1]
                    rank_key[j + 1][2] = rank_key[j][2]
                    j -= 1
                keys[j + 1] = tmp
                rank_key[j + 1][0] = a0
                rank_key[j + 1][1] = a1
                rank_key[j + 1][2] = a2
        names = self.intent_names
        intents = tuple([names[keys[k]] for k in range(cnt)])
        parts = []
        texts = [None] * nf
        cdef int* urgent
        if best < self.routine:
            # the urgency rules, most urgent first, then by position (then fired order)
            urgent = <int*>malloc((nf + 1) * sizeof(int))
            if urgent == NULL:
                raise MemoryError()
            try:
                cnt = 0
                for n in range(nf):
                    if self.urg[F[n].r]:
                        j = cnt - 1
                        while j >= 0 and (self.rank[F[urgent[j]].r], F[urgent[j]].s) > (self.rank[F[n].r], F[n].s):
                            urgent[j + 1] = urgent[j]
                            j -= 1
                        urgent[j + 1] = n
                        cnt += 1
                for k in range(cnt):
                    n = urgent[k]
                    if texts[n] is None:
                        texts[n] = self._fired_text(msg, F + n, spans)
                    parts.append((self.rule_ids[F[n].r], self.sets_names[F[n].r], texts[n]))
            finally:
                free(urgent)
        for k in range(len(intents)):
            n = idx[c][keys[k]]
            if n == -2:
                parts.append(self.fallback_part)
            if n < 0:
                continue
            if texts[n] is None:
                texts[n] = self._fired_text(msg, F + n, spans)
            parts.append((self.rule_ids[F[n].r], intents[k], texts[n]))
        for i in range(msg.n):
            lang += msg.t[i].lang
        key = (intents, best, tuple(parts), "es" if lang > 0 else "en")
        found = self.classifications.get(key)
        return found if found is not None else self.intern(key)

    cdef str _text(self, Message msg, int s, int e, bint one_word=True):
        """The matched words as the patient wrote them (normalised), as ``classifier._text`` shows them."""
        cdef int i
        cdef _Tok t
        if s == e and one_word:
            return (<_Tok>msg.obj[s]).text
        out = []
        for i in range(s, e + 1):
            t = <_Tok>msg.obj[i]
            if t.d.boundary and not t.d.alnum and out:
                out[len(out) - 1] += t.text
            else:
                out.append(t.text)
        text = " ".join(out)
        return text if len(text) <= 80 else text[:79] + "…"
