"""One line per recorded opt-out: what the patient asked, when, and what follows from it.

"SMS opt-out recorded Tue 03 Dec 14:05 (patient texted “CANCEL”) — reminders by text stopped;
cancellation request in Front desk". The patient's words are their text: shown through
:func:`~omnidesk.widgets.safe_text.safe_text`, never as markup.
"""

from __future__ import annotations

from datetime import tzinfo

from rich.text import Text

from omnidesk.model import Channel, OptOutView
from omnidesk.widgets.formatting import CHANNEL_NAMES, local_time, queue_label
from omnidesk.widgets.safe_text import safe_text

WORDS_LIMIT = 40  # characters of the patient's message quoted in the line
_ASKED = {Channel.SMS: "texted", Channel.VOICEMAIL: "said", Channel.EMAIL: "wrote", Channel.PORTAL: "wrote"}
_BY = {Channel.SMS: "text", Channel.VOICEMAIL: "phone", Channel.EMAIL: "email", Channel.PORTAL: "portal"}


def opt_out_line(o: OptOutView, tz: tzinfo | None, labels: dict[str, str] | None = None) -> Text:
    """The opt-out as one line of ``Text`` (it wraps in a narrow pane)."""
    out = Text(style="yellow")
    out.append(f"{CHANNEL_NAMES.get(o.channel.value, o.channel.value)} opt-out recorded", "bold yellow")
    out.append(f" {local_time(o.at, tz)} (patient ")
    if o.words and o.words.strip():
        out.append(f"{_ASKED.get(o.channel, 'wrote')} “")
        out.append_text(safe_text(o.words.strip(), "yellow", limit=WORDS_LIMIT))
        out.append("”)")
    else:
        out.append("asked to stop)")
    out.append(f" — reminders by {_BY.get(o.channel, o.channel.value)} stopped")
    if o.cancellation_queue is not None:
        where = (labels or {}).get(o.cancellation_queue) or queue_label(o.cancellation_queue)
        out.append("; cancellation request ")
        out.append(f"in {where}" if o.cancellation_open else f"filed in {where} (thread closed)", "bold yellow")
    return out
