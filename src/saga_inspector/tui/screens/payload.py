"""A payload's whole value, full screen and scrollable; only visible lines are drawn, so a
value of megabytes opens at once."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Log, Static

from saga_inspector.tui.text import json_highlighter, plain
from saga_inspector.tui.views import Payload, format_size

from .scrolling import SCROLL_KEYS, ScrollingModal


class PayloadScreen(ScrollingModal):
    BODY = "#payload-log"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "dismiss", "Close", key_display="esc"),
        Binding("y", "copy", "Copy"),
        *SCROLL_KEYS,
    ]

    def __init__(self, payload: Payload) -> None:
        super().__init__()
        self.payload = payload

    def compose(self) -> ComposeResult:
        yield Static(self._title(), id="payload-title", markup=False)
        yield Log(id="payload-log", highlight=self.payload.note is None, auto_scroll=False)
        yield Footer()

    def _title(self) -> Text:
        payload = self.payload
        title = Text(f" {payload.label} ", style="bold", end="")
        title.append(f" {format_size(payload.size)} stored")
        if payload.note is not None:
            title.append("   shown as text: ", style="bold")
            title.append_text(plain(payload.note))
        return title

    def on_mount(self) -> None:
        log = self.query_one(Log)
        log.highlighter = json_highlighter()
        log.write_lines((self.payload.full or "").split("\n"))
        log.scroll_home(animate=False)
        log.focus()

    def action_copy(self) -> None:
        from saga_inspector.tui.clipboard import copy_payload  # loaded on first copy

        copy_payload(self.app, self.payload, f"the {self.payload.label}")

