"""`x`: the plain-language triage summary of the highlighted saga, in a scrollable modal.

The words come from `saga_inspector.explain` (the same text `show --explain` prints); here
they are only coloured by tone. The text can be selected with the mouse (ctrl+c copies the
selection) and `c` copies all of it, as on the dashboard.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from saga_inspector.explain import Explanation, Line, explain, render_text
from saga_inspector.store import SagaDetail
from saga_inspector.tui.text import plain

from .scrolling import SCROLL_KEYS, ScrollingModal

_TONES = ("ok", "warn", "bad", "dim")
_SECTION_INDENT = 2


def _static(text: Text, *classes: str, indent: int = 0) -> Static:
    line = Static(text, markup=False, classes=" ".join(("explain-line", *classes)))
    if indent:
        # Padding, not leading spaces: a long line wraps under its own start.
        line.styles.padding = (0, 0, 0, indent)
    return line


class ExplainBody(Vertical):
    """The summary, one widget a line (so wrapped lines keep their indent), drawn as text
    (never markup), coloured by tone through CSS classes (`-ok`, `-warn`, `-bad`, `-dim`)."""

    def __init__(self, explanation: Explanation, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.explanation = explanation

    def compose(self) -> ComposeResult:
        explanation = self.explanation
        yield _static(plain(explanation.title), "-title")
        yield self._line(explanation.verdict, indent=0)
        for section in explanation.sections:
            yield _static(plain(section.title), "-section")
            for line in section.lines:
                yield self._line(line)

    @staticmethod
    def _line(line: Line, indent: int = _SECTION_INDENT) -> Static:
        classes = [f"-{line.tone}"] if line.tone in _TONES else []
        if line.chart:
            classes.append("-chart")
        return _static(plain(line.text), *classes, indent=indent + line.indent)


class ExplainScreen(ScrollingModal):
    AUTO_FOCUS = BODY = "#explain-scroll"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,x", "dismiss", "Close", key_display="esc"),
        Binding("c", "copy", "Copy summary"),
        *SCROLL_KEYS,
    ]

    def __init__(self, detail: SagaDetail, now: datetime | None = None, *,
                 last_write: float | None = None, several: bool = False) -> None:
        """`last_write`: when the saga's log was last written (explain's abandoned note);
        `several`: more than one log is shown (what is copied names the saga's)."""
        super().__init__()
        self.detail = detail
        self.several = several
        self.now = now
        self.explanation = explain(detail, now, last_write=last_write)

    @property
    def summary(self) -> str:
        """The whole summary as plain text (what `c` copies)."""
        return render_text(self.explanation)

    def compose(self) -> ComposeResult:
        box = Vertical(id="explain-box")
        box.border_title = f"triage summary · saga {self.detail.saga.saga_id}"
        box.border_subtitle = "escape closes · c copies · arrows scroll · select with the mouse"
        with box, VerticalScroll(id="explain-scroll"):
            yield ExplainBody(self.explanation, id="explain-body")

    def action_copy(self) -> None:
        from saga_inspector.tui.clipboard import copy_out, with_log_line

        saga = self.detail.saga
        label = saga.source.label if self.several else ""
        summary = with_log_line(self.summary, label)
        named = f"{label}:{saga.saga_id}" if label else str(saga.saga_id)
        copy_out(self.app, lambda: summary, what=f"the triage summary of saga {named}",
                 stem=f"saga-{saga.saga_id}-summary", suffix=".txt")

