"""j/k/g/G on the full-screen views whose body scrolls: help, explain, the whole payload."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.screen import ModalScreen

SCROLL_KEYS: list[BindingType] = [
    Binding("j", "scroll_body('down')", "Down", show=False),
    Binding("k", "scroll_body('up')", "Up", show=False),
    Binding("g", "scroll_body('home')", "Top", show=False),
    Binding("G", "scroll_body('end')", "Bottom", show=False),
    Binding("ctrl+d", "scroll_half(1)", "Half a page down", show=False),
    Binding("ctrl+u", "scroll_half(-1)", "Half a page up", show=False),
]


class ScrollingModal(ModalScreen[None]):
    """A modal whose `BODY` (a selector) scrolls by the keys its BINDINGS take from
    SCROLL_KEYS."""

    BODY: ClassVar[str]

    def action_scroll_body(self, where: str) -> None:
        body = self.query_one(self.BODY)
        {"down": body.scroll_down, "up": body.scroll_up, "home": body.scroll_home,
         "end": body.scroll_end}[where](animate=False)

    def action_scroll_half(self, direction: int) -> None:
        """ctrl+d / ctrl+u: the body down (1) or up (-1) by half of what it shows."""
        body = self.query_one(self.BODY)
        half = max(1, body.scrollable_content_region.height // 2)
        body.scroll_relative(y=direction * half, animate=False)
