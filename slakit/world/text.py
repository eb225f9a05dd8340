"""Text from outside (YAML values, Git metadata, file names) made safe to show.

One set of character classes for every source: control characters, bidirectional
overrides (which can make "evil.exe" read as "exe.live") and noncharacters (which make a
page invalid HTML) never reach a page, a terminal or a report.
"""

from __future__ import annotations

import re

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_NONCHARACTERS = "\ufdd0-\ufdef" + "".join(
    chr(plane * 0x10000 + 0xFFFE) + chr(plane * 0x10000 + 0xFFFF) for plane in range(17)
)
BIDI = re.compile(f"[\u202a-\u202e\u2066-\u2069{_NONCHARACTERS}]")
_LINE_BREAKS = re.compile(r"[\n\t]")
_UNSAFE = re.compile(f"{CONTROL.pattern[:-1]}{BIDI.pattern[1:]}")  # both classes, one pass


def clean_text(text: str) -> str:
    """Text from a file as it may appear on a page: control characters and bidirectional
    overrides become U+FFFD (line breaks and tabs stay)."""
    if text.isascii() and text.isprintable():  # most text: nothing to replace, checked in C
        return text
    return _UNSAFE.sub("\ufffd", text)


def clean_line(text: str) -> str:
    """Like `clean_text`, for text that must stay on one line (a commit subject, an author,
    a file name): line breaks and tabs become U+FFFD too, so nothing can forge a line."""
    return clean_text(_LINE_BREAKS.sub("\ufffd", text))


def decode(raw: bytes, encoding: str = "utf-8") -> str:
    """Bytes from outside as text, leniently: what cannot be decoded becomes U+FFFD."""
    try:
        return raw.decode(encoding, errors="replace")
    except LookupError:  # an encoding Python does not know (a commit's 'encoding' header)
        return raw.decode("utf-8", errors="replace")


def display_path(path: str) -> str:
    """A file name as messages and pages show it: bytes that are not UTF-8 (Python keeps them
    as surrogates) become U+FFFD, and control characters and line breaks cannot forge a line."""
    return clean_line(path.encode("utf-8", "surrogateescape").decode("utf-8", "replace"))
