"""The one sanitiser: every string read from a saga log passes through here before it is
drawn, printed, copied or exported as text.

Control characters, escape sequences and invisible direction overrides are replaced by
visible stand-ins, so stored text can never retitle, clear or write to the operator's
terminal, nor disguise itself. Markup is a separate matter: the TUI draws the result as
plain `rich.text.Text`, never parsing it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# C0 controls become the Unicode "control pictures" (ESC -> ␛, NUL -> ␀), DEL -> ␡.
_C0 = {code: chr(0x2400 + code) for code in range(0x20)}
_DEL = {0x7F: "\u2421"}
# C1 controls (0x9B is a one-byte CSI on some terminals) as their escape text.
_C1 = {code: f"\\x{code:02x}" for code in range(0x80, 0xA0)}
# Characters that reorder or hide text: bidi overrides/isolates/marks, zero-width ones,
# line/paragraph separators, the byte order mark; lone surrogates.
_INVISIBLE = [0x061C, *range(0x200B, 0x2010), *range(0x202A, 0x202F), *range(0x2066, 0x206A),
              0x2028, 0x2029, 0xFEFF,
              # Also invisible: soft hyphen, Mongolian vowel separator, word joiner and the
              # invisible operators, deprecated format controls, interlinear annotation marks,
              # and the tag characters (which can smuggle a hidden ASCII message).
              0x00AD, 0x180E, *range(0x2060, 0x2065), *range(0x206A, 0x2070),
              *range(0xFFF9, 0xFFFC), 0xE0001, *range(0xE0020, 0xE0080)]
_FORMAT = {code: f"<U+{code:04X}>" for code in _INVISIBLE}
_SURROGATES = {code: f"\\u{code:04x}" for code in range(0xD800, 0xE000)}

_ONE_LINE = str.maketrans({**_C0, **_DEL, **_C1, **_FORMAT, **_SURROGATES})
_MULTI_LINE = str.maketrans(
    {**{k: v for k, v in _C0.items() if k not in (0x09, 0x0A)}, **_DEL, **_C1, **_FORMAT,
     **_SURROGATES}
)


def _any_of(codes: Iterable[int]) -> re.Pattern[str]:
    """A pattern finding any of `codes` (as ranges of consecutive code points)."""
    ranges: list[list[int]] = []
    for code in sorted(codes):
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return re.compile("[" + "".join(f"\\U{low:08x}-\\U{high:08x}" for low, high in ranges)
                      + "]")


# The fast path: most stored text has nothing to replace, and one search (C, no copy) says
# so faster than a translation that changes nothing (an export sanitises every cell).
_FINDS = {False: _any_of(_ONE_LINE), True: _any_of(_MULTI_LINE)}
_TABLES = {False: _ONE_LINE, True: _MULTI_LINE}


def sanitize(value: object, *, multiline: bool = False) -> str:
    """Stored text made safe to show: every control made visible. None becomes "".

    `multiline` keeps newlines and tabs (for payload bodies); otherwise they become ␊ and ␉
    so that one value stays on one line.
    """
    if value is None:
        return ""
    if isinstance(value, bytes):
        text = value.decode("utf-8", errors="backslashreplace")
    else:
        text = value if isinstance(value, str) else str(value)
    if _FINDS[multiline].search(text) is None:
        return text
    return text.translate(_TABLES[multiline])


def is_safe(text: str, *, multiline: bool = False) -> bool:
    """Whether `text` would pass through `sanitize` unchanged (for tests and assertions)."""
    return sanitize(text, multiline=multiline) == text


def all_safe(texts: Iterable[str]) -> bool:
    """Whether every one of `texts` would pass through `sanitize` unchanged (one-line): one
    search over them all, for an export that sanitises a page of cells at a time. (The
    sanitiser replaces characters one by one, and the space joining them is safe.)"""
    joined = " ".join(texts)
    # Printable ASCII (space to `~`) is never replaced: two scans in C, five times faster
    # than the search, say so of the usual page; anything else is searched.
    return (joined.isascii() and joined.isprintable()) or _FINDS[False].search(joined) is None
