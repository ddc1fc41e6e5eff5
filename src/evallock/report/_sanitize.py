"""Terminal-safe text: what a trace, a case or an answer says, made harmless to print.

Text from traffic, traces, case files and the store is hostile: an escape
sequence in it can move the cursor, rewrite earlier lines, hide text, set the
window title or plant an OSC 8 hyperlink; a bidi override can make a line read
differently from what it holds. :func:`terminal_safe` removes all of that and
keeps the words. Every terminal renderer prints such text through it, and as
``rich.text.Text`` (never parsed as markup, so ``[link=…]`` stays literal).
"""

from __future__ import annotations

import re

__all__ = ["terminal_safe"]

# Whole sequences first, so their parameters do not survive as visible noise:
# CSI (ESC [ or C1 0x9B … final byte), OSC/DCS/SOS/PM/APC strings (ESC ] P X ^ _ or
# their C1 forms, up to BEL or ST — or the line's end when unterminated), then any
# other two-byte ESC sequence. None of these patterns can backtrack.
_SEQUENCES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c\n]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -~]?"
)
# Then single characters: C0 but tab and newline, DEL, C1, and the bidi controls.
_CHARACTERS = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
_NEWLINES = re.compile("[\n\u2028\u2029\x85]+")


def terminal_safe(text: str, *, newlines: bool = True) -> str:
    """``text`` without escape sequences, control characters or bidi overrides.

    Args:
        text: hostile text.
        newlines: keep newlines (and tabs); False folds every run of them into a space.

    >>> terminal_safe("ok\\x1b[2J\\x1b]8;;https://evil.example\\x07click\\x1b]8;;\\x07 \\u202eevil")
    'okclick evil'
    >>> terminal_safe("a\\r\\nb\\tc", newlines=False)
    'a b c'
    """
    cleaned = _CHARACTERS.sub("", _SEQUENCES.sub("", text))
    if not newlines:
        cleaned = _NEWLINES.sub(" ", cleaned).replace("\t", " ")
    else:
        cleaned = cleaned.replace("\u2028", "\n").replace("\u2029", "\n")
    return cleaned
