"""The floor for `bench_dashboard.py`: the smallest Textual app that draws one line.

    python benchmarks/minimal_app.py      # `q` quits

Started and timed exactly like the dashboard (same interpreter, same pseudo-terminal), so
"process start to first rows drawn" can be compared with what Textual itself costs.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

READY_TEXT = "minimal app ready"


class MinimalApp(App[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("q", "quit", "Quit")]

    def compose(self) -> ComposeResult:
        yield Static(READY_TEXT)


if __name__ == "__main__":
    MinimalApp().run()
