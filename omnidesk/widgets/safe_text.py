"""The one way patient-controlled strings reach the screen.

Names, bodies, subjects, previews and contact points come from outside. They are shown
as ``rich.text.Text`` built from plain strings (never parsed as markup), with terminal
escapes, control characters and bidirectional overrides removed (ARCHITECTURE.md,
invariant 3). Every widget that shows such a string calls :func:`safe_text` or
:func:`safe_line`.
"""

from __future__ import annotations

import re

from rich.style import Style
from rich.text import Text

from omnidesk.services.text import one_line, strip_controls

# Bidi embeddings/overrides/isolates can make a line read differently from what it holds.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def clean(value: object, *, multiline: bool = False, limit: int | None = None) -> str:
    """Plain safe text: escapes and control characters stripped; one line unless ``multiline``."""
    raw = "" if value is None else str(value)
    raw = _BIDI.sub("", raw)
    if multiline:
        return strip_controls(raw).expandtabs(4)
    return one_line(raw, limit)


def safe_text(value: object, style: str | Style = "", *, limit: int | None = None) -> Text:
    """One line of outside text as ``Text`` (no markup), folded and cut to ``limit`` characters."""
    return Text(clean(value, limit=limit), style=style, no_wrap=True, overflow="ellipsis")


def safe_body(value: object, style: str | Style = "") -> Text:
    """A message body as ``Text`` (no markup); newlines kept, everything else unsafe removed."""
    return Text(clean(value, multiline=True), style=style)


safe_line = safe_text
