"""A payload (input, cmd or output JSON) in the detail pane: focusable, copyable, openable."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import Static

from saga_inspector.tui.screens.payload import PayloadScreen
from saga_inspector.tui.text import plain
from saga_inspector.tui.views import Payload
from saga_inspector.units import format_size


class PayloadBlock(Static, can_focus=True):
    """Shows a payload's preview; `y` copies the whole value, `o` opens it full screen."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "copy", "Copy payload"),
        Binding("o,v,enter", "open", "Open in full", key_display="o"),
    ]

    def __init__(self, label: str, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="payload", markup=False)
        self.label = label
        self.payload: Payload | None = None
        self.border_title = label

    def show_payload(self, payload: Payload | None, *, missing: str = "nothing stored") -> None:
        self.payload = payload
        self.display = payload is not None
        if payload is None:
            return
        self.border_subtitle = self._subtitle(payload)
        self.set_class(payload.note is not None, "-invalid")
        self.update(self._body(payload, missing))

    @staticmethod
    def _subtitle(payload: Payload) -> str:
        if not payload.present:
            return ""
        size = format_size(payload.size)
        return f"{size} · o opens all" if payload.truncated else size

    @staticmethod
    def _body(payload: Payload, missing: str) -> Text:
        if not payload.present:
            return Text(f"— {missing}", style="dim italic", end="")
        body = Text(end="")
        if payload.note is not None:
            body.append("shown as text: ", style="bold")
            body.append_text(plain(payload.note))
            body.append("\n")
        body.append_text(payload.preview)
        if payload.truncated:
            body.append(
                f"\n… the first part of {format_size(payload.size)}: "
                "press o for the whole value",
                style="bold italic",
            )
        return body

    def action_copy(self) -> None:
        if self.payload is None:
            self.notify(f"no {self.label} to copy", severity="warning")
            return
        from saga_inspector.tui.clipboard import copy_payload  # loaded on first copy

        copy_payload(self.app, self.payload, f"the {self.label}")

    def action_open(self) -> None:
        if self.payload is None or not self.payload.present:  # not .full: made when opened
            self.notify(f"no {self.label} to open", severity="warning")
            return
        self.app.push_screen(PayloadScreen(self.payload))
