"""A payload's whole value, full screen: wrapped by default (`w` toggles), scrolled sideways
when not; only visible rows are drawn and a large value is prepared off the UI thread, so a
value of megabytes opens at once (saying it is loading) and escape always closes."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Static

from saga_inspector.tui.text import plain
from saga_inspector.tui.views import Payload
from saga_inspector.tui.widgets.payload_view import PayloadView
from saga_inspector.units import format_size

from .scrolling import SCROLL_KEYS, ScrollingModal


class PayloadScreen(ScrollingModal):
    AUTO_FOCUS = BODY = "#payload-view"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "dismiss", "Close", key_display="esc"),
        Binding("y", "copy", "Copy"),
        *SCROLL_KEYS,
    ]

    def __init__(self, payload: Payload, *, wrap: bool = True) -> None:
        super().__init__()
        self.payload = payload
        self._wrap = wrap

    def compose(self) -> ComposeResult:
        yield Static(id="payload-title", markup=False)
        yield PayloadView(self.payload, wrap=self._wrap, id="payload-view")
        yield Footer()

    def on_mount(self) -> None:
        view = self.query_one(PayloadView)
        self.watch(view, "wrap", self._show_title)
        self.watch(view, "ready", self._show_title)

    def _show_title(self) -> None:
        self.query_one("#payload-title", Static).update(self._title(self.query_one(PayloadView)))

    def _title(self, view: PayloadView) -> Text:
        payload = self.payload
        title = Text(f" {payload.label} ", style="bold", end="")
        title.append(f" {format_size(payload.size)} stored · ")
        title.append("wrap on" if view.wrap else "wrap off", style="bold")
        if not view.ready:
            title.append(f" · {view.loading_message}", style="bold italic")
        if payload.note is not None:
            title.append("   shown as text: ", style="bold")
            title.append_text(plain(payload.note))
        return title

    def action_copy(self) -> None:
        from saga_inspector.tui.clipboard import copy_payload  # loaded on first copy

        copy_payload(self.app, self.payload, f"the {self.payload.label}")
