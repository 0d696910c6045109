"""Full-text search over message subjects and bodies: one function, two databases.

User text is never handed to a query parser as-is. It is split into words (letters and
digits; quotes, parentheses, ``*``, ``-``, emoji … are separators), each word becomes a
quoted term, terms are ANDed, and the last word — if at least 3 characters long — also
matches as a prefix (search as you type). Text without words matches nothing.

Hits come newest first by message id (bm25 ranking on a common word over a million rows
takes seconds). How each database gets there within a few milliseconds:

- SQLite: FTS5 external-content table ``messages_fts`` (rowid = messages.id) kept in step
  by triggers, with a 3-character prefix index. Exact terms and 3-character prefixes are
  lazy doclist iterators, so ``ORDER BY rowid DESC LIMIT 50`` stops early. A longer
  prefix (``refil*``) would make FTS5 materialize the doclist of every matching term
  (100+ ms for a common word at 1M rows), so it runs as ``refil`` ⊂ ``ref*``: candidates
  from the prefix index, newest first, checked in Python; past a cap it falls back to
  the plain prefix query, which is cheap exactly when matches are rare.
- PostgreSQL: generated ``messages.search_tsv`` (``to_tsvector('simple', …)``) with GIN.
  Phase 1 walks the newest messages backwards on the primary key testing each row, and
  stops at ``limit`` hits; phase 2 asks GIN for the older rows containing the query's
  uncommon words, re-checks the full query per row, and sorts the hits. ANALYZE's lexeme
  statistics choose by estimated cost: the walk when the words are common enough that
  ``limit`` hits come within a few thousand rows (window up to :data:`PG_WALK_MAX`), GIN
  when they are rare (``fiebre`` at 0.85 % took 97 ms through GIN, 2–3 ms walking).
  Both plans are forced by the SQL's shape (``ts_match_vq`` is not indexable, ``id + 0``
  cannot use the primary key), because the planner's guess for a rare or prefix term can
  otherwise pick a backward scan of the whole table (seconds when nothing matches); and
  the engine sets ``plan_cache_mode = force_custom_plan`` (store/engine.py): psycopg
  prepares a statement from its 5th run, and PostgreSQL's generic plan for a tsquery
  parameter it cannot see was such a scan (60–170 ms).

SQLite folds diacritics (``medicacion`` finds ``medicación``); PostgreSQL's ``simple``
configuration folds case only.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import Connection, bindparam, text

from omnidesk.model import Channel, SearchHit
from omnidesk.store.queue_stats import TABLE as QUEUE_STATS_TABLE
from omnidesk.store.schema import UTCDateTime

FTS_TABLE = "messages_fts"
PG_TSV_COLUMN = "search_tsv"
PG_TSV_INDEX = "ix_messages_search"
MAX_TERMS = 16
PREFIX_INDEX_LEN = 3  # FTS5 prefix='3' (migration 0001); also the shortest prefix we expand
SQLITE_CHUNK = 200  # candidates fetched per round for a long prefix
SQLITE_CANDIDATE_CAP = 600  # then fall back to FTS5's own prefix query (cheap: matches are rare)
PG_RECENT_WINDOW = 5000  # phase 1: at least this many newest messages tested row by row
PG_WALK_MAX = 50_000  # … and at most this many (~20 ms at worst)
PG_WALK_COST = 0.4  # µs per message tested in the newest-first walk
PG_GIN_COST = 3.0  # µs per message GIN finds (heap fetch, recheck, sort)
PG_COMMON_SHARE = 0.02  # a word (or prefix) in 2%+ of messages does not drive GIN when a rarer one can
PG_STATS_TTL_S = 300.0
SNIPPET_WIDTH = 80

_WORD = re.compile(r"[^\W_]+")


def include_object(obj, name: str | None, type_: str, reflected: bool, compare_to) -> bool:
    """Alembic filter: the search objects and the queue counters live outside ``metadata``
    on purpose (derived data kept by triggers); ignore them."""
    if type_ == "table" and name is not None and (name.startswith(FTS_TABLE) or name == QUEUE_STATS_TABLE):
        return False
    if type_ == "column" and name == PG_TSV_COLUMN:
        return False
    return not (type_ == "index" and name == PG_TSV_INDEX)


def _fold(word: str) -> str:
    """Lower case without diacritics (what FTS5's ``remove_diacritics 2`` compares)."""
    if word.isascii():
        return word.lower()
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _has_word_starting(folded_text: str, folded_prefix: str) -> bool:
    """Whether a word of ``folded_text`` starts with ``folded_prefix`` (``str.find``, then a boundary check)."""
    i = folded_text.find(folded_prefix)
    while i != -1:
        if i == 0 or not folded_text[i - 1].isalnum():
            return True
        i = folded_text.find(folded_prefix, i + 1)
    return False


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """The words to look for; with ``prefix`` the last one also matches as a prefix."""

    terms: tuple[str, ...]
    prefix: bool

    @classmethod
    def parse(cls, raw: str | None, *, prefix_last: bool = True) -> SearchQuery:
        words = _WORD.findall(unicodedata.normalize("NFKC", raw or "").lower())
        terms = tuple(dict.fromkeys(words))[:MAX_TERMS]  # dedupe, keep order
        prefix = bool(prefix_last and terms and len(terms[-1]) >= PREFIX_INDEX_LEN)
        return cls(terms, prefix)

    @property
    def exact(self) -> tuple[str, ...]:
        """The terms that must match as whole words."""
        return self.terms[:-1] if self.prefix else self.terms

    def fts5(self, *, stem: bool = False) -> str:
        """An FTS5 MATCH expression: ``"a" "b" "c"*`` (implicit AND of quoted strings).

        ``stem`` cuts the prefix term to :data:`PREFIX_INDEX_LEN` characters (a superset).
        """
        terms = list(self.terms)
        if self.prefix and stem:
            terms[-1] = terms[-1][:PREFIX_INDEX_LEN]
        quoted = ['"' + t.replace('"', '""') + '"' for t in terms]
        if self.prefix:
            quoted[-1] += "*"
        return " ".join(quoted)

    def tsquery(self, *, exact_only: bool = False) -> str:
        """A ``to_tsquery`` expression: ``'a' & 'b' & 'c':*``."""
        terms = self.exact if exact_only else self.terms
        quoted = ["'" + t.replace("\\", "\\\\").replace("'", "''") + "'" for t in terms]
        if self.prefix and not exact_only:
            quoted[-1] += ":*"
        return " & ".join(quoted)

    def has_prefix_word(self, *texts: str | None) -> bool:
        """Whether a word of ``texts`` starts with the last term (case and diacritics folded)."""
        want = _fold(self.terms[-1])
        return any(_has_word_starting(_fold(t), want) for t in texts if t)


_SELECT = """
SELECT m.id, m.thread_id, m.channel, m.at, m.subject, m.body, p.first_name, p.last_name
FROM messages m
JOIN threads t ON t.id = m.thread_id
LEFT JOIN patients p ON p.id = t.patient_id
"""


def _sql(where_order: str):
    return text(_SELECT + where_order).columns(at=UTCDateTime())


_FTS_IDS = """SELECT rowid FROM messages_fts
    WHERE messages_fts MATCH :q AND rowid < :before ORDER BY rowid DESC LIMIT :n"""
_SQLITE_IDS = text(_FTS_IDS)
_SQLITE_HITS = _sql(f"WHERE m.id IN ({_FTS_IDS})\nORDER BY m.id DESC")
_SQLITE_CANDIDATES = text(
    """SELECT m.id, m.subject, m.body FROM messages m WHERE m.id IN (
    SELECT rowid FROM messages_fts WHERE messages_fts MATCH :q AND rowid < :before ORDER BY rowid DESC LIMIT :n
) ORDER BY m.id DESC"""
)
_BY_IDS = _sql("WHERE m.id IN :ids\nORDER BY m.id DESC").bindparams(bindparam("ids", expanding=True))
# The ids are chosen first (LIMIT inside), then joined: otherwise the planner may hash-join
# every thread for a word it guesses common.
_PG_RECENT = _sql(
    """WHERE m.id IN (
    SELECT id FROM messages
    WHERE id > :lo AND ts_match_vq(search_tsv, to_tsquery('simple', :q))
    ORDER BY id DESC LIMIT :n
)
ORDER BY m.id DESC"""
)
_PG_OLDER = _sql(
    """WHERE m.id IN (
    SELECT id FROM messages
    WHERE search_tsv @@ to_tsquery('simple', :driver)
      AND ts_match_vq(search_tsv, to_tsquery('simple', :q))
      AND id <= :lo
    ORDER BY id + 0 DESC LIMIT :n
)
ORDER BY m.id DESC"""
)
_NO_UPPER = 2**62


def search_messages(
    conn: Connection, raw_query: str | None, *, limit: int = 50, prefix_last: bool = True
) -> list[SearchHit]:
    """Messages whose subject or body contain every word of ``raw_query``, newest first.

    Safe for any input: quotes, operators, emoji, empty text (which returns no hits).
    """
    query = SearchQuery.parse(raw_query, prefix_last=prefix_last)
    if not query.terms or limit <= 0:
        return []
    rows = _sqlite_rows(conn, query, limit) if conn.dialect.name == "sqlite" else _pg_rows(conn, query, limit)
    return [_hit(row, query) for row in rows]


def _sqlite_rows(conn: Connection, query: SearchQuery, limit: int) -> list:
    if not query.prefix or len(query.terms[-1]) == PREFIX_INDEX_LEN:
        return conn.execute(_SQLITE_HITS, {"q": query.fts5(), "before": _NO_UPPER, "n": limit}).all()
    # A long prefix: candidates from the 3-character prefix index, checked here.
    found: list[int] = []
    before, seen = _NO_UPPER, 0
    stem = query.fts5(stem=True)
    while seen < SQLITE_CANDIDATE_CAP and len(found) < limit:
        chunk = conn.execute(_SQLITE_CANDIDATES, {"q": stem, "before": before, "n": SQLITE_CHUNK}).all()
        for mid, subject, body in chunk:
            if query.has_prefix_word(body, subject):
                found.append(mid)
                if len(found) == limit:
                    break
        seen += len(chunk)
        if len(chunk) < SQLITE_CHUNK:
            break
        before = chunk[-1][0]
    else:
        if len(found) < limit:  # matches are rare among the candidates: FTS5's own prefix query is cheap now
            rest = conn.execute(_SQLITE_IDS, {"q": query.fts5(), "before": before, "n": limit - len(found)})
            found += rest.scalars().all()
    if not found:
        return []
    return conn.execute(_BY_IDS, {"ids": found}).all()


_PG_NEWEST = text("SELECT max(id) FROM messages")
_PG_LEXEME_STATS = text(
    """SELECT most_common_elems::text::text[] AS elems, most_common_elem_freqs AS freqs
FROM pg_stats
WHERE schemaname = current_schema() AND tablename = 'messages' AND attname = 'search_tsv'"""
)
_pg_stats_cache: dict[str, tuple[float, dict[str, float], float]] = {}


def _pg_lexeme_freqs(conn: Connection) -> tuple[dict[str, float], float]:
    """ANALYZE's most common lexemes with the share of messages holding each, and the share
    below which a lexeme is not listed (half the smallest listed; 0 without statistics)."""
    import time

    key = str(conn.engine.url)
    cached = _pg_stats_cache.get(key)
    now = time.monotonic()
    if cached and now - cached[0] < PG_STATS_TTL_S:
        return cached[1], cached[2]
    row = conn.execute(_PG_LEXEME_STATS).first()
    freqs: dict[str, float] = {}
    floor = 0.0
    if row is not None and row.elems:
        freqs = dict(zip(row.elems, row.freqs, strict=False))  # freqs has 3 extra trailing stats
        floor = min(freqs.values()) / 2
    _pg_stats_cache[key] = (now, freqs, floor)
    return freqs, floor


def _pg_rows(conn: Connection, query: SearchQuery, limit: int) -> list:
    tsq = query.tsquery()
    newest = conn.execute(_PG_NEWEST).scalar()
    if newest is None:
        return []
    freqs, floor = _pg_lexeme_freqs(conn)

    def share(term: str, prefix: bool) -> float:
        if prefix:
            return floor + sum(f for lex, f in freqs.items() if lex.startswith(term))
        return freqs.get(term, floor)

    shares = [share(t, query.prefix and i == len(query.terms) - 1) for i, t in enumerate(query.terms)]
    last = len(query.terms) - 1
    picked = [i for i, f in enumerate(shares) if f < PG_COMMON_SHARE] or [shares.index(min(shares))]
    drive = SearchQuery(tuple(query.terms[i] for i in picked), prefix=query.prefix and picked[-1] == last)
    # Newest-first walk or GIN? The walk stops at ``limit`` hits, after about limit / share rows
    # (the rarest word's share: query words tend to come together); GIN reads every row the
    # driving words match. Costs measured at 1M messages: ~0.4 µs per row walked, ~3 µs per
    # row GIN finds (heap fetch and recheck). E.g. ``fiebre`` (0.85 %): walk ~6k rows, 2.4 ms;
    # GIN 9k rows, 20–45 ms.
    hit_share = max(min(shares), 1e-9)
    driver_rows = min(sum(shares[i] for i in picked), 1.0) * newest
    hits: list = []
    lo = newest
    if limit / hit_share * PG_WALK_COST < driver_rows * PG_GIN_COST:
        window = int(min(PG_WALK_MAX, max(PG_RECENT_WINDOW, 3 * limit / hit_share)))
        lo = newest - window
        hits = list(conn.execute(_PG_RECENT, {"q": tsq, "lo": lo, "n": limit}).all())
    if len(hits) < limit and lo > 0:
        hits += conn.execute(_PG_OLDER, {"q": tsq, "driver": drive.tsquery(), "lo": lo, "n": limit - len(hits)}).all()
    return hits


def _hit(row, query: SearchQuery) -> SearchHit:
    name = f"{row.first_name or ''} {row.last_name or ''}".strip() or None
    return SearchHit(
        message_id=row.id,
        thread_id=row.thread_id,
        channel=Channel(row.channel),
        at=row.at,
        patient_name=name,
        subject=row.subject,
        snippet=snippet(row.body, row.subject, query),
    )


@lru_cache(maxsize=64)
def _ascii_matcher(query: SearchQuery) -> re.Pattern[str] | None:
    """A regex finding the first matching word in ASCII text (None if a term is not ASCII).

    For ASCII text, folding is lower-casing, so a case-insensitive regex over the whole text
    finds what the word-by-word loop finds, without a Python call per word (that loop was a
    third of a search's time).
    """
    terms = [_fold(t) for t in query.terms]
    if not all(t.isascii() for t in terms):
        return None
    words = terms[:-1] if query.prefix else terms
    alternatives = [re.escape(t) + r"(?![^\W_])" for t in sorted(set(words), key=len, reverse=True)]
    if query.prefix:
        alternatives.append(re.escape(terms[-1]))
    return re.compile(r"(?<![^\W_])(?:" + "|".join(alternatives) + ")", re.IGNORECASE)


def snippet(body: str | None, subject: str | None, query: SearchQuery, width: int = SNIPPET_WIDTH) -> str:
    """Plain text around the first word of ``body`` (else ``subject``) that matches the query."""
    terms = {_fold(t) for t in query.terms}
    last = _fold(query.terms[-1]) if query.prefix and query.terms else None
    matcher = _ascii_matcher(query) if query.terms else None
    for source in (body or "", subject or ""):
        if matcher is not None and source.isascii():
            found = matcher.search(source)
            if found is not None:
                return _excerpt(source, found.start(), width)
            continue
        for m in _WORD.finditer(source):
            w = _fold(m.group())
            if w in terms or (last is not None and w.startswith(last)):
                return _excerpt(source, m.start(), width)
    return _excerpt(body or subject or "", 0, width)


def _excerpt(source: str, at: int, width: int) -> str:
    lead = width // 3
    start = max(0, at - lead)
    if start > 0:  # start at a word boundary when one is close
        space = source.rfind(" ", 0, start + 1)
        if space >= 0 and at - space <= width // 2:
            start = space + 1
    end = min(len(source), start + width)
    if end < len(source):
        space = source.rfind(" ", at, end)
        if space > at:
            end = space
    piece = " ".join(source[start:end].split())
    return ("…" if start > 0 else "") + piece + ("…" if end < len(source) else "")
