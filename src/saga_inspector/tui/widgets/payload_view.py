"""A payload's whole text, full screen: wrapped to the width (the default, `w` toggles) or
scrolled sideways a screen at a time.

Only the rows on screen are drawn, so a value of megabytes scrolls as fast as a small one.
A large value is made, split into lines, measured and wrapped in a worker thread: until then
the view shows the payload's preview (the head of the same text) and says it is loading the
rest, and the screen's keys keep working.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate
from typing import ClassVar

from rich.cells import cell_len, get_character_cell_size
from rich.highlighter import Highlighter
from rich.style import Style
from rich.text import Text
from textual import work
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.worker import get_current_worker

from saga_inspector.tui.text import json_highlighter
from saga_inspector.tui.views import Payload
from saga_inspector.units import format_size

# Lines longer than this are highlighted and drawn a row's piece at a time, never whole: one
# line can be the whole 10 MB value (an unparsed text, a huge JSON string).
LONG_LINE = 4096


@dataclass(frozen=True, slots=True)
class PayloadLines:
    """A payload's text as lines (tabs expanded), with each line's width in cells."""

    lines: list[str]
    widths: list[int]

    @property
    def widest(self) -> int:
        return max(self.widths, default=0)


def split_lines(text: str) -> PayloadLines:
    lines = text.expandtabs().split("\n")
    return PayloadLines(lines, [len(line) if line.isascii() else cell_len(line)
                                for line in lines])


@dataclass(frozen=True, slots=True)
class WrappedRows:
    """Where each line's rows are when the text is wrapped to `width` cells."""

    width: int
    first_rows: list[int]  # the row each line starts on, then the number of rows
    folds: dict[int, list[int]]  # a line on several rows: the offset each of its rows starts at

    @property
    def row_count(self) -> int:
        return self.first_rows[-1]

    def locate(self, row: int) -> tuple[int, int, int | None]:
        """The line on `row` and the slice of it (start, end; None: to its end) shown there."""
        line = bisect_right(self.first_rows, row) - 1
        folds = self.folds.get(line)
        if folds is None:
            return line, 0, None
        piece = row - self.first_rows[line]
        end = folds[piece + 1] if piece + 1 < len(folds) else None
        return line, folds[piece], end


def wrap_rows(text: PayloadLines, width: int) -> WrappedRows:
    width = max(width, 1)
    folds = {index: fold(text.lines[index], width)
             for index, cells in enumerate(text.widths) if cells > width}
    counts = (len(folds[index]) if cells > width else 1
              for index, cells in enumerate(text.widths))
    return WrappedRows(width, [0, *accumulate(counts)], folds)


def fold(line: str, width: int) -> list[int]:
    """Where each row of `line` starts when it is wrapped to `width` cells: after the last
    space that fits, or at the edge when a word is wider than a row."""
    if not line.isascii():
        return _fold_cells(line, width)
    starts = [0]
    start, length = 0, len(line)
    while length - start > width:
        # A space just past the edge may end the row: drawing crops it.
        space = line.rfind(" ", start + 1, start + width + 1)
        start = space + 1 if space > start else start + width
        starts.append(start)
    return _without_empty_last_row(starts, length)


def _fold_cells(line: str, width: int) -> list[int]:
    """`fold` for text with wide or zero-width characters, measured a character at a time."""
    starts = [0]
    cells = 0  # on the row so far
    after_space = 0  # where the text after the row's last space starts (0: no space yet)
    for index, character in enumerate(line):
        size = get_character_cell_size(character)
        if cells + size > width and index > starts[-1]:
            if character == " ":  # a space just past the edge ends the row, as in `fold`
                starts.append(index + 1)
                cells = after_space = 0
                continue
            start = after_space if after_space > starts[-1] else index
            starts.append(start)
            cells = cell_len(line[start:index])
        cells += size
        if character == " ":
            after_space = index + 1
    return _without_empty_last_row(starts, len(line))


def _without_empty_last_row(starts: list[int], length: int) -> list[int]:
    if len(starts) > 1 and starts[-1] >= length:
        starts.pop()
    return starts


