"""Making outside text safe to show: no terminal escapes, no control characters.

Patient text is data, never markup (ARCHITECTURE.md invariant 3). The console wraps the
result in ``rich.text.Text``; the command line prints it as is.
"""

from __future__ import annotations

import re

# CSI/OSC/other ESC sequences (ECMA-48), then any remaining C0/C1 control character
# except newline and tab.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"  # CSI ... final byte
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC ... BEL or ST
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"  # DCS/SOS/PM/APC ... ST
    r"|\x1b[@-Z\\-_]"  # two-byte escapes
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROLS_ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SPACES = re.compile(r"\s+")


def strip_controls(text: str) -> str:
    """Remove escape sequences and control characters; keep newlines and tabs."""
    if not text:
        return ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROLS.sub("", _ESCAPES.sub("", text))


def one_line(text: str, limit: int | None = None) -> str:
    """Safe text folded to one line (whitespace collapsed), cut to ``limit`` characters with an ellipsis."""
    flat = _SPACES.sub(" ", _CONTROLS_ONE_LINE.sub(" ", _ESCAPES.sub("", text or ""))).strip()
    if limit is not None and len(flat) > limit:
        return flat[: max(limit - 1, 0)].rstrip() + "…"
    return flat
