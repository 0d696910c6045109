"""The one entry point ingest calls: classify a message, then route it and start its clock.

``TriageEngine.load(config_dir)`` builds everything once: the classifier (shipped rules
plus ``config_dir/rules*.toml``) and the practice's router and business-hours clock
(``default_practice.toml`` plus ``config_dir/practice.toml``). ``engine.triage(...)`` is
pure and thread-safe, so one engine serves every worker.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from omnidesk.model import Channel, Classification, Triage
from omnidesk.rules.classifier import Classifier
from omnidesk.rules.hours import BusinessHours
from omnidesk.rules.practice import PracticeConfig, load_practice
from omnidesk.rules.routing import Route, Router

PRACTICE_FILE = "practice.toml"
RULES_GLOB = "rules*.toml"


class TriageEngine:
    """Classifier + router + response-target clock, loaded once from the settings files."""

    __slots__ = ("classifier", "config", "hours", "router")

    def __init__(self, classifier: Classifier | None = None, config: PracticeConfig | None = None) -> None:
        self.classifier = classifier if classifier is not None else Classifier.load()
        self.config = config if config is not None else load_practice()
        self.hours = BusinessHours.from_config(self.config)
        self.router = Router(self.config, self.hours)

    @classmethod
    def load(cls, config_dir: Path | None = None) -> TriageEngine:
        """Load the shipped defaults, overridden by files in ``config_dir`` when given.

        ``config_dir/rules*.toml`` (sorted by name) extend or override the classifier's rules;
        ``config_dir/practice.toml`` overrides the practice settings. Bad files raise
        ``PracticeConfigError`` (or the classifier's error) naming the file and key.
        """
        rule_files: Sequence[Path] = ()
        practice_files: Sequence[Path] = ()
        if config_dir is not None:
            config_dir = Path(config_dir)
            rule_files = sorted(p for p in config_dir.glob(RULES_GLOB) if p.is_file())
            practice = config_dir / PRACTICE_FILE
            practice_files = (practice,) if practice.is_file() else ()
        return cls(Classifier.load(rule_files), load_practice(practice_files))

    @property
    def queues(self) -> list[tuple[str, str]]:
        """(id, label) of every queue in display order; the emergency queue first."""
        return list(self.config.queues)

    def classify(
        self, body: str, subject: str | None = None, channel: Channel | None = None, *, reminder_reply: bool = False
    ) -> Classification:
        """Intents, urgency and the rules that set them, for one message's text."""
        return self.classifier.classify(body, subject, channel, reminder_reply=reminder_reply)

    def route(self, classification: Classification) -> str:
        """The queue id that owns a message with this classification."""
        return self.router.route(classification)

    def decide(self, classification: Classification) -> Route:
        """The queue plus whether the message is handled automatically (consent-only)."""
        return self.router.decide(classification)

    def triage(
        self,
        body: str,
        subject: str | None,
        channel: Channel,
        received_at: datetime,
        *,
        reminder_reply: bool = False,
    ) -> Triage:
        """Classify, route and time one message; ``received_at`` must be timezone-aware."""
        c = self.classifier.classify(body, subject, channel, reminder_reply=reminder_reply)
        return self.router.triage(c, received_at)

    def triage_classified(self, classification: Classification, received_at: datetime) -> Triage:
        """Route and time a message that is already classified."""
        return self.router.triage(classification, received_at)
