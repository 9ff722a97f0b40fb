"""The search line: `/` opens it, typing searches with the query language (free text and
qualifiers, store/query.py), `enter` goes back to the table, `escape` clears the search.

A query the parser does not understand is never run: the line under it says why and what it
expects, and the list stays as it was until the query is fixed.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, Label

from saga_inspector.store import QueryError, parse_query
from saga_inspector.store.query import accepted_states
from saga_inspector.tui.text import plain

# Typing pauses this long before a search runs (enter runs it at once).
SEARCH_DELAY_S = 0.25


class SearchBar(Vertical):
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
        self.error: QueryError | None = None  # why the text typed is not a query

    def compose(self) -> ComposeResult:
        with Horizontal(id="search-row"):
            yield Label("search", id="search-label")
            yield Input(
                placeholder="text, or state: name: label: reason: step: target: pending: id: "
                            "since: until: slower:  ·  enter: back to the table  ·  escape: "
                            "clear",
                id="search-input",
                compact=True,
            )
        yield Label(id="search-error")

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
        if self._check():
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
        if not self._check():
            self.app.bell()  # stay on the line: the message under it says what to fix
            return
        self.display = bool(self.text)
        self.post_message(self.Changed(self.text, submitted=True))

    def _check(self) -> bool:
        """Parse what is typed; show why when it is not a query. True when it is one."""
        try:
            parse_query(self.text, states=self._accepted_states())
        except QueryError as error:
            self._show_error(error)
            return False
        self._show_error(None)
        return True

    def _accepted_states(self) -> frozenset[str]:
        """The open file's format's states and those it holds (known or not), once its
        counts have been read; every known format's states before."""
        counts = getattr(self.screen, "counts", None)
        if counts is None:
            return accepted_states()
        return accepted_states(counts.by_state, counts.log_format.saga_states)

    def _show_error(self, error: QueryError | None) -> None:
        self.error = error
        label = self.query_one("#search-error", Label)
        # The message quotes what was typed: drawn as Text, sanitised, never as markup.
        label.update(plain(error.message if error else ""))
        label.set_class(error is not None, "-shown")

    def action_clear(self) -> None:
        self.clear()

    def clear(self) -> None:
        self._stop_timer()
        with self.input.prevent(Input.Changed):
            self.input.value = ""
        self._show_error(None)
        self.display = False
        self.post_message(self.Cleared())
