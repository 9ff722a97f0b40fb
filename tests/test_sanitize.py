"""The one sanitiser: nothing that can steer a terminal or hide/reorder text gets through;
ordinary text, including markup-looking text, passes unchanged."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from saga_inspector.sanitize import is_safe, sanitize

C0 = [chr(code) for code in range(0x20)]
DEL = ["\x7f"]
C1 = [chr(code) for code in range(0x80, 0xA0)]
BIDI = ["\u061c", "\u200e", "\u200f", *map(chr, range(0x202A, 0x202F)),
        *map(chr, range(0x2066, 0x206A))]
ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u180e", "\u00ad",
              "\u2061", "\u2062", "\u2063", "\u2064"]
SEPARATORS = ["\u2028", "\u2029"]
TAGS = ["\U000e0001", "\U000e0041", "\U000e007f"]
SURROGATES = ["\ud800", "\udbff", "\udc00", "\udcff", "\udfff"]
NEVER_SHOWN = set(DEL + C1 + BIDI + ZERO_WIDTH + SEPARATORS + TAGS + SURROGATES
                  + [c for c in C0 if c not in "\n\t"])
ONE_LINE_FORBIDDEN = NEVER_SHOWN | {"\n", "\t"}


def forbidden_in(text: str, *, multiline: bool) -> set[str]:
    forbidden = NEVER_SHOWN if multiline else ONE_LINE_FORBIDDEN
    return {ch for ch in text if ch in forbidden or 0xD800 <= ord(ch) <= 0xDFFF}


@pytest.mark.parametrize("multiline", [False, True])
@pytest.mark.parametrize(
    "ch", C0 + DEL + C1 + BIDI + ZERO_WIDTH + SEPARATORS + TAGS + SURROGATES,
    ids=lambda ch: f"U+{ord(ch):04X}",
)
def test_each_dangerous_character_becomes_a_visible_stand_in(ch, multiline):
    shown = sanitize(f"a{ch}b", multiline=multiline)
    if multiline and ch in "\n\t":
        assert shown == f"a{ch}b"
        return
    assert ch not in shown
    assert shown.startswith("a") and shown.endswith("b")
    assert len(shown) > 2                        # a stand-in, not a silent deletion
    assert not forbidden_in(shown, multiline=multiline)


def test_stand_ins_say_what_was_there():
    assert sanitize("\x1b]0;pwned\x07") == "\u241b]0;pwned\u2407"
    assert sanitize("\x00\x7f") == "\u2400\u2421"
    assert sanitize("\x9b2J") == "\\x9b2J"
    assert sanitize("\u202eevil") == "<U+202E>evil"
    assert sanitize("\ud800") == "\\ud800"
    assert sanitize("line\nnext\ttab") == "line\u240anext\u2409tab"
    assert sanitize("line\r\nnext", multiline=True) == "line\u240d\nnext"


@pytest.mark.parametrize(
    "text",
    [
        "[TODO] fix",
        "[/]",
        "[bold red]not markup[/bold red]",
        "[link=http://x]x[/link]",
        ":warning: {curly} <tag> & \\n",
        "saga timeout | recovered: launcher restarted while saga in state 'failed'",
        '{"closed_label":"window-pool-9f1c2e7a4b3d4e0f8a6b5c4d3e2f1a0b"}',
        "Grüße, 日本語, émoji 🚀, עברית",
        "",
    ],
)
def test_ordinary_and_markup_looking_text_passes_unchanged(text):
    assert sanitize(text) == text
    assert sanitize(text, multiline=True) == text
    assert is_safe(text)


def test_emoji_with_a_zero_width_joiner_is_shown_with_the_joiner_visible():
    family = "\U0001f468\u200d\U0001f469"
    assert sanitize(family) == "\U0001f468<U+200D>\U0001f469"


def test_values_that_are_not_text():
    assert sanitize(None) == ""
    assert sanitize(41) == "41"
    assert sanitize(b"ok\xff\x1b") == "ok\\xff\u241b"
    assert not is_safe("a\x1bb")
    assert is_safe("a\nb", multiline=True)
    assert not is_safe("a\nb")


ANY_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(codec=None),                    # anything, surrogates included
        st.sampled_from(sorted(ONE_LINE_FORBIDDEN)),  # and the dangerous ones, often
    )
)


@given(ANY_TEXT, st.booleans())
def test_sanitised_text_never_holds_a_dangerous_character(text, multiline):
    shown = sanitize(text, multiline=multiline)
    assert not forbidden_in(shown, multiline=multiline)
    # Idempotent: the stand-ins are themselves safe.
    assert sanitize(shown, multiline=multiline) == shown
    # And it always encodes: no lone surrogate left to break a terminal's encoder.
    shown.encode("utf-8")


@given(st.text(alphabet=st.characters(blacklist_categories=["Cc", "Cf", "Cs", "Zl", "Zp"])))
def test_text_without_controls_or_format_characters_is_unchanged(text):
    assert sanitize(text) == text
