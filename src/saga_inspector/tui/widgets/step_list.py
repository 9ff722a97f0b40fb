"""The steps of the highlighted saga: index, name, target, state, duration; a linked
timeline below draws the same steps as bars."""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.reactive import Reactive
from textual.widgets import DataTable

from saga_inspector.report import (
    BEST_EFFORT,
    BEST_EFFORT_SHORT,
    format_duration,
    short_undo_mark,
    undo_mark,
)
from saga_inspector.store import Step
from saga_inspector.tui.read_ahead import hold_frame
from saga_inspector.tui.text import plain
from saga_inspector.tui.views import SagaView
from saga_inspector.tui.widgets.timeline import StepTimeline

IN_FLIGHT_MARK = "◀ in flight"
_COLUMNS = (("index", "#"), ("name", "step"), ("target", "target"), ("state", "state"),
            ("duration", "duration"))
_SHRINK_ORDER = (("name", 12), ("target", 4))  # (column, narrowest): name, then target
_STATE_COMPONENT = {"succeeded": "step-list--ok", "failed": "step-list--bad"}


class StepList(DataTable[Text]):
    """A short table (sagas have a handful of steps); the cursor picks the step in detail."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("g", "scroll_top", "First step", show=False),
        Binding("G", "scroll_bottom", "Last step", show=False),
        Binding("ctrl+d", "half_page(1)", "Half a page down", show=False),
        Binding("ctrl+u", "half_page(-1)", "Half a page up", show=False),
        Binding("enter", "screen.focus_payloads", "Payloads"),
        Binding("escape", "screen.focus_table", "Back to sagas"),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "step-list--in-flight", "step-list--ok", "step-list--bad", "step-list--undo",
    }
    # The list is as big as its pane whatever it shows (app.tcss: `#steps { height: 1fr }`):
    # another saga's rows change only what scrolls, not the screen's layout (issue 6: a
    # layout on every `j` cost more than drawing the panes). Scrollbars shown or hidden
    # still lay the screen out (see below).
    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)

    def __init__(self, *, id: str | None = None, timeline: StepTimeline | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.view: SagaView | None = None
        # The same steps as bars on a time axis, kept on the same saga and step as this list.
        self.timeline = timeline
        self._shown_row: int | None = None  # the step whose detail is shown (or due)
        self._fitted_to = 0  # the width the columns were fitted to
        self._columns: tuple[tuple[str, str], ...] = _COLUMNS

    def watch_virtual_size(self, size: Size) -> None:
        # A scrollbar that appears or goes asks for the layout itself (a layout reactive).
        self._scroll_update(size)

    def show_steps(self, view: SagaView | None, cursor: int = 0) -> None:
        """Fill with the saga's steps and put the cursor on step `cursor` (by position)."""
        self.view = view
        steps = [step_view.step for step_view in (view.steps if view else ())]
        # A format without a step target (the server's) gets no empty column for it.
        self._columns = tuple(column for column in _COLUMNS if column[0] != "target"
                              or view is None or view.detail.saga.log_format.has_step_target)
        rows = [self._cells(step) for step in steps]
        widths, fits = self._fitted(rows)
        if not fits:  # the in-flight mark gives up its words, not the list its cells
            rows = [self._cells(step, short_mark=True) for step in steps]
            widths, fits = self._fitted(rows)
        self.clear(columns=True)
        self._fitted_to = self.size.width
        for row in rows:
            for cell, width in zip(row, widths, strict=True):
                cell.truncate(width, overflow="ellipsis")
        for (key, label), width in zip(self._columns, widths, strict=True):
            self.add_column(label, key=key, width=width)
        for position, cells in enumerate(rows):
            self.add_row(*cells, key=str(position))
        if rows:
            self.move_cursor(row=min(max(cursor, 0), len(rows) - 1), animate=False)
        self._shown_row = self.cursor_row if rows else None
        if self.timeline is not None:
            self.timeline.show(view, self.cursor_row)

    def _fitted(self, rows: list[list[Text]]) -> tuple[list[int], bool]:
        """Column widths for these rows, cut to the list's width (the step name gives up
        cells first, then the target: the detail pane spells both out), and whether they
        fit. Measured here, every time: columns fit this saga's steps exactly, however the
        previous saga's were (DataTable's own auto width only ever grows, on idle)."""
        widths = [max([len(label), *(row[index].cell_len for row in rows)])
                  for index, (_key, label) in enumerate(self._columns)]
        keys = [key for key, _label in self._columns]
        if not self.size.width:
            return widths, True
        # Room for a vertical scrollbar when the steps outgrow the pane.
        scrollbar = 2 if len(rows) + self.header_height > self.size.height else 0
        room = self.size.width - 2 * self.cell_padding * len(widths) - scrollbar
        for key, floor in _SHRINK_ORDER:
            excess = sum(widths) - room
            if excess <= 0:
                break
            if key in keys:
                index = keys.index(key)
                widths[index] = max(floor, widths[index] - excess)
        return widths, sum(widths) <= room

    def on_resize(self) -> None:
        if self.view is not None and self.size.width != self._fitted_to:
            self.show_steps(self.view, self.cursor_row)

    def on_data_table_row_highlighted(self, message: DataTable.RowHighlighted) -> None:
        if message.data_table is not self:
            return
        if message.cursor_row != self.cursor_row or message.cursor_row == self._shown_row:
            # Posted while the list was filled (the cursor has moved on since), or for the
            # step shown already: nothing to draw.
            message.stop()
            return
        self._shown_row = message.cursor_row
        # Held here, before this list's own repaint reaches the screen (the message reaches
        # the screen later, after a frame with the cursor alone would have started): the
        # cursor, the timeline and the step's detail are drawn in one frame.
        hold_frame(self.screen)
        if self.timeline is not None:
            self.timeline.highlight(message.cursor_row)
        # Not stopped: the screen shows the step's detail on the same message.

    def _render_cell(self, row_index: int, column_index: int, base_style: Style, width: int,
                     cursor: bool = False, hover: bool = False) -> list[list[Segment]]:
        """A step's cell as DataTable draws it (padding, cursor and CSS styles), made from
        its one line of text directly instead of through Rich's Padding and Styled: each
        saga shown draws every cell again, and this way was most of the list's frame time
        (issue 6). Any cell that would not fit on its line goes DataTable's own way."""
        header = row_index == -1
        # By place, not by row and column key as DataTable's own entries: the places of the
        # keys change only with `_update_count`, part of the key.
        key = (row_index, column_index, base_style, cursor, hover, self._show_hover_cursor,
               self._update_count, self._pseudo_class_state)
        lines: list[list[Segment]] | None = self._cell_render_cache.get(key)
        if lines is None:
            cell = self._fitting_cell(row_index, column_index, width)
            if cell is None:
                return super()._render_cell(row_index, column_index, base_style, width,
                                            cursor, hover)
            fixed = not header and (row_index < self.fixed_rows
                                    or column_index < self.fixed_columns)
            component, post = self._get_styles_to_render_cell(
                header, False, fixed, hover, cursor, self.show_cursor, self._show_hover_cursor,
                self.cursor_foreground_priority == "css", self.cursor_background_priority == "css")
            meta = Style.from_meta({"row": row_index, "column": column_index})
            line = self._cell_segments(cell, width)
            lines = [list(Segment.apply_style(line, base_style + meta + component, post))]
            self._cell_render_cache[key] = lines
        return lines

    def _fitting_cell(self, row_index: int, column_index: int, width: int) -> Text | None:
        """The cell's text when this way draws it exactly as DataTable would: one line that
        fits, left or right justified (right: no trailing blanks, which Rich would strip),
        in a row one line high."""
        if row_index < -1 or column_index < 0:  # (-1: the header; row labels are not used)
            return None
        column = self.ordered_columns[column_index]
        if row_index == -1:
            height, cell = self.header_height, column.label
        else:  # (DataTable's cell formatter hands a Text cell on as it is)
            row = self.ordered_rows[row_index]
            height, cell = row.height, self.get_cell(row.key, column.key)
        room = width - 2 * self.cell_padding
        if (height != 1 or not isinstance(cell, Text) or "\n" in cell.plain
                or cell.cell_len > room or cell.justify not in (None, "default", "right")
                or (cell.justify == "right" and cell.plain != cell.plain.rstrip())):
            return None
        return cell

    def _cell_segments(self, cell: Text, width: int) -> list[Segment]:
        """What Padding(cell) renders at this width, before the cell's styles are applied."""
        pad = Segment(" " * self.cell_padding)
        fill = width - 2 * self.cell_padding - cell.cell_len
        if cell.justify == "right":
            text = cell.copy()
            text.pad_left(fill)
            return [pad, *self._text_segments(text), pad]
        return [pad, *self._text_segments(cell), Segment(" " * fill), pad]

    def _text_segments(self, text: Text) -> list[Segment]:
        console = self.app.console
        if not text.spans:  # (Text.render leaves out the style of text without spans)
            return [Segment(text.plain, console.get_style(text.style, default=Style.null()))]
        return list(text.render(console, end=""))

    def _cells(self, step: Step, *, short_mark: bool = False) -> list[Text]:
        cells = {
            "index": Text(str(step.step_index), justify="right"),
            "name": plain(step.name),
            "target": plain(step.target),
            "state": self._marked(step, short_mark=short_mark),
            "duration": Text(format_duration(step.duration), justify="right"),
        }
        return [cells[key] for key, _label in self._columns]

    def _marked(self, step: Step, *, short_mark: bool) -> Text:
        """The state, then what the row is when it is not a plain forward step: an undo
        (`↶ undo of #1`), a step with no undo (`⊘ no undo possible`), a best-effort step."""
        text = self._state(step.state, in_flight=step.in_flight, short_mark=short_mark)
        mark = (short_undo_mark if short_mark else undo_mark)(step.role, step.undoes)
        if step.best_effort and not mark:
            mark = BEST_EFFORT_SHORT if short_mark else BEST_EFFORT
        if mark:
            text.append(f" {mark}", self.get_component_rich_style("step-list--undo",
                                                                   partial=True))
        return text

    def _state(self, state: str | None, *, in_flight: bool, short_mark: bool = False) -> Text:
        if in_flight:
            style = self.get_component_rich_style("step-list--in-flight", partial=True)
            text = plain(state, style)
            text.append(f" {IN_FLIGHT_MARK[0] if short_mark else IN_FLIGHT_MARK}")
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

    def action_half_page(self, direction: int) -> None:
        """ctrl+d / ctrl+u: the cursor down (1) or up (-1) by half the rows shown (one a
        line); the list scrolls to keep it in view."""
        if not self.row_count:
            return
        shown = self.scrollable_content_region.height - (
            self.header_height if self.show_header else 0)
        target = self.cursor_row + direction * max(1, shown // 2)
        self.move_cursor(row=min(max(target, 0), self.row_count - 1))
