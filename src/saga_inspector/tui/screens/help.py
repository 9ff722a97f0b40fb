"""Every key, from the bundled help.md, in a scrollable modal."""

from __future__ import annotations

from importlib.resources import files
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown


def help_markdown() -> str:
    return files(__package__).joinpath("help.md").read_text(encoding="utf-8")


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close", key_display="esc"),
        Binding("j", "scroll_body('down')", "Down", show=False),
        Binding("k", "scroll_body('up')", "Up", show=False),
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"), VerticalScroll(id="help-body"):
            yield Markdown(help_markdown(), id="help-text")

    def on_mount(self) -> None:
        box = self.query_one("#help-box")
        box.border_title = "saga-inspector help"
        box.border_subtitle = "escape closes · arrows scroll"
        self.query_one("#help-body").focus()

    def on_screen_resume(self) -> None:
        # The same screen is shown each time (app.action_help): it opens at the top.
        self.query_one("#help-body", VerticalScroll).scroll_home(animate=False)

    def action_scroll_body(self, direction: str) -> None:
        body = self.query_one("#help-body", VerticalScroll)
        if direction == "down":
            body.scroll_down(animate=False)
        else:
            body.scroll_up(animate=False)
