"""Rules throughput: intent + urgency + consent classification of whole messages on one core.

Run: ``.venv/bin/python bench/bench_rules.py [--n 200000] [--corpus PATH]``.
Budget (ARCHITECTURE.md): ≥ 100,000 messages/s.

The dev corpus (``../shared/corpus/messages_dev.jsonl``: SMS, long emails with quoted text,
voicemail transcripts, Spanish) is repeated to ``--n`` messages. Three figures:

* ``warm``   — the steady state: the per-token cache already knows the vocabulary;
* ``cold``   — the same run starting from empty caches (tokens, chunks, memos, misspellings);
* ``unseen`` — every message carries two words the cache has never seen (a name and a
  misspelt word), so each message pays for fresh token look-ups including the misspelling
  tables — a pessimistic stand-in for a real inbox's long tail of names and typos.

Plus ``python``: the warm figure of the pure-Python path (``OMNIDESK_PURE_RULES=1``, the
fallback where the compiled module cannot be built; same answers, see test_fast_parity.py).
Compare runs on different machines by the printed CPU reference.
"""

from __future__ import annotations

import argparse
import random
import string
import sys
import time
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import machine_line

from omnidesk.rules import compiled
from omnidesk.rules.classifier import Classifier
from omnidesk.rules.evaluate import load_labelled
from omnidesk.rules.ruleset import load_ruleset

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "messages_dev.jsonl"


def _load(path: Path) -> list[tuple[str, str | None, str | None]]:
    return [(c.body, c.subject, c.channel) for c in load_labelled(path)[0]]


def _run(clf: Classifier, msgs: list[tuple[str, str | None, str | None]]) -> float:
    classify = clf.classify
    t0 = time.process_time()
    for body, subject, channel in msgs:
        classify(body, subject, channel)
    return time.process_time() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=200_000, help="messages per measurement (default 200,000)")
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args = ap.parse_args(argv)
    base = _load(args.corpus)
    reps = max(1, args.n // len(base))
    msgs = base * reps
    n = len(msgs)
    avg_chars = sum(len(b) + len(s or "") for b, s, _ in base) / len(base)

    t0 = time.process_time()
    clf = Classifier.load()
    load_s = time.process_time() - t0

    print("rules throughput (omnidesk.rules.classifier), CPU time of this process on one core")
    print(f"  rules engine: {compiled.STATUS}")
    print(f"  {machine_line()}")
    ref = min(timeit.repeat("sum(range(1000))", number=2000, repeat=5)) / 2000
    print(f"  CPU reference: sum(range(1000)) takes {ref * 1e6:.1f} µs here; compare runs by it")
    print(f"  corpus: {args.corpus.name}, {len(base)} messages (avg {avg_chars:.0f} chars) x {reps} = {n:,}")
    print(
        f"  rules loaded and compiled in {load_s * 1000:.0f} ms ({len(clf.rules)} rules, "
        f"{len(clf.matcher.phrase_rest):,} phrases)"
    )

    clf.clear_caches()
    cold = _run(clf, msgs)
    print(f"  cold   {n / cold:>10,.0f} msgs/s  ({cold:.2f} s, empty caches at start)")
    best = min(_run(clf, msgs) for _ in range(3))
    print(f"  warm   {n / best:>10,.0f} msgs/s  ({best:.2f} s, best of 3)")

    rng = random.Random(7)

    def noise() -> str:
        return "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(5, 9)))

    unseen_n = min(n, 50_000)
    unseen = [(f"{b} {noise()} {noise()}", s, c) for b, s, c in msgs[:unseen_n]]
    t = _run(clf, unseen)
    print(f"  unseen {unseen_n / t:>10,.0f} msgs/s  ({unseen_n:,} messages, 2 never-seen words each)")
    pure = Classifier(load_ruleset(), pure=True)
    py_n = min(n, 20_000)
    _run(pure, msgs[:py_n])
    py = _run(pure, msgs[:py_n])
    print(f"  python {py_n / py:>10,.0f} msgs/s  ({py_n:,} messages, warm: the pure-Python fallback path)")
    ok = n / best >= 100_000
    print(f"  budget 100,000 msgs/s: {'met' if ok else 'NOT MET'} (warm)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
