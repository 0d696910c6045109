"""``omnidesk classify`` and ``omnidesk rules test``: the rules engine on JSON lines, no store needed.

``classify_stream`` reads ``{"id", "channel", "subject", "body"}`` lines (optionally
``"reminder_reply": true``) and writes one line per message::

    {"id", "intents": [...], "urgency", "queue", "matched": [{"rule", "text"}]}

A line it cannot read becomes ``{"id": ..., "error": "..."}`` (the reason never quotes the
message) and the stream goes on. ``rules_test`` scores the rules on a labelled file and
returns the report and an exit code that is non-zero when a safety threshold fails.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol, TextIO

from omnidesk.model import Channel, Classification
from omnidesk.rules import compiled
from omnidesk.rules.evaluate import evaluate, format_report, load_labelled
from omnidesk.services.context import Context

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_UNREADABLE = 2

_CHANNELS = {c.value: c for c in Channel}


class _Engine(Protocol):
    def classify(
        self, body: str, subject: str | None = None, channel: Channel | None = None, *, reminder_reply: bool = False
    ) -> Classification: ...

    def route(self, classification: Classification) -> str: ...


def _engine(ctx_or_engine: Any) -> _Engine:
    """A Context's TriageEngine, or the engine itself."""
    return ctx_or_engine.triage if isinstance(ctx_or_engine, Context) else ctx_or_engine


def classify_line(engine: _Engine, line: str) -> dict[str, Any]:
    """The output object for one input line (an ``error`` object when the line is unusable)."""
    try:
        raw = json.loads(line)
    except (json.JSONDecodeError, RecursionError):
        return {"id": None, "error": "not valid JSON"}
    if not isinstance(raw, dict):
        return {"id": None, "error": "not a JSON object"}
    rid = raw.get("id")
    body = raw.get("body")
    if not isinstance(body, str):
        return {"id": rid, "error": "body must be a string"}
    subject = raw.get("subject")
    if subject is not None and not isinstance(subject, str):
        return {"id": rid, "error": "subject must be a string or null"}
    channel_name = raw.get("channel")
    channel = None
    if channel_name is not None:
        channel = _CHANNELS.get(channel_name) if isinstance(channel_name, str) else None
        if channel is None:
            return {"id": rid, "error": f"channel must be one of {', '.join(_CHANNELS)} or null"}
    reminder_reply = raw.get("reminder_reply", False)
    if not isinstance(reminder_reply, bool):
        return {"id": rid, "error": "reminder_reply must be true or false"}
    c = engine.classify(body, subject, channel, reminder_reply=reminder_reply)
    return {
        "id": rid,
        "intents": list(c.intents),
        "urgency": c.urgency.value,
        "queue": engine.route(c),
        "matched": _matched(c),
    }


def _matched(c: Classification) -> list[dict[str, str]]:
    """Each (rule, text) once: an urgency rule that also set ``clinical`` is listed once."""
    seen: set[tuple[str, str]] = set()
    out = []
    for m in c.matched:
        key = (m.rule, m.text)
        if key not in seen:
            seen.add(key)
            out.append({"rule": m.rule, "text": m.text})
    return out


def classify_stream(ctx_or_engine: Any, infile: TextIO, outfile: TextIO) -> int:
    """Classify every JSON line of ``infile`` onto ``outfile``; 0 when every line was usable, else 1."""
    engine = _engine(ctx_or_engine)
    bad = 0
    for line in infile:
        if not line.strip():
            continue
        out = classify_line(engine, line)
        if "error" in out:
            bad += 1
        outfile.write(json.dumps(out, ensure_ascii=False) + "\n")
        outfile.flush()
    return EXIT_FAILED if bad else EXIT_OK


def rules_test(triage_engine: Any, path: Path | str) -> tuple[str, int]:
    """Score the rules on a labelled JSON-lines file: (report, exit code — 1 when a safety threshold fails)."""
    path = Path(path)
    try:
        cases, errors = load_labelled(path)
    except OSError as exc:
        return f"omnidesk rules test: cannot read {path} ({exc.strerror or type(exc).__name__})", EXIT_UNREADABLE
    except UnicodeDecodeError:
        return f"omnidesk rules test: {path} is not UTF-8 text", EXIT_UNREADABLE
    if not cases:
        return f"omnidesk rules test: no labelled messages in {path}", EXIT_UNREADABLE
    ev = evaluate(_engine(triage_engine), cases, errors)
    title = f"rules test: {path.name}   (rules engine: {compiled.STATUS})"
    return format_report(ev, title=title), EXIT_OK if ev.passed else EXIT_FAILED
