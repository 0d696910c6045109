"""Scoring the rules against a labelled file (the corpus format) — the numbers a rule change must keep.

A labelled line is ``{"id", "channel", "subject", "body", "intents": [primary, ...], "urgency"}``
(optionally ``"reminder_reply": true``). :func:`evaluate` runs any object with a
``classify(body, subject, channel, *, reminder_reply=...)`` method (a :class:`Classifier`
or the ``TriageEngine``) over the records and returns an :class:`Evaluation` with every
metric, the safety verdict and each miss with the rule matches that caused it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from omnidesk.model import Classification, Intent, Urgency

CONSENT_PREFIX = "consent."
OPT_OUT = Intent.CONSENT_OPT_OUT.value
URGENCIES = tuple(u.value for u in Urgency)

# The thresholds that fail the build (issue 3).
MIN_EMERGENCY_RECALL = 1.0
MIN_EMERGENCY_PRECISION = 0.9
MIN_URGENCY_ACCURACY = 0.9
MIN_PRIMARY_ACCURACY = 0.85


class ClassifiesText(Protocol):
    def classify(
        self, body: str, subject: str | None = None, channel: Any = None, *, reminder_reply: bool = False
    ) -> Classification: ...


@dataclass(frozen=True, slots=True)
class Labelled:
    """One labelled message."""

    id: str
    channel: str | None
    subject: str | None
    body: str
    intents: tuple[str, ...]
    urgency: str
    reminder_reply: bool = False
    lang: str | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """The classifier's answer for one labelled message."""

    case: Labelled
    got: Classification

    @property
    def primary_ok(self) -> bool:
        return bool(self.got.intents) and self.got.intents[0] == self.case.intents[0]

    @property
    def urgency_ok(self) -> bool:
        return self.got.urgency.value == self.case.urgency

    @property
    def intents_ok(self) -> bool:
        return set(self.got.intents) == set(self.case.intents)

    @property
    def consent_ok(self) -> bool:
        """Consent cases: exactly the expected consent tags. Others: no opt-out."""
        want = {i for i in self.case.intents if i.startswith(CONSENT_PREFIX)}
        got = {i for i in self.got.intents if i.startswith(CONSENT_PREFIX)}
        if want:
            return want == got
        return OPT_OUT not in got

    @property
    def ok(self) -> bool:
        return self.primary_ok and self.urgency_ok and self.intents_ok and self.consent_ok


@dataclass(frozen=True, slots=True)
class LabelScore:
    label: str
    tp: int
    fp: int
    fn: int

    @property
    def support(self) -> int:
        return self.tp + self.fn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


