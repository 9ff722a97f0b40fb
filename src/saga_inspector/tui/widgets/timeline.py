"""The highlighted saga's steps as bars on one time axis, under the step list.

A pane of fixed size: it is laid out once, and showing another saga (or another step) only
redraws its own lines, never the screen's layout. The bars are made for the width the pane
has when drawn, by `saga_inspector.timeline`; nothing from the file is drawn here but step
indexes and durations (the step list beside it has the names).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from saga_inspector.report import format_duration, short_undo_mark
from saga_inspector.timeline import (
    Chart,
    ChartRow,
    StepSpan,
    Timeline,
    build_timeline,
    chart,
    index_label,
)
from saga_inspector.tui.views import SagaView

IN_FLIGHT_FLAG = " ◀"
_KINDS = ("empty", "done", "undo", "open", "late", "tail", "break", "timeout", "axis", "label",
          "unknown")


@dataclass(frozen=True, slots=True)
class _Layout:
    """The rows laid out for one timeline, width and window of steps, with the widths of the
    index and duration columns (measured over every step, so that they hold still as the
    window moves). Kept while those stay: moving the cursor only moves the ▸."""

    timeline: Timeline
    width: int
    shown: range
    index_width: int
    duration_width: int
    flag_width: int
    chart: Chart


def _flag(span: StepSpan) -> str:
    """After the duration: ◀ for the step in flight, ↶1 for an undo of step 1, ⊘ for a step
    recovery found no undo for."""
    mark = short_undo_mark(span.role, span.undoes)
    return (IN_FLIGHT_FLAG if span.open_ended else "") + (f" {mark}" if mark else "")


def _column_widths(timeline: Timeline) -> tuple[int, int, int]:
    """The widths of the index, duration and flag columns: O(steps), once per timeline."""
    index_width = max(len(index_label(span.step_index)) for span in timeline.spans)
    durations = [format_duration(s.duration) for s in timeline.spans if s.duration is not None]
    flags = [len(_flag(span)) for span in timeline.spans]
    return (index_width, max([len(text) for text in durations] or [1]),
            max([len(IN_FLIGHT_FLAG), *flags]))


class StepTimeline(Widget, can_focus=False):
    """Each step as a bar from its start to its end (the in-flight one open-ended to the
    saga's end, or to now), the timeout marked ┊, a long wait cut ≈, the slowest named."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        *(f"timeline--{kind}" for kind in _KINDS),
        "timeline--cursor", "timeline--slowest", "timeline--note",
    }

    def __init__(self, clock: Callable[[], datetime] | None = None, *,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self._clock = clock
        self.view: SagaView | None = None
        self.cursor = 0
        self._kept: tuple[SagaView, Timeline] | None = None
        self._laid: _Layout | None = None
        self._styles: dict[str, Style] = {}

    def on_mount(self) -> None:
        self.border_title = "timeline"

    def show(self, view: SagaView | None, cursor: int = 0) -> None:
        """Draw this saga's steps (None: nothing), the step at `cursor` marked."""
        self.view, self.cursor = view, cursor
        self.refresh()  # its size does not depend on what it shows: no layout

    def highlight(self, position: int) -> None:
        if position != self.cursor:
            self.cursor = position
            self.refresh()

    def timeline(self) -> Timeline | None:
        """The shown saga's steps on one axis, measured up to now (None: no saga shown).
        Kept while the same saga is shown, unless it runs (then `now` moves its end)."""
        view, kept = self.view, self._kept
        if view is None:
            return None
        if kept is not None and kept[0] is view and not kept[1].until_now:
            return kept[1]
        now = self._clock() if self._clock is not None else None
        timeline = build_timeline(view.detail, now)
        self._kept = (view, timeline)
        return timeline

    # -- drawing ------------------------------------------------------------------------------

    def _style(self, name: str) -> Style:
        # Kept until the styles change (theme, CSS): Textual forgets its own copy on every
        # refresh, and a redraw asks for a dozen of them.
        style = self._styles.get(name)
        if style is None:
            style = self.get_component_rich_style(f"timeline--{name}", partial=True)
            self._styles[name] = style
        return style

    def notify_style_update(self) -> None:
        self._styles.clear()
        super().notify_style_update()

    def render(self) -> Text:
        width, height = self.size
        timeline = self.timeline()
        if timeline is None or height < 1:
            return Text("")
        if not timeline.spans:
            return Text("no steps recorded", style="dim italic")
        laid = self._layout(timeline, width, self._window(len(timeline.spans), height))
        drawn = laid.chart
        if drawn.scale is None:
            return Text("\n".join(drawn.notes) or "too narrow for a timeline",
                        style="dim italic")
        hidden = len(timeline.spans) - len(laid.shown)
        lines = self._lines(drawn, laid.index_width, laid.duration_width, height, hidden)
        return Text("\n", end="", no_wrap=True, overflow="crop").join(lines)

    def _layout(self, timeline: Timeline, width: int, shown: range) -> _Layout:
        """The rows for this timeline, width and window: laid out again only when one of
        them changes (a repaint for a cursor move costs the shown rows, not every step)."""
        laid = self._laid
        if laid is not None and laid.timeline is timeline:
            if laid.width == width and laid.shown == shown:
                return laid
            index_width, duration_width = laid.index_width, laid.duration_width
            flag_width = laid.flag_width
        else:
            index_width, duration_width, flag_width = _column_widths(timeline)
        bar_width = width - (index_width + 2) - (duration_width + 1 + flag_width)
        drawn = chart(timeline, bar_width, format_duration, shown)
        self._laid = _Layout(timeline, width, shown, index_width, duration_width, flag_width,
                             drawn)
        return self._laid

    def _window(self, steps: int, height: int) -> range:
        """Which steps get a row: all when they fit above the axis, else a window around
        the highlighted step with a line left to say how many more there are."""
        room = max(height - 1, 1)
        if steps <= room:
            return range(steps)
        shown = max(room - 1, 1)
        first = min(max(self.cursor - shown + 1, 0), steps - shown)
        return range(first, first + shown)

    def _lines(self, drawn: Chart, index_width: int, duration_width: int, height: int,
               hidden: int) -> list[Text]:
        """The step rows, the axis, then as many notes as there is room for."""
        lines = [self._row(row, index_width, duration_width) for row in drawn.rows]
        note_style = self._style("note")
        if hidden:
            lines.append(Text(f"  … {hidden} more steps: the step list has them all",
                              style=note_style, end=""))
        axis = Text(" " * (index_width + 2), end="")
        for text, kind in drawn.axis:
            axis.append(text, self._style(kind))
        lines.append(axis)
        lines += [Text(note, style=note_style, end="")
                  for note in drawn.notes[: max(height - len(lines), 0)]]
        return lines

    def _row(self, row: ChartRow, index_width: int, duration_width: int) -> Text:
        span = row.span
        cursor = span.position == self.cursor
        line = Text(end="")
        label = f"{'▸' if cursor else ' '}{index_label(span.step_index):>{index_width}} "
        line.append(label, self._style("cursor") if cursor else "")
        if span.start is None:  # nothing to place: say why, in the bar's room
            width = sum(len(text) for text, _kind in row.bar)
            line.append(f"{span.problem or 'start time unknown':<{width}.{width}}",
                        self._style("note"))
        else:
            for text, kind in row.bar:
                line.append(text, self._style(kind))
        duration = row.duration or ("?" if span.problem else "")
        line.append(" " * (duration_width + 1 - len(duration)))
        line.append(duration, self._style("slowest") if row.slowest else "")
        if span.open_ended:
            line.append(IN_FLIGHT_FLAG, self._style("open"))
        mark = short_undo_mark(span.role, span.undoes)
        if mark:
            line.append(f" {mark}", self._style("undo"))
        return line
