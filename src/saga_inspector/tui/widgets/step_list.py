"""The steps of the highlighted saga: index, name, target, state, duration; a linked
timeline below draws the same steps as bars."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from saga_inspector.report import format_duration
from saga_inspector.store import Step
from saga_inspector.tui.text import plain
from saga_inspector.tui.views import SagaView
from saga_inspector.tui.widgets.timeline import StepTimeline

IN_FLIGHT_MARK = "◀ in flight"
_COLUMNS = (("index", "#"), ("name", "step"), ("target", "target"), ("state", "state"),
            ("duration", "duration"))
_STATE_COMPONENT = {"succeeded": "step-list--ok", "failed": "step-list--bad"}


class StepList(DataTable[Text]):
    """A short table (sagas have a handful of steps); the cursor picks the step in detail."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("g", "scroll_top", "First step", show=False),
        Binding("G", "scroll_bottom", "Last step", show=False),
        Binding("enter", "screen.focus_payloads", "Payloads"),
        Binding("escape", "screen.focus_table", "Back to sagas"),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "step-list--in-flight", "step-list--ok", "step-list--bad",
    }

    def __init__(self, *, id: str | None = None, timeline: StepTimeline | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.view: SagaView | None = None
        # The same steps as bars on a time axis, kept on the same saga and step as this list.
        self.timeline = timeline

    def show_steps(self, view: SagaView | None, cursor: int = 0) -> None:
        """Fill with the saga's steps and put the cursor on step `cursor` (by position)."""
        self.view = view
        rows = [self._cells(step_view.step) for step_view in (view.steps if view else ())]
        self.clear(columns=True)
        # Widths measured here, every time: columns fit this saga's steps exactly, however
        # the previous saga's were (DataTable's own auto width only ever grows, on idle).
        for index, (key, label) in enumerate(_COLUMNS):
            width = max([len(label), *(row[index].cell_len for row in rows)])
            self.add_column(label, key=key, width=width)
        for position, cells in enumerate(rows):
            self.add_row(*cells, key=str(position))
        if rows:
            self.move_cursor(row=min(max(cursor, 0), len(rows) - 1), animate=False)
        if self.timeline is not None:
            self.timeline.show(view, self.cursor_row)

    def on_data_table_row_highlighted(self, message: DataTable.RowHighlighted) -> None:
        # Not stopped: the screen shows the step's detail on the same message.
        if self.timeline is not None and message.data_table is self:
            self.timeline.highlight(message.cursor_row)

    def _cells(self, step: Step) -> list[Text]:
        return [
            Text(str(step.step_index), justify="right"),
            plain(step.name),
            plain(step.target),
            self._state(step.state, in_flight=step.in_flight),
            Text(format_duration(step.duration), justify="right"),
        ]

    def _state(self, state: str | None, *, in_flight: bool) -> Text:
        if in_flight:
            style = self.get_component_rich_style("step-list--in-flight", partial=True)
            text = plain(state, style)
            text.append(f" {IN_FLIGHT_MARK}")
            return text
        component = _STATE_COMPONENT.get(state or "")
        if component is None:
            return plain(state)
        return plain(state, self.get_component_rich_style(component, partial=True))

    def action_scroll_top(self) -> None:
        if self.row_count:
            self.move_cursor(row=0)

    def action_scroll_bottom(self) -> None:
        if self.row_count:
            self.move_cursor(row=self.row_count - 1)
