"""The keys line at the bottom of the dashboard: the keys of the focused widget and the
screen, drawn as one line of text.

Textual's Footer mounts a widget per key and mounts them all again whenever the keys change,
which is on every focus change: opening the search line (`/`) cost about 90 ms, most of it
that rebuild, and escape from it as much again (issue 6). This bar shows the same keys, in
the same place and colours, as one line that is repainted: it never changes size, so a focus
change costs no layout either. A click on a key presses it, as in the Footer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget

PALETTE_MARK = "▏"  # the Footer's `vkey` border left of the command palette key
# Always in view, at the right: how to learn the keys, and how to leave.
PINNED = ("question_mark", "q")
WIDE_ENOUGH_FOR_PALETTE_WORD = 100


@dataclass(frozen=True, slots=True)
class _Key:
    key: str  # what a click presses
    display: str
    description: str
    enabled: bool


class KeyBar(Widget, can_focus=False):
    """The keys of what has the focus, then the screen's and the app's; the command palette
    key on the right."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "key-bar--key", "key-bar--description", "key-bar--palette-mark",
    }
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
        & > .key-bar--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        & > .key-bar--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        & > .key-bar--palette-mark { color: $foreground 20%; }
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._keys: list[_Key] = []
        self._palette: _Key | None = None
        self._spans: list[tuple[int, int, str]] = []  # (start, end, key) of what is drawn

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._read_keys(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen) -> None:
        if self.is_attached and screen is self.screen:
            self._read_keys(screen)

    def sync(self) -> None:
        """Read the screen's keys now: the screen tells of a change only when it next goes
        idle, a frame or more after a focus change."""
        if self.is_attached:
            self._read_keys(self.screen)

    def _read_keys(self, screen: Screen) -> None:
        shown = self._wanted(screen)
        if shown != (self._keys, self._palette):
            self._keys, self._palette = shown
            self.refresh()

    def _wanted(self, screen: Screen) -> tuple[list[_Key], _Key | None]:
        keys: dict[str, _Key] = {}  # one per action, the first found (the focused widget's)
        palette = None
        for _node, binding, enabled, tooltip in screen.active_bindings.values():
            del tooltip
            if binding.key == self.app.COMMAND_PALETTE_BINDING and self.app.ENABLE_COMMAND_PALETTE:
                palette = self._key(binding, enabled)
            elif binding.show and binding.action not in keys:
                keys[binding.action] = self._key(binding, enabled)
        return list(keys.values()), palette

    def _key(self, binding: Binding, enabled: bool) -> _Key:
        return _Key(binding.key, self.app.get_key_display(binding), binding.description, enabled)

    def render(self) -> Text:
        """The keys of the focus and screen from the left, as many whole keys as fit; help
        and quit always at the right, before the palette key."""
        key_style = self.get_component_rich_style("key-bar--key")
        description_style = self.get_component_rich_style("key-bar--description")
        pinned = [key for key in self._keys if key.key in PINNED]
        pinned.sort(key=lambda key: PINNED.index(key.key))
        tail, tail_spans = self._tail(pinned, key_style, description_style)
        line, spans = Text(no_wrap=True, overflow="crop", end=""), []
        room = self.size.width - tail.cell_len
        for key in self._keys:
            if key.key in PINNED:
                continue
            drawn = self._drawn(key, key_style, description_style)
            if line.cell_len + drawn.cell_len > room:
                break
            spans.append((line.cell_len, line.cell_len + drawn.cell_len, key.key))
            line.append_text(drawn)
        start = max(line.cell_len, self.size.width - tail.cell_len)
        line.append(" " * (start - line.cell_len))
        line.append_text(tail)
        self._spans = spans + [(start + a, start + b, key) for a, b, key in tail_spans]
        return line

    @staticmethod
    def _drawn(key: _Key, key_style: Style, description_style: Style) -> Text:
        dim = Style(dim=not key.enabled)
        text = Text(end="")
        text.append(f" {key.display} ", key_style + dim)
        text.append(f"{key.description} ", description_style + dim)
        return text

    def _tail(self, pinned: list[_Key], key_style: Style,
              description_style: Style) -> tuple[Text, list[tuple[int, int, str]]]:
        """Help, quit and the palette key, with where each is drawn in the tail."""
        tail, spans = Text(end=""), []
        for key in pinned:
            drawn = self._drawn(key, key_style, description_style)
            spans.append((tail.cell_len, tail.cell_len + drawn.cell_len, key.key))
            tail.append_text(drawn)
        palette = self._palette
        if palette is not None:
            start = tail.cell_len
            tail.append(PALETTE_MARK, self.get_component_rich_style("key-bar--palette-mark"))
            tail.append(palette.display, key_style)
            if self.size.width >= WIDE_ENOUGH_FOR_PALETTE_WORD:
                tail.append(f" {palette.description}", description_style)
            tail.append(" ")  # the Footer's padding: the bar's own colours
            spans.append((start, tail.cell_len, palette.key))
        return tail, spans

    def on_click(self, event: events.Click) -> None:
        for start, end, key in self._spans:
            if start <= event.x < end:
                event.stop()
                self.app.simulate_key(key)
                return
