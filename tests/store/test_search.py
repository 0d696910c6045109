"""Full-text search behind one function, on SQLite (FTS5) and PostgreSQL (tsvector/GIN)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine, delete, insert, update
from store_data import T0, Seed

from omnidesk.store import search as search_mod
from omnidesk.store.engine import reading
from omnidesk.store.schema import messages
from omnidesk.store.search import SearchQuery, search_messages


def _find(engine: Engine, q: str, **kw) -> list:
    with reading(engine) as conn:
        return search_messages(conn, q, **kw)


@pytest.fixture
def corpus(engine: Engine) -> dict[str, int]:
    seed = Seed(engine)
    pid = seed.patient("Ana", "Lopez")
    t1 = seed.thread(patient_id=pid)
    t2 = seed.thread()
    ids = {
        "refill": seed.message(t1, "Need a refill of my lisinopril please", at=T0),
        "chest": seed.message(t1, "Having chest pain since this morning", subject="urgent", at=T0 + timedelta(1)),
        "es": seed.message(t2, "Necesito una cita, tengo dolor de pecho y fiebre", at=T0 + timedelta(2)),
        "quote": seed.message(t2, 'He said "stop" (not really) -- 50% off?', at=T0 + timedelta(3)),
        "billing": seed.message(t2, "Question about my bill", subject="Invoice 2291 refill", at=T0 + timedelta(4)),
        "emoji": seed.message(t2, "Thanks 👍 see you tomorrow", at=T0 + timedelta(5)),
    }
    return ids


def test_finds_words_in_body_and_subject(engine: Engine, corpus: dict[str, int]) -> None:
    hits = _find(engine, "refill")
    assert [h.message_id for h in hits] == [corpus["billing"], corpus["refill"]]  # newest first
    assert _find(engine, "invoice")[0].message_id == corpus["billing"]  # subject only
    assert {h.message_id for h in _find(engine, "urgent chest")} == {corpus["chest"]}


def test_words_are_anded_in_any_order(engine: Engine, corpus: dict[str, int]) -> None:
    assert [h.message_id for h in _find(engine, "pain chest")] == [corpus["chest"]]
    assert _find(engine, "chest lisinopril") == []


def test_case_and_spanish(engine: Engine, corpus: dict[str, int]) -> None:
    assert [h.message_id for h in _find(engine, "DOLOR Pecho")] == [corpus["es"]]
    assert [h.message_id for h in _find(engine, "fiebre")] == [corpus["es"]]


def test_prefix_on_last_word(engine: Engine, corpus: dict[str, int]) -> None:
    assert {h.message_id for h in _find(engine, "lisin")} == {corpus["refill"]}  # long prefix (stem path)
    assert {h.message_id for h in _find(engine, "lis")} == {corpus["refill"]}  # 3 characters
    assert {h.message_id for h in _find(engine, "need lisinop")} == {corpus["refill"]}
    assert _find(engine, "lisin", prefix_last=False) == []
    assert _find(engine, "li") == []  # too short to expand: whole word only
    # the prefix applies to the last word only
    assert _find(engine, "lisin refill") == []


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        '"',
        '"""',
        "'",
        "'; DROP TABLE messages; --",
        "(",
        ")(",
        "*",
        "-",
        "NOT",
        "AND OR NOT",
        "chest OR",
        "NEAR(chest pain)",
        "body:chest",
        "^chest",
        "chest*",
        "\\",
        "😀",
        "👍👍",
        "\x00",
        "\u202e",
        "a" * 5000,
        " ".join(["chest"] * 200),
        "pain & | ! <-> :*",
        "ᦰᦱᦲ",  # letters FTS5's tokenizer splits differently from Python's
    ],
)
def test_any_input_is_safe(engine: Engine, corpus: dict[str, int], raw: str) -> None:
    hits = _find(engine, raw)
    assert isinstance(hits, list)


def test_operators_are_words_not_syntax(engine: Engine, corpus: dict[str, int]) -> None:
    assert [h.message_id for h in _find(engine, 'said "stop"')] == [corpus["quote"]]
    assert [h.message_id for h in _find(engine, "(not) really")] == [corpus["quote"]]
    assert [h.message_id for h in _find(engine, "chest OR lisinopril")] == []  # OR is a word here
    assert [h.message_id for h in _find(engine, "thanks 👍")] == [corpus["emoji"]]


def test_snippet_is_plain_text_around_the_hit(engine: Engine) -> None:
    seed = Seed(engine)
    t = seed.thread()
    long = "Hello team,\n\n" + "filler words here " * 20 + "my metformin ran out yesterday " + "more text " * 20
    mid = seed.message(t, long)
    (hit,) = _find(engine, "metformin")
    assert hit.message_id == mid
    assert "metformin" in hit.snippet
    assert hit.snippet.startswith("…") and hit.snippet.endswith("…")
    assert "\n" not in hit.snippet and len(hit.snippet) <= search_mod.SNIPPET_WIDTH + 2
    assert hit.thread_id == t and hit.patient_name is None


def test_index_follows_updates_and_deletes(engine: Engine, corpus: dict[str, int]) -> None:
    with engine.begin() as conn:
        conn.execute(update(messages).where(messages.c.id == corpus["refill"]).values(body="nothing to see"))
        conn.execute(delete(messages).where(messages.c.id == corpus["chest"]))
    assert [h.message_id for h in _find(engine, "refill")] == [corpus["billing"]]
    assert _find(engine, "chest") == []
    assert [h.message_id for h in _find(engine, "nothing see")] == [corpus["refill"]]


