from omnidesk.services.text import one_line, strip_controls


def test_strips_ansi_and_controls_keeps_newlines() -> None:
    raw = "a\x1b[31mred\x1b[0m\x07b\r\nnext\x1b]0;title\x07line\x00\x9b2Jend\tx"
    assert strip_controls(raw) == "aredb\nnextlineend\tx"


def test_markup_is_left_as_text() -> None:
    assert strip_controls("[bold red]x[/]") == "[bold red]x[/]"


def test_one_line_collapses_and_cuts() -> None:
    assert one_line("  hello\n\n  world\x1b[1m!  ", 8) == "hello w…"
    assert one_line("short", 10) == "short"
    assert one_line("") == ""
