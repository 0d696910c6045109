"""Routing: which queue owns a classified message, and by when it must be answered.

The order of decisions (all from the practice's settings):

1. an urgency listed under ``[routing.urgency]`` (by default ``emergency``) wins over everything;
2. a consent-only message (every intent is ``consent.*``) that is not urgent goes to the
   ``consent`` queue and is marked ``auto_handled``: answered automatically, no due time;
3. otherwise the primary intent (the first one that is not ``consent.*``) picks its queue
   from ``[routing.intent]``, falling back to ``routing.default``.

Response targets: the urgency's target and the primary intent's (or the default) both
apply and the earlier due time wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from omnidesk.model import Classification, Triage, Urgency
from omnidesk.rules.hours import BusinessHours
from omnidesk.rules.practice import PracticeConfig, Target

CONSENT_PREFIX = "consent."


@dataclass(frozen=True, slots=True)
class Route:
    """Where a message goes, and whether it is handled without staff."""

    queue: str
    auto_handled: bool = False


def primary_intent(intents: tuple[str, ...]) -> str | None:
    """The first intent that is not a consent keyword (None for consent-only or no intents)."""
    for intent in intents:
        if not intent.startswith(CONSENT_PREFIX):
            return intent
    return None


def is_consent_only(intents: tuple[str, ...]) -> bool:
    """True when the message says nothing but STOP / START / HELP (in any form)."""
    return bool(intents) and all(i.startswith(CONSENT_PREFIX) for i in intents)


class Router:
    """Queue and response-target decisions for one practice; pure and thread-safe."""

    _PLAN_CACHE_MAX = 4096  # distinct (urgency, intents) combinations remembered

    def __init__(self, config: PracticeConfig, hours: BusinessHours | None = None) -> None:
        self.config = config
        self.hours = hours or BusinessHours.from_config(config)
        self._urgency_queues = dict(config.urgency_queues)
        self._intent_queues = dict(config.intent_queues)
        # (urgency, intents) -> (route, targets). Entries are immutable and equal whoever
        # computes them, so concurrent fills are harmless.
        self._plans: dict[tuple[str, tuple[str, ...]], tuple[Route, tuple[Target, ...]]] = {}

    def decide(self, c: Classification) -> Route:
        """The queue for ``c`` and whether it is handled automatically."""
        return self._plan(c)[0]

    def route(self, c: Classification) -> str:
        """The queue id for ``c``."""
        return self._plan(c)[0].queue

    def targets(self, c: Classification) -> tuple[Target, ...]:
        """The response targets that apply to ``c`` (the earliest resulting due time wins; none if auto-handled)."""
        return self._plan(c)[1]

    def triage(self, c: Classification, received_at: datetime) -> Triage:
        """Route ``c`` and start its clock: queue, due time, after-hours flag and next opening."""
        route, targets = self._plan(c)
        due_at, after_hours, next_open_at = self.hours.response_clock(received_at, targets)
        return Triage(
            classification=c,
            queue=route.queue,
            due_at=due_at,
            after_hours=after_hours,
            next_open_at=next_open_at,
            auto_handled=route.auto_handled,
        )

    def _plan(self, c: Classification) -> tuple[Route, tuple[Target, ...]]:
        key = (c.urgency, c.intents)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._decide(str(c.urgency), c.intents)
            if len(self._plans) < self._PLAN_CACHE_MAX:
                self._plans[key] = plan
        return plan

    def _decide(self, urgency: str, intents: tuple[str, ...]) -> tuple[Route, tuple[Target, ...]]:
        config = self.config
        primary = primary_intent(intents)
        queue = self._urgency_queues.get(urgency)
        if queue is None and urgency == Urgency.ROUTINE and is_consent_only(intents):
            return Route(config.consent_queue, auto_handled=True), ()
        if queue is None:
            queue = self._intent_queues.get(primary, config.default_queue) if primary else config.default_queue
        return Route(queue), config.target_for(urgency, primary)
