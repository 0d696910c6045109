"""The one entry point ingest calls: classify a message, then route it and start its clock.

STUB CONTRACT (to be replaced by the rules engine and router; keep the signatures):
``TriageEngine.load(config_dir)`` builds everything once; ``engine.triage(...)`` is
pure, thread-safe and fast (≥ 100k messages/s for classification).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from omnidesk.model import QUEUE_FRONT_DESK, Channel, Classification, Intent, Triage, Urgency


@dataclass(frozen=True, slots=True)
class TriageEngine:
    """Classifier + router + response-target clock, loaded once from rule files."""

    @classmethod
    def load(cls, config_dir: Path | None = None) -> TriageEngine:
        """Load the shipped defaults, overridden by files in ``config_dir`` when given."""
        return cls()

    def classify(
        self, body: str, subject: str | None = None, channel: Channel | None = None, *, reminder_reply: bool = False
    ) -> Classification:
        return Classification(intents=(Intent.GENERAL.value,), urgency=Urgency.ROUTINE)

    def triage(
        self,
        body: str,
        subject: str | None,
        channel: Channel,
        received_at: datetime,
        *,
        reminder_reply: bool = False,
    ) -> Triage:
        c = self.classify(body, subject, channel, reminder_reply=reminder_reply)
        return Triage(classification=c, queue=QUEUE_FRONT_DESK, due_at=None)
