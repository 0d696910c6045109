"""What every use case needs: the store engine, who is acting, and the practice's rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from omnidesk.model import StaffUser

if TYPE_CHECKING:  # not imported at run time: opening the console must not wait for them
    from sqlalchemy import Engine

    from omnidesk.rules.triage import TriageEngine


@dataclass
class Context:
    """Passed to every service call. ``user`` is the staff member acting (None = the system)."""

    engine: Engine
    user: StaffUser | None = None
    thread_window_days: int = 7
    _triage: TriageEngine | None = field(default=None, repr=False)

    @cached_property
    def triage(self) -> TriageEngine:
        if self._triage is not None:
            return self._triage
        from omnidesk.rules.triage import TriageEngine

        return TriageEngine.load()

    def as_user(self, user: StaffUser) -> Context:
        """The same store and rules, acting as ``user``."""
        return Context(self.engine, user, self.thread_window_days, self.triage)
