"""terminal_safe: no escape sequence, control character or bidi override reaches a terminal."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.table import Table

from evallock.report import terminal_safe
from evallock.report.terminal import plain_text, safe_text

_FORBIDDEN = set("\x1b\x07\r\x7f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
_FORBIDDEN |= {chr(c) for c in range(0x00, 0x20) if chr(c) not in "\n\t"}
_FORBIDDEN |= {chr(c) for c in range(0x80, 0xA0)}


@pytest.mark.parametrize(
    ("hostile", "shown"),
    [
        ("\x1b]8;;https://evil.example/\x07click\x1b]8;;\x07", "click"),  # OSC 8 hyperlink
        ("\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\", "click"),  # … ended by ST
        ("\x1b]0;new title\x07text", "text"),  # window title
        ("a\x1b[2J\x1b[1;1Hb\x1b[38;5;196mc\x1b[0m", "abc"),  # CSI: clear, move, colour
        ("hidden\x1b[8m secret\x1b[28m", "hidden secret"),  # conceal
        ("\x9b2Jx\x9d0;t\x9cy", "xy"),  # C1 CSI and OSC
        ("\x1bPq#0;2;0;0;0\x1b\\after", "after"),  # DCS (sixel)
        ("ok\x1b7saved\x1b8", "oksaved"),  # two-byte escapes
        ("safe\x1b]8;;unterminated\nnext line", "safe\nnext line"),  # unterminated OSC ends at EOL
        ("over\rwrite", "overwrite"),
        ("\u202eevil\u202c \u2066x\u2069", "evil x"),
        ("keep\ttabs\nand lines", "keep\ttabs\nand lines"),
        ("[bold]not markup[/] [link=https://e.example]x[/link]", "[bold]not markup[/] [link=https://e.example]x[/link]"),
        ("ünïcødé ✓ 日本語 👍", "ünïcødé ✓ 日本語 👍"),
    ],
)  # fmt: skip
def test_sequences_are_removed_and_words_kept(hostile: str, shown: str) -> None:
    assert terminal_safe(hostile) == shown


def test_newlines_fold_into_spaces_when_asked() -> None:
    assert terminal_safe("a\r\nb\u2028c\td", newlines=False) == "a b c d"
    assert terminal_safe("a\u2028b") == "a\nb"


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=200))
def test_nothing_forbidden_survives(text: str) -> None:
    cleaned = terminal_safe(text)
    assert not _FORBIDDEN & set(cleaned)
    assert not _FORBIDDEN & set(terminal_safe(text, newlines=False)) - {"\n"}


def test_linear_time_on_long_hostile_text() -> None:
    # Unterminated sequences of every kind, repeated: no pattern may backtrack.
    text = ("\x1b[" + "0;" * 50 + "\x1b]" + "x" * 50 + "\x9b" + "1" * 50) * 5_000
    assert len(terminal_safe(text)) < len(text)


def render(*rows: object) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=200, force_terminal=True, color_system=None)
    table = Table()
    table.add_column("a")
    table.add_row(*rows)  # type: ignore[arg-type]
    console.print(table)
    return buffer.getvalue()


def test_safe_and_plain_text_are_never_markup() -> None:
    hostile = "[link=https://evil.example/]x[/link] [bold red]y\x1b[2J"
    for text in (safe_text(hostile), plain_text(hostile)):
        out = render(text)
        assert "[link=https://evil.example/]x[/link]" in out
        assert "\x1b[2J" not in out
    assert safe_text("a\nb", 10).plain == "a b"
    assert plain_text("a\nb").plain == "a\nb"
    assert safe_text("x" * 50, 10).plain == "x" * 9 + "…"
