"""``omnidesk classify`` (classify_stream) and ``omnidesk rules test`` (rules_test) through the real TriageEngine."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from omnidesk.rules.triage import TriageEngine
from omnidesk.services.classify import classify_stream, rules_test

CORPUS = Path(__file__).resolve().parents[3] / "shared/corpus" / "messages_dev.jsonl"
CASES = Path(__file__).resolve().parent / "cases.jsonl"


@pytest.fixture(scope="module")
def engine() -> TriageEngine:
    return TriageEngine.load()


def _run(engine: TriageEngine, lines: list[str]) -> tuple[int, list[dict]]:
    out = io.StringIO()
    code = classify_stream(engine, io.StringIO("\n".join(lines) + "\n"), out)
    return code, [json.loads(x) for x in out.getvalue().splitlines()]


def test_one_output_line_per_message_with_queue_and_reasons(engine: TriageEngine) -> None:
    lines = [
        json.dumps({"id": "a", "channel": "sms", "subject": None, "body": "cant breath chest tight help"}),
        json.dumps({"id": "b", "channel": "email", "subject": "Statement", "body": "I was billed twice for March"}),
        json.dumps({"id": "c", "channel": "sms", "subject": None, "body": "CANCEL", "reminder_reply": True}),
        json.dumps({"id": "d", "channel": "portal", "subject": None, "body": "¿Ya salieron mis resultados?"}),
    ]
    code, out = _run(engine, lines)
    assert code == 0
    assert [o["id"] for o in out] == ["a", "b", "c", "d"]
    a, b, c, d = out
    assert set(a) == {"id", "intents", "urgency", "queue", "matched"}
    assert a["urgency"] == "emergency" and a["queue"] == "emergency" and a["intents"][0] == "clinical"
    assert {"rule": "emergency.breathing", "text": "cant breath"} in a["matched"]
    assert len(a["matched"]) == len({(m["rule"], m["text"]) for m in a["matched"]})
    assert b["intents"] == ["billing"] and b["queue"] == "billing"
    assert c["intents"] == ["appointment.cancel", "consent.opt_out"] and c["queue"] == "front_desk"
    assert d["intents"] == ["results"] and d["queue"] == "nurse"


def test_bad_lines_become_error_lines_and_the_stream_goes_on(engine: TriageEngine) -> None:
    secret = "Jane Roe 555-0100 chest pain"
    lines = [
        "not json at all " + secret,
        json.dumps(["a", "list"]),
        json.dumps({"id": 7, "channel": "sms", "body": None}),
        json.dumps({"id": "x", "channel": "fax", "body": secret}),
        json.dumps({"id": "y", "channel": "sms", "subject": 3, "body": secret}),
        json.dumps({"id": "z", "channel": "sms", "body": secret, "reminder_reply": "yes"}),
        "",
        json.dumps({"id": "ok", "channel": None, "body": "what are your hours"}),
    ]
    code, out = _run(engine, lines)
    assert code == 1
    assert [o.get("id") for o in out] == [None, None, 7, "x", "y", "z", "ok"]
    assert all("error" in o for o in out[:-1])
    assert out[-1]["intents"] == ["general"]
    for o in out[:-1]:
        assert "Jane" not in o["error"] and "555" not in o["error"] and "chest" not in o["error"]


def test_rules_test_on_the_corpus_passes_and_prints_every_metric(engine: TriageEngine) -> None:
    if not CORPUS.is_file():
        pytest.skip("no dev corpus")
    text, code = rules_test(engine, CORPUS)
    assert code == 0, text
    for needle in (
        "primary-intent accuracy",
        "urgency accuracy",
        "emergency recall",
        "emergency precision",
        "consent exact",
        "per label",
        "appointment.book",
        "urgency confusion",
        "misses:",
        "PASS",
    ):
        assert needle in text


def test_rules_test_shows_each_miss_with_its_rule_matches_and_fails_on_safety(
    engine: TriageEngine, tmp_path: Path
) -> None:
    labelled = tmp_path / "mine.jsonl"
    labelled.write_text(
        json.dumps({"id": "m1", "channel": "sms", "subject": None, "body": "need a refill please",
                    "intents": ["billing"], "urgency": "routine"}) + "\n"
        + json.dumps({"id": "m2", "channel": "sms", "subject": None, "body": "what are your hours",
                      "intents": ["general"], "urgency": "emergency"}) + "\n"
        + "{broken\n",
        encoding="utf-8",
    )  # fmt: skip
    text, code = rules_test(engine, labelled)
    assert code == 1
    assert "- m1" in text and "expected: billing / routine" in text and "refill.request -> refill" in text
    assert "- m2" in text and "SAFETY: missed emergency" in text
    assert "line 3: not valid JSON" in text
    assert "FAIL:" in text


def test_rules_test_with_a_missing_file(engine: TriageEngine, tmp_path: Path) -> None:
    text, code = rules_test(engine, tmp_path / "nope.jsonl")
    assert code == 2 and "cannot read" in text


def test_the_cli_wires_both_commands(tmp_path: Path) -> None:
    from omnidesk.cli import main

    if not CASES.is_file():
        pytest.skip("no cases")
    assert main(["rules", "test", str(CASES)]) == 0
