"""The search line: `/` opens it, typing searches id, name, failure reason and input,
`enter` goes back to the table, `escape` clears the search."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, Label

# Typing pauses this long before a search runs (enter runs it at once).
SEARCH_DELAY_S = 0.25


class SearchBar(Horizontal):
    """Hidden until used; stays shown while a search is applied."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "clear", "Clear search")]

    class Changed(Message):
        """The text to search for changed (`submitted`: apply now, leave the bar)."""

        def __init__(self, text: str, *, submitted: bool) -> None:
            super().__init__()
            self.text = text
            self.submitted = submitted

    class Cleared(Message):
        """The search was cleared and the bar closed."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Label("search", id="search-label")
        yield Input(
            placeholder="id, name, failure reason or input  ·  enter: back to the table  "
                        "·  escape: clear",
            id="search-input",
            compact=True,
        )

    @property
    def input(self) -> Input:
        return self.query_one(Input)

    @property
    def text(self) -> str:
        return self.input.value.strip()

    def open(self) -> None:
        self.display = True
        self.input.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        # Typing searches as it goes, once the keys pause: not one query per keystroke.
        event.stop()
        self._stop_timer()
        self._timer = self.set_timer(SEARCH_DELAY_S, self._typed)

    def _typed(self) -> None:
        self._timer = None
        self.post_message(self.Changed(self.text, submitted=False))

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._stop_timer()
        self.display = bool(self.text)
        self.post_message(self.Changed(self.text, submitted=True))

    def action_clear(self) -> None:
        self.clear()

    def clear(self) -> None:
        self._stop_timer()
        with self.input.prevent(Input.Changed):
            self.input.value = ""
        self.display = False
        self.post_message(self.Cleared())