def test_newest_first_and_limit(engine: Engine) -> None:
    seed = Seed(engine)
    t = seed.thread()
    rows = [
        {
            "thread_id": t,
            "channel": "sms",
            "direction": "inbound",
            "provider_id": f"p{i}",
            "sender": "s",
            "recipient": "r",
            "body": f"appointment number {i} " + ("reschedule" if i % 7 == 0 else "confirm"),
            "at": T0,
            "references": [],
            "intents": [],
            "urgency": "routine",
            "matched": [],
            "created_at": T0,
        }
        for i in range(300)
    ]
    with engine.begin() as conn:
        conn.execute(insert(messages), rows)
    hits = _find(engine, "appointment")
    assert len(hits) == 50
    ids = [h.message_id for h in hits]
    assert ids == sorted(ids, reverse=True)
    with reading(engine) as conn:
        top = conn.execute(messages.select().order_by(messages.c.id.desc()).limit(50)).all()
    assert ids == [r.id for r in top]
    resched = _find(engine, "appointment resch", limit=10)
    assert len(resched) == 10 and all("reschedule" in h.snippet for h in resched)
    assert _find(engine, "appointment", limit=0) == []


def test_long_prefix_past_the_candidate_cap(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rare long-prefix matches among many stem matches are still all found (the fallback path)."""
    monkeypatch.setattr(search_mod, "SQLITE_CHUNK", 5)
    monkeypatch.setattr(search_mod, "SQLITE_CANDIDATE_CAP", 10)
    seed = Seed(engine)
    t = seed.thread()
    want = [seed.message(t, "metformina 500")]
    for i in range(40):
        seed.message(t, f"meter reading {i}")
    want.append(seed.message(t, "metformin refill"))
    for i in range(40):
        seed.message(t, f"meters {i}")
    assert [h.message_id for h in _find(engine, "metfor")] == want[::-1]


def test_query_parsing() -> None:
    q = SearchQuery.parse('  "Chest"  (PAIN) pain* -x ')
    assert q.terms == ("chest", "pain", "x") and not q.prefix  # last word too short to expand
    q = SearchQuery.parse("dolor pech")
    assert q.prefix and q.fts5() == '"dolor" "pech"*' and q.tsquery() == "'dolor' & 'pech':*"
    assert q.fts5(stem=True) == '"dolor" "pec"*'
    assert SearchQuery.parse("😀 ** ()").terms == ()
    assert len(SearchQuery.parse(" ".join(f"w{i}" for i in range(100))).terms) == search_mod.MAX_TERMS


def _snippet_by_words(body: str | None, subject: str | None, query: SearchQuery) -> str:
    """The word-by-word reference the regex fast path must agree with."""
    terms = {search_mod._fold(t) for t in query.terms}
    last = search_mod._fold(query.terms[-1]) if query.prefix else None
    for source in (body or "", subject or ""):
        for m in search_mod._WORD.finditer(source):
            w = search_mod._fold(m.group())
            if w in terms or (last is not None and w.startswith(last)):
                return search_mod._excerpt(source, m.start(), search_mod.SNIPPET_WIDTH)
    return search_mod._excerpt(body or subject or "", 0, search_mod.SNIPPET_WIDTH)


@pytest.mark.parametrize("raw", ["refill", "REFILL pills", "pil", "re fill", "pain", "medicacion", "médicación", "x_y"])
@pytest.mark.parametrize(
    "body",
    [
        "Need a Refill of my pills, refills are late. " * 3,
        "prefill unrefilled refill_x refill",
        "dolor de pecho, medicación y pain",
        "no match here at all, just filler text " * 4,
        "PAIN-killers: painful pain",
        "x_y x y",
        "",
    ],
)
def test_snippet_fast_path_agrees_with_the_word_loop(raw: str, body: str) -> None:
    query = SearchQuery.parse(raw)
    for subject in (None, "Refill request", "médicación"):
        assert search_mod.snippet(body, subject, query) == _snippet_by_words(body, subject, query)


def test_postgresql_newest_first_walk_then_gin(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Common words: the newest rows are walked (a short window here), older hits come from GIN."""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's search strategy")
    seed = Seed(engine)
    t = seed.thread()
    want = [seed.message(t, f"fiebre {i}" if i % 3 == 0 else f"tos {i}") for i in range(90)]
    want = [mid for i, mid in enumerate(want) if i % 3 == 0][::-1]
    walked: list[int] = []
    real = search_mod._PG_RECENT
    monkeypatch.setattr(search_mod, "_pg_lexeme_freqs", lambda conn: ({"fiebre": 0.33}, 0.001))
    monkeypatch.setattr(search_mod, "PG_RECENT_WINDOW", 20)
    monkeypatch.setattr(search_mod, "PG_WALK_MAX", 20)
    with reading(engine) as conn:
        orig = conn.execute

        def execute(stmt, *args, **kw):
            if stmt is real:
                walked.append(1)
            return orig(stmt, *args, **kw)

        monkeypatch.setattr(conn, "execute", execute)
        hits = search_messages(conn, "fiebre", limit=25)
    assert walked, "the newest-first walk ran"
    assert [h.message_id for h in hits] == want[:25]  # 20-row window: ~7 walked, the rest from GIN
    monkeypatch.setattr(search_mod, "_pg_lexeme_freqs", lambda conn: ({}, 0.0))  # rare: GIN only
    assert [h.message_id for h in _find(engine, "fiebre", limit=25)] == want[:25]