@dataclass(slots=True)
class Evaluation:
    """Every number ``omnidesk rules test`` prints, plus the verdict."""

    outcomes: list[Outcome]
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.outcomes)

    def _rate(self, hits: int) -> float:
        return hits / self.total if self.total else 1.0

    @property
    def primary_accuracy(self) -> float:
        return self._rate(sum(o.primary_ok for o in self.outcomes))

    @property
    def urgency_accuracy(self) -> float:
        return self._rate(sum(o.urgency_ok for o in self.outcomes))

    @property
    def exact_intents(self) -> float:
        return self._rate(sum(o.intents_ok for o in self.outcomes))

    @property
    def emergency(self) -> LabelScore:
        return self.urgency_score(Urgency.EMERGENCY.value)

    def urgency_score(self, level: str) -> LabelScore:
        tp = sum(1 for o in self.outcomes if o.case.urgency == level and o.got.urgency.value == level)
        fp = sum(1 for o in self.outcomes if o.case.urgency != level and o.got.urgency.value == level)
        fn = sum(1 for o in self.outcomes if o.case.urgency == level and o.got.urgency.value != level)
        return LabelScore(level, tp, fp, fn)

    @property
    def confusion(self) -> dict[str, dict[str, int]]:
        """confusion[expected][got] for the three urgency levels."""
        table = {e: dict.fromkeys(URGENCIES, 0) for e in URGENCIES}
        for o in self.outcomes:
            if o.case.urgency in table:
                table[o.case.urgency][o.got.urgency.value] += 1
        return table

    @property
    def labels(self) -> list[LabelScore]:
        """Per-intent precision and recall over the multi-label sets."""
        names = [i.value for i in Intent]
        out = []
        for name in names:
            tp = sum(1 for o in self.outcomes if name in o.case.intents and name in o.got.intents)
            fp = sum(1 for o in self.outcomes if name not in o.case.intents and name in o.got.intents)
            fn = sum(1 for o in self.outcomes if name in o.case.intents and name not in o.got.intents)
            if tp or fp or fn:
                out.append(LabelScore(name, tp, fp, fn))
        return out

    @property
    def consent_cases(self) -> list[Outcome]:
        return [o for o in self.outcomes if any(i.startswith(CONSENT_PREFIX) for i in o.case.intents)]

    @property
    def consent_failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.consent_ok]

    @property
    def misses(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.ok]

    def failures(self) -> list[str]:
        """The safety thresholds that are not met (empty when the rules pass)."""
        out = []
        em = self.emergency
        if em.support and em.recall < MIN_EMERGENCY_RECALL:
            out.append(f"emergency recall {em.recall:.3f} < {MIN_EMERGENCY_RECALL:.2f}")
        if em.tp + em.fp and em.precision < MIN_EMERGENCY_PRECISION:
            out.append(f"emergency precision {em.precision:.3f} < {MIN_EMERGENCY_PRECISION:.2f}")
        if self.urgency_accuracy < MIN_URGENCY_ACCURACY:
            out.append(f"urgency accuracy {self.urgency_accuracy:.3f} < {MIN_URGENCY_ACCURACY:.2f}")
        if self.primary_accuracy < MIN_PRIMARY_ACCURACY:
            out.append(f"primary-intent accuracy {self.primary_accuracy:.3f} < {MIN_PRIMARY_ACCURACY:.2f}")
        bad = self.consent_failures
        if bad:
            out.append(f"consent wrong on {len(bad)} message(s): {', '.join(o.case.id for o in bad)}")
        if self.errors:
            out.append(f"{len(self.errors)} unreadable line(s)")
        return out

    @property
    def passed(self) -> bool:
        return not self.failures()


def parse_labelled(line: str, n: int = 0) -> Labelled:
    """One labelled JSON line; raises ValueError with a reason that carries no message text."""
    try:
        raw = json.loads(line)
    except json.JSONDecodeError:
        raise ValueError("not valid JSON") from None
    if not isinstance(raw, dict):
        raise ValueError("not a JSON object")
    body = raw.get("body")
    if not isinstance(body, str):
        raise ValueError("body must be a string")
    intents = raw.get("intents")
    valid = {i.value for i in Intent}
    if not isinstance(intents, list) or not intents or not all(isinstance(i, str) and i in valid for i in intents):
        raise ValueError("intents must be a non-empty list of known intents")
    urgency = raw.get("urgency")
    if urgency not in URGENCIES:
        raise ValueError("urgency must be emergency, urgent or routine")
    subject = raw.get("subject")
    if subject is not None and not isinstance(subject, str):
        raise ValueError("subject must be a string or null")
    channel = raw.get("channel")
    if channel is not None and not isinstance(channel, str):
        raise ValueError("channel must be a string or null")
    return Labelled(
        id=str(raw.get("id", f"line {n}")),
        channel=channel,
        subject=subject,
        body=body,
        intents=tuple(intents),
        urgency=urgency,
        reminder_reply=bool(raw.get("reminder_reply", False)),
        lang=raw.get("lang"),
    )


def load_labelled(path: Path | str) -> tuple[list[Labelled], list[tuple[int, str]]]:
    """Every readable labelled line of ``path`` and the (line number, reason) of the others."""
    cases: list[Labelled] = []
    errors: list[tuple[int, str]] = []
    with Path(path).open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                cases.append(parse_labelled(line, n))
            except ValueError as exc:
                errors.append((n, str(exc)))
    return cases, errors


