"""The bridge from untrusted values to what the dashboard draws.

Every string read from a saga log becomes a `rich.text.Text` here, and only here: it goes
through the one sanitiser first (so no control character reaches the terminal) and is
never parsed as markup (so `[TODO] fix` stays `[TODO] fix` and `[/]` cannot raise).
"""

from __future__ import annotations

from rich.highlighter import JSONHighlighter
from rich.style import StyleType
from rich.text import Text

from saga_inspector.report import MISSING
from saga_inspector.sanitize import sanitize

_JSON = JSONHighlighter()


def safe(value: object, *, multiline: bool = False) -> str:
    """A stored value as a string fit for the screen or the clipboard."""
    return sanitize(value, multiline=multiline)


def plain(value: object, style: StyleType = "", *, multiline: bool = False) -> Text:
    """A stored value as plain text (None shows as a dash)."""
    if value is None:
        return Text(MISSING, style="dim")
    return Text(sanitize(value, multiline=multiline), style=style, end="")


def json_text(pretty: str) -> Text:
    """Pretty-printed JSON, sanitised, with keys, strings and numbers coloured."""
    text = Text(sanitize(pretty, multiline=True), end="", no_wrap=False)
    _JSON.highlight(text)
    return text


def json_highlighter() -> JSONHighlighter:
    """The colouring for JSON, for widgets that make lines themselves (Log): feed them only
    strings from `safe()`."""
    return _JSON


def markup_literal(value: object) -> str:
    """A stored value for the few places Textual takes only markup strings (command palette
    titles): sanitised, then escaped so that it shows exactly as written.

    Every `[` is escaped, not only those that look like tags (as `textual.markup.escape`
    does): a `[` that opens no valid tag keeps the escapes after it, so `[2J[/]` showed as
    `[2J\\[/]`, and backslashes before a bracket were doubled. With every `[` escaped no
    tag can open, and the parser's one unescape (`\\[` to `[`) gives the text back."""
    return sanitize(value).replace("[", "\\[")
