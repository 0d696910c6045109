"""Patient text reaches the screen as plain Text: no markup, no escapes, no control characters."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from omnidesk.widgets.safe_text import clean, safe_body, safe_text

HOSTILE = "[bold red]x[/] \x1b[31mred\x1b[0m"


def _render(text: Text) -> str:
    console = Console(width=80, color_system=None, record=True)
    console.print(text)
    return console.export_text()


def test_markup_is_shown_literally_and_escapes_are_removed() -> None:
    text = safe_body(HOSTILE)
    assert isinstance(text, Text)
    assert text.plain == "[bold red]x[/] red"
    assert not text.spans  # no style was parsed out of the patient's words
    assert _render(text).strip() == "[bold red]x[/] red"


def test_body_keeps_newlines_but_drops_controls() -> None:
    assert clean("line one\r\nline\x07 two\x00\n\tend", multiline=True) == "line one\nline two\n    end"


def test_one_line_folds_whitespace_and_cuts_with_ellipsis() -> None:
    assert clean("a\nb\tc   d") == "a b c d"
    assert clean("abcdefghij", limit=5) == "abcd…"
    assert safe_text("x" * 20, limit=5).plain == "xxxx…"


def test_bidi_overrides_and_osc_sequences_are_stripped() -> None:
    assert clean("evil\u202egnp.exe") == "evilgnp.exe"
    assert clean("click \x1b]8;;http://x\x07here\x1b]8;;\x07") == "click here"


def test_none_and_non_strings_are_safe() -> None:
    assert safe_text(None).plain == ""
    assert safe_text(42).plain == "42"
