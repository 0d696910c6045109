"""Whether the compiled hot path (``_fast.pyx``) is used, and why not when it isn't.

The compiled module is used only when it was built from the very ``_fast.pyx`` beside it
(its SHA-256 is compiled in), so an edit to the ``.pyx`` without a rebuild can never run
stale code: the classifier falls back to its Python path (same answers, slower) until
``pip install -e .`` rebuilds it. ``OMNIDESK_PURE_RULES=1`` forces the Python path.
"""

from __future__ import annotations

import hashlib
import logging
import os
from importlib import resources
from types import ModuleType

log = logging.getLogger(__name__)

PURE_ENV = "OMNIDESK_PURE_RULES"
REBUILD_HINT = "run `pip install -e .` (needs a C compiler) to rebuild it"


def load() -> tuple[ModuleType | None, str]:
    """The compiled module (or None) and a one-line status for ``omnidesk rules`` output and logs."""
    if os.environ.get(PURE_ENV, "") not in ("", "0"):
        return None, f"pure Python ({PURE_ENV} is set)"
    try:
        from omnidesk.rules import _fast  # type: ignore[attr-defined]
    except ImportError:
        return None, f"pure Python: the compiled rules module is not built; {REBUILD_HINT}"
    try:
        source = resources.files("omnidesk.rules").joinpath("_fast.pyx").read_bytes()
    except OSError:
        source = None
    if source is not None and hashlib.sha256(source).hexdigest() != _fast.SOURCE_SHA256:
        return None, f"pure Python: the compiled rules module is older than _fast.pyx; {REBUILD_HINT}"
    return _fast, "compiled"


MODULE, STATUS = load()
if MODULE is None:
    log.info("rules engine: %s", STATUS)
