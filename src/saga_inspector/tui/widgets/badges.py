"""State badges coloured from the theme: widgets that draw them declare these component
classes, and app.tcss gives each a colour from the theme's variables."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from saga_inspector.store import KNOWN_SAGA_STATES
from saga_inspector.tui.text import plain

STATE_COMPONENTS = frozenset(
    {f"state--{state}" for state in KNOWN_SAGA_STATES} | {"state--unknown"}
)


def state_badge(widget: Widget, state: str) -> Text:
    """A saga state as a coloured badge; a state this tool does not know stands out too."""
    component = f"state--{state}" if state in KNOWN_SAGA_STATES else "state--unknown"
    style = widget.get_component_rich_style(component, partial=True)
    badge = Text(" ", style=style, end="")
    badge.append_text(plain(state))
    badge.append(" ")
    return badge