class PayloadView(ScrollView, can_focus=True):
    """The text of one payload; never markup, only the payload's sanitised `full` text."""

    DEFAULT_CSS = """
    PayloadView {
        height: 1fr;
        border: round $border;
        scrollbar-gutter: stable;
        & > .payload-view--loading { color: $text-muted; text-style: italic; }
    }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {"payload-view--loading"}
    # Two bindings share `w`, `home` and `end`: the one that fits the wrap state is enabled
    # (check_action), so the key bar names what the key does now.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("w", "wrap(False)", "Unwrap"),
        Binding("w", "wrap(True)", "Wrap"),
        Binding("left,h", "sideways(-1)", "Left", key_display="←/h"),
        Binding("right,l", "sideways(1)", "Right", key_display="→/l"),
        Binding("home", "edge('start')", "Line start"),
        Binding("end", "edge('end')", "Line end"),
        # macOS Terminal keeps home/end (fn+arrows) to scroll its own buffer: vi's keys too.
        Binding("0", "edge('start')", "Line start", show=False),
        Binding("$", "edge('end')", "Line end", show=False),
        Binding("home", "scroll_home", "Top", show=False),
        Binding("end", "scroll_end", "Bottom", show=False),
    ]

    wrap: reactive[bool] = reactive(True, init=False)
    ready: reactive[bool] = reactive(False, init=False)  # the whole text is in (else a preview)

    def __init__(self, payload: Payload, *, wrap: bool = True, id: str | None = None) -> None:
        super().__init__(id=id)
        self.payload = payload
        self.set_reactive(PayloadView.wrap, wrap)
        self.highlighter: Highlighter | None = json_highlighter() if payload.note is None else None
        self.text = PayloadLines([], [])
        self._rows: WrappedRows | None = None
        self._loading = False  # the worker making the whole text has been started
        self._line_cache: LRUCache[int, Text] = LRUCache(1024)

    @property
    def loading_message(self) -> str:
        return f"loading {format_size(self.payload.size)}…"

    @property
    def line_count(self) -> int:
        return len(self.text.lines)

    @property
    def wrapped(self) -> WrappedRows | None:
        """The rows drawn now: None when unwrapped (or while the wrapping is worked out)."""
        rows = self._rows
        return rows if self.wrap and rows is not None else None

    # -- loading and wrapping --------------------------------------------------------------

    def on_mount(self) -> None:
        if self.payload.truncated:  # large: the head at once, the whole off the UI thread
            self._show(split_lines(self.payload.preview.plain), None, ready=False)
        else:
            self._show(split_lines(self.payload.full or ""), None, ready=True)

    @work(thread=True, exclusive=True, group="payload-load")
    def _load(self) -> None:
        text = split_lines(self.payload.full or "")
        width = self._wrap_width()
        rows = wrap_rows(text, width) if self.wrap and width > 0 else None
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show, text, rows, ready=True)

    def _show(self, text: PayloadLines, rows: WrappedRows | None, *, ready: bool) -> None:
        top_line = self._top_line(self.wrap)
        self.text, self._rows, self.ready = text, rows, ready
        self._line_cache.clear()
        self._relayout(top_line)

    def _wrap_width(self) -> int:
        return self.scrollable_content_region.width

    def on_resize(self) -> None:
        self._relayout(top_line=self._top_line(self.wrap))
        if not self.ready and not self._loading:
            # Once the head is drawn to the width: the worker's long steps hold the GIL.
            self._loading = True
            self.call_after_refresh(self._load)

    def watch_wrap(self, was_wrapped: bool, wrap: bool) -> None:
        self._relayout(top_line=self._top_line(was_wrapped))
        self.refresh_bindings()

    def _top_line(self, wrap: bool) -> int:
        """The line at the top of the view, as drawn with `wrap` (kept at the top when the
        rows change)."""
        rows = self._rows if wrap else None
        top = round(self.scroll_y)
        return rows.locate(top)[0] if rows is not None and top < rows.row_count else top

    def _relayout(self, top_line: int) -> None:
        """Size the scrolling area for the wrap state and width, wrapping again if needed."""
        text = self.text
        width = self._wrap_width()
        if self.wrap and width > 0 and (self._rows is None or self._rows.width != width):
            if self.payload.truncated and self.ready:
                self._wrap(text, width, top_line)  # the old rows are drawn until then
            else:
                self._rows = wrap_rows(text, width)
        self._resize_to(top_line)

    @work(thread=True, exclusive=True, group="payload-wrap")
    def _wrap(self, text: PayloadLines, width: int, top_line: int) -> None:
        rows = wrap_rows(text, width)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._rewrapped, text, rows, top_line)

    def _rewrapped(self, text: PayloadLines, rows: WrappedRows, top_line: int) -> None:
        if text is self.text and rows.width == self._wrap_width():
            self._rows = rows
            self._resize_to(top_line)

    def _resize_to(self, top_line: int) -> None:
        rows = self.wrapped
        loading_row = 0 if self.ready else 1  # "loading …" under the preview
        if rows is not None:
            self.virtual_size = Size(rows.width, rows.row_count + loading_row)
            top = rows.first_rows[min(top_line, len(rows.first_rows) - 1)]
        else:
            self.virtual_size = Size(self.text.widest, len(self.text.lines) + loading_row)
            top = top_line
        # force: the scrollbars (which allow scrolling) come with the next layout.
        self.scroll_to(x=0 if rows is not None else None, y=top, animate=False, immediate=True,
                       force=True)
        self.refresh()

    # -- keys ------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "wrap":
            return parameters[0] != self.wrap
        if action in ("sideways", "edge"):
            return not self.wrap
        return True

    def action_wrap(self, on: bool) -> None:
        self.wrap = on

    def action_sideways(self, direction: int) -> None:
        """A screen's width left or right (unwrapped)."""
        self.scroll_to(x=self.scroll_x + direction * self.scrollable_content_region.width,
                       animate=False, force=True)  # right after `w`: before the scrollbar

    def action_edge(self, where: str) -> None:
        """To the left edge, or to where the widest line ends (unwrapped)."""
        self.scroll_to(x=0 if where == "start" else self.max_scroll_x, animate=False, force=True)

    # -- drawing ---------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._line_cache.clear()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        style = self.rich_style
        text = self.text
        row = scroll_y + y
        rows = self.wrapped
        row_count = len(text.lines) if rows is None else rows.row_count
        if row >= row_count:
            if row > row_count or self.ready:
                return Strip.blank(width, style)
            loading = self.get_component_rich_style("payload-view--loading")
            message = Text(self.loading_message, style=style + loading, end="")
            return self._strip(message).crop_extend(0, width, style)
        if rows is not None:
            line, start, end = rows.locate(row)
            return self._strip(self._piece(line, start, end, style)).crop_extend(0, width, style)
        if len(text.lines[row]) <= LONG_LINE:
            strip = self._strip(self._whole_line(row, style))
            return strip.crop_extend(scroll_x, scroll_x + width, style)
        # A long line: only the piece on screen (columns counted as characters here).
        piece = self._styled(text.lines[row][scroll_x:scroll_x + width], style)
        return self._strip(piece).crop_extend(0, width, style)

    def _strip(self, text: Text) -> Strip:
        return Strip(text.render(self.app.console), text.cell_len)

    def _piece(self, line: int, start: int, end: int | None, style: Style) -> Text:
        source = self.text.lines[line]
        if len(source) <= LONG_LINE:
            whole = self._whole_line(line, style)
            return whole if start == 0 and end is None else whole[start:end]
        return self._styled(source[start:end], style)

    def _whole_line(self, line: int, style: Style) -> Text:
        text = self._line_cache.get(line)
        if text is None:
            text = self._line_cache[line] = self._styled(self.text.lines[line], style)
        return text

    def _styled(self, source: str, style: Style) -> Text:
        text = Text(source, style=style, no_wrap=True, end="")
        if self.highlighter is not None:
            self.highlighter.highlight(text)
        return text
