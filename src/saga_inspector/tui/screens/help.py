"""Every key, from the bundled help.md, in a scrollable modal.

The help is drawn by Rich's Markdown in one widget. Textual's Markdown widget mounts a widget
per paragraph and list item (hundreds here), and took most of a second to open. Rich's own
markdown colours are fixed (cyan on black code), so the theme's, from component classes,
replace them while it is drawn."""

from __future__ import annotations

from collections.abc import Iterator
from importlib.resources import files
from typing import ClassVar

from rich.console import Console, ConsoleOptions, RenderableType
from rich.markdown import Markdown
from rich.theme import Theme
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widget import Widget

from .scrolling import SCROLL_KEYS, ScrollingModal

# Rich's markdown style names, and the component class that colours each here.
_STYLES = {
    "markdown.code": "help-text--key",
    "markdown.h1": "help-text--title",
    "markdown.h2": "help-text--heading",
    "markdown.h3": "help-text--heading",
    "markdown.strong": "help-text--strong",
}


def help_markdown() -> str:
    return files(__package__).joinpath("help.md").read_text(encoding="utf-8")


class _Themed:
    """A renderable drawn with some of the console's styles replaced."""

    def __init__(self, renderable: RenderableType, theme: Theme) -> None:
        self.renderable = renderable
        self.theme = theme

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[object]:
        with console.use_theme(self.theme):
            yield from console.render(self.renderable, options)


class HelpText(Widget):
    """help.md, in the theme's colours."""

    COMPONENT_CLASSES: ClassVar[set[str]] = set(_STYLES.values())
    DEFAULT_CSS = """
    HelpText {
        height: auto;
        & > .help-text--key { color: $text-accent; text-style: bold; }
        & > .help-text--title { text-style: bold; }
        & > .help-text--heading { color: $text-accent; text-style: bold underline; }
        & > .help-text--strong { text-style: bold; }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._markdown = Markdown(help_markdown(), hyperlinks=False)

    def render(self) -> RenderableType:
        styles = {name: self.get_component_rich_style(component, partial=True)
                  for name, component in _STYLES.items()}
        return _Themed(self._markdown, Theme(styles))


class HelpScreen(ScrollingModal):
    BODY = "#help-body"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close", key_display="esc"),
        *SCROLL_KEYS,
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"), VerticalScroll(id="help-body"):
            yield HelpText(id="help-text")

    def on_mount(self) -> None:
        box = self.query_one("#help-box")
        box.border_title = "saga-inspector help"
        box.border_subtitle = "escape closes · arrows scroll"
        self.query_one("#help-body").focus()

    def on_screen_resume(self) -> None:
        # The same screen is shown each time (app.action_help): it opens at the top.
        self.query_one("#help-body", VerticalScroll).scroll_home(animate=False)
