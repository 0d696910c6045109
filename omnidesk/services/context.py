"""What every use case needs: the store engine, who is acting, and the practice's rules."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from omnidesk.model import StaffUser

if TYPE_CHECKING:  # not imported at run time: opening the console must not wait for them
    from sqlalchemy import Engine

    from omnidesk.rules.triage import TriageEngine


ENV_CONFIG = "OMNIDESK_CONFIG"


def config_dir() -> Path:
    """The practice's settings folder (``practice.toml``, ``rules*.toml``): ``$OMNIDESK_CONFIG``,
    else the platform's user config directory (e.g. ``~/.config/omnidesk``)."""
    env = os.environ.get(ENV_CONFIG)
    if env:
        return Path(env)
    from platformdirs import user_config_path

    return user_config_path("omnidesk", appauthor=False)


def load_triage(folder: Path | None = None) -> TriageEngine:
    """The shipped rules and practice settings with ``folder``'s overrides (default :func:`config_dir`).

    A bad settings file becomes an ``OmnideskError`` that names the file and the key.
    """
    from omnidesk.rules.practice import PracticeConfigError
    from omnidesk.rules.ruleset import DEFAULT_SOURCE, RulesError
    from omnidesk.rules.triage import TriageEngine
    from omnidesk.services.errors import OmnideskError

    folder = config_dir() if folder is None else folder
    try:
        return TriageEngine.load(folder if folder.is_dir() else None)
    except (PracticeConfigError, RulesError) as exc:
        if isinstance(exc, RulesError) and exc.source == DEFAULT_SOURCE:
            hint = "the rules shipped with omnidesk are damaged: reinstall omnidesk"
        else:
            hint = f"fix the file in {folder} and start again"
        raise OmnideskError(str(exc), hint=hint, code="config") from None


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
        return load_triage()

    def as_user(self, user: StaffUser) -> Context:
        """The same store and rules, acting as ``user``."""
        return Context(self.engine, user, self.thread_window_days, self.triage)