def evaluate(
    classifier: ClassifiesText, cases: Iterable[Labelled], errors: Sequence[tuple[int, str]] = ()
) -> Evaluation:
    """Classify every case and collect the outcomes."""
    outcomes = [
        Outcome(c, classifier.classify(c.body, c.subject, c.channel, reminder_reply=c.reminder_reply)) for c in cases
    ]
    return Evaluation(outcomes, list(errors))


def format_report(ev: Evaluation, *, title: str = "") -> str:
    """The human report: summary, per-label precision/recall, urgency confusion, every miss with its rule matches."""
    lines: list[str] = []
    if title:
        lines.append(title)
    em = ev.emergency
    lines += [
        f"messages: {ev.total}" + (f"   unreadable lines: {len(ev.errors)}" if ev.errors else ""),
        f"primary-intent accuracy: {ev.primary_accuracy:6.1%}   (threshold {MIN_PRIMARY_ACCURACY:.0%})",
        f"exact intent sets:       {ev.exact_intents:6.1%}",
        f"urgency accuracy:        {ev.urgency_accuracy:6.1%}   (threshold {MIN_URGENCY_ACCURACY:.0%})",
        f"emergency recall:        {em.recall:6.1%}   (threshold {MIN_EMERGENCY_RECALL:.0%})  {em.tp}/{em.support}",
        f"emergency precision:     {em.precision:6.1%}   (threshold {MIN_EMERGENCY_PRECISION:.0%})"
        f"  {em.tp}/{em.tp + em.fp}",
        f"consent exact:           {len(ev.consent_cases) - sum(1 for o in ev.consent_cases if not o.consent_ok)}"
        f"/{len(ev.consent_cases)} consent messages; "
        f"false opt-outs: {sum(1 for o in ev.consent_failures if o not in ev.consent_cases)}",
        "",
        "per label              precision  recall  support   tp  fp  fn",
    ]
    for s in ev.labels:
        lines.append(f"  {s.label:<22} {s.precision:8.1%} {s.recall:7.1%} {s.support:8d} {s.tp:4d} {s.fp:3d} {s.fn:3d}")
    for level in URGENCIES:
        s = ev.urgency_score(level)
        name = "urgency " + level
        lines.append(f"  {name:<22} {s.precision:8.1%} {s.recall:7.1%} {s.support:8d} {s.tp:4d} {s.fp:3d} {s.fn:3d}")
    lines += [
        "",
        "urgency confusion (rows: expected, columns: got)",
        "  " + " " * 11 + "".join(f"{u:>11}" for u in URGENCIES),
    ]
    for e, row in ev.confusion.items():
        lines.append(f"  {e:<11}" + "".join(f"{row[g]:>11}" for g in URGENCIES))
    misses = ev.misses
    lines += ["", f"misses: {len(misses)}"]
    for o in misses:
        what = []
        if not o.urgency_ok:
            what.append("URGENCY" + (" (SAFETY: missed emergency)" if o.case.urgency == "emergency" else ""))
        if not o.primary_ok:
            what.append("primary")
        elif not o.intents_ok:
            what.append("intents")
        if not o.consent_ok:
            what.append("CONSENT")
        lines.append(f"- {o.case.id}  [{', '.join(what)}]")
        lines.append(f"    expected: {', '.join(o.case.intents)} / {o.case.urgency}")
        lines.append(f"    got:      {', '.join(o.got.intents)} / {o.got.urgency.value}")
        if o.got.matched:
            for m in o.got.matched:
                lines.append(f"      {m.rule} -> {m.sets}: {m.text!r}")
        else:
            lines.append("      (no rule matched)")
    for n, reason in ev.errors:
        lines.append(f"- line {n}: {reason}")
    fails = ev.failures()
    lines.append("")
    if fails:
        lines.append("FAIL: " + "; ".join(fails))
    else:
        lines.append("PASS: all safety thresholds met")
    return "\n".join(lines)
