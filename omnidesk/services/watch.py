"""Following other writers' changes (see :mod:`omnidesk.store.changes`)."""

from __future__ import annotations

from omnidesk.services.context import Context
from omnidesk.services.errors import store_errors
from omnidesk.services.permissions import THREAD_VIEW, require
from omnidesk.store import changes

ChangeFeed = changes.ChangeFeed


def open_change_feed(ctx: Context) -> ChangeFeed:
    """A feed whose ``wait(timeout)`` returns True when another connection committed a change.

    Not audited: it reads no patient data (what the console then loads is read as usual).
    """
    require(ctx, THREAD_VIEW)
    with store_errors(str(ctx.engine.url)):
        return changes.open_feed(ctx.engine)
