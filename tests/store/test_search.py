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
