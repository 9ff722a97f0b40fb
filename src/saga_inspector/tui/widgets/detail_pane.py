"""The saga above its steps (summary, failure reason, input) and the highlighted step's
detail (times, failure, cmd and output payloads, extra columns)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import ClassVar

from rich.console import Console
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.geometry import Size
from textual.visual import VisualType
from textual.widgets import Static

from saga_inspector.report import BEST_EFFORT, IN_FLIGHT_NOTE, describe_duration, undo_mark
from saga_inspector.store import LAUNCHER, LogFormat, Saga, SagaState, Step, StepRole
from saga_inspector.store.models import StoredValue
from saga_inspector.tui.text import plain
from saga_inspector.tui.views import SagaView, StepView, time_with_age

from .badges import STATE_COMPONENTS, state_badge
from .payload import PayloadBlock

_LABEL = 9  # "duration" and a space
REASON_LINES = 3
MORE = "… (o shows all)"
_NARROWEST = 40  # the width a pane is cut for before it has one
_MEASURE = Console(width=1000, color_system=None, legacy_windows=False)  # wraps text only


def _field(label: str, value: Text | str) -> Text:
    line = Text(f"{label:<{_LABEL}}", style="dim", end="")
    line.append_text(value if isinstance(value, Text) else plain(value))
    return line


def _capped(line: Text, width: int, lines: int = REASON_LINES) -> list[Text]:
    """`line` cut to `lines` lines at `width` cells, saying how to see all: a long failure
    reason (or name, or target) must not take the space of what follows it. Only the head
    that those lines can hold is wrapped, so a value of megabytes costs what a screenful
    does."""
    width = max(width, _NARROWEST)  # (not laid out yet: cut for a narrow pane, not at all)
    head = line[:(lines + 1) * width * 2]  # 2: room for the words wrapping leaves short
    wrapped = head.wrap(_MEASURE, width)
    if len(wrapped) <= lines and len(head) == len(line):
        return [line]
    kept = wrapped[:lines]
    last = kept[-1]
    last.truncate(max(0, width - len(MORE)), overflow="crop")
    last.rstrip()
    last.append(MORE, style="bold italic")
    return list(kept)


def _extra_lines(columns: Mapping[str, StoredValue]) -> list[Text]:
    """Columns the file has beyond the known ones, so a newer format hides nothing."""
    lines = []
    for name, value in columns.items():
        line = Text("extra    ", style="dim", end="")
        line.append_text(plain(name, "italic"))
        line.append(" = ")
        line.append_text(plain(value))
        lines.append(line)
    return lines


def _lines(lines: list[Text]) -> Text:
    return Text("\n", end="").join(lines)


class SteadyStatic(Static):
    """A Static that lays the screen out again only when its height changes.

    Every saga change replaces the text of the panes below the table; a layout of the
    whole screen each time cost more than drawing them (issue 6). Text of as many lines
    as before (the usual case: the same fields, payloads of the same shape) is repainted
    where it is."""

    def update(self, content: VisualType = "", *, layout: bool = True) -> None:
        super().update(content, layout=False)
        if layout and self._height_changed():
            self.refresh(layout=True)

    def _size_updated(self, size: Size, virtual_size: Size, container_size: Size,
                      layout: bool = True) -> bool:
        # Given its new size by a layout, it needs no other: Textual's default asks for one
        # more (a layout reactive), and every saga whose text is taller or shorter than the
        # last cost a second full layout frame after the one that drew it.
        return super()._size_updated(size, virtual_size, container_size, layout=False)

    def _height_changed(self) -> bool:
        width, height = self.content_region.width, self.content_region.height
        if not width or not self.display or not self.styles.height or (
                not self.styles.height.is_auto):
            return True  # not laid out yet, or sized by its container: let Textual decide
        return self.visual.get_height(self.styles, width) != height


class _SteadyPayloadBlock(PayloadBlock, SteadyStatic):
    """A payload block of the panes below the table (see SteadyStatic). PayloadBlock
    first: Textual matches CSS types and queries along the first base only."""


class SagaPanel(Vertical):
    """The highlighted saga: id, name, state, times, failure reason, input JSON."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "screen.focus_table", "Back to sagas"),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = STATE_COMPONENTS | {"saga-panel--failure"}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._shown: tuple[Saga, datetime] | None = None

    def compose(self) -> ComposeResult:
        yield SteadyStatic(id="saga-summary", markup=False)
        # The summary stays in view; a long input scrolls in its own box.
        with VerticalScroll(id="saga-input-box", can_focus=False):
            yield _SteadyPayloadBlock("input", id="saga-input")

    def show_placeholder(self, message: str) -> None:
        self._shown = None
        self.query_one("#saga-summary", Static).update(Text(message, style="dim italic"))
        self.query_one(PayloadBlock).show_payload(None)

    def show_saga(self, saga: Saga, now: datetime, view: SagaView | None = None) -> None:
        """The saga as the table knows it at once; its input when its detail has loaded."""
        self._shown = (saga, now)
        self.query_one("#saga-summary", Static).update(self._summary(saga, now))
        block = self.query_one(PayloadBlock)
        block.show_payload(view.input if view is not None else None)

    def on_resize(self) -> None:
        if self._shown is not None:  # a long reason is cut to the new width
            self.query_one("#saga-summary", Static).update(self._summary(*self._shown))

    def _summary(self, saga: Saga, now: datetime) -> Text:
        title = Text(f"saga {saga.saga_id}  ", style="bold", end="")
        title.append_text(plain(saga.name, "bold"))
        title.append("  ")
        title.append_text(state_badge(self, saga.state))
        failure_style = self.get_component_rich_style("saga-panel--failure", partial=True)
        width = self.content_region.width
        lines = [
            *_capped(title, width, 2),
            _field("started", time_with_age(saga.started_at, now)),
            _field("ended", time_with_age(saga.ended_at, now)),
            _field("duration", f"{describe_duration(saga.duration)}   "
                               f"steps {saga.steps_done}/{saga.steps_total} done"),
            *_capped(_field("failure", plain(saga.failure_reason, failure_style)), width),
            *_extra_lines(saga.extra),
        ]
        return _lines(lines)


def in_flight_note(saga_state: str, writer: str = "launcher") -> str:
    """`writer`: who writes the log (the format's), the one that may have died."""
    if saga_state == SagaState.RUNNING:
        return f"in flight: the saga has not ended (still running, or its {writer} died)"
    return f"IN FLIGHT: {IN_FLIGHT_NOTE}"


def role_note(step: Step) -> str | None:
    """What a row that is not a plain forward step is, in words (None: a plain one)."""
    mark = undo_mark(step.role, step.undoes)
    of = f"step {step.undoes}" if step.undoes is not None else "a step"
    if step.role is StepRole.UNDO:
        told = "" if step.undoes is not None else " (which step it undoes cannot be told)"
        return f"{mark}: appended by compensation or recovery to undo {of}{told}"
    if step.role is StepRole.NO_UNDO:
        return f"{mark}: recovery found no way to undo {of}"
    if step.best_effort:
        return f"{BEST_EFFORT}: its failure does not fail the saga"
    return None


class StepDetail(VerticalScroll, can_focus=False):
    """The highlighted step: what it sent where, when, and what came back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "screen.focus_steps", "Back to steps"),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {"step-detail--in-flight", "step-detail--failure",
                                             "step-detail--undo"}

    def compose(self) -> ComposeResult:
        yield SteadyStatic(id="step-summary", markup=False)
        yield _SteadyPayloadBlock("cmd", id="step-cmd")
        yield _SteadyPayloadBlock("output", id="step-output")

    def show_placeholder(self, message: str) -> None:
        self._shown = None
        self.query_one("#step-summary", Static).update(Text(message, style="dim italic"))
        for block in self.query(PayloadBlock):
            block.show_payload(None)

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._shown: tuple[Step, str, datetime, LogFormat] | None = None

    def on_resize(self) -> None:
        if self._shown is not None:  # a long reason is cut to the new width
            self.query_one("#step-summary", Static).update(self._summary(*self._shown))

    def show_step(self, view: StepView, saga_state: str, now: datetime, *,
                  log_format: LogFormat = LAUNCHER) -> None:
        """`log_format`: the saga's (whether its steps have a target, who writes it)."""
        step = view.step
        self._shown = (step, saga_state, now, log_format)
        self.query_one("#step-summary", Static).update(
            self._summary(step, saga_state, now, log_format))
        self.query_one("#step-cmd", PayloadBlock).show_payload(view.cmd)
        never = "the step never reported back" if step.in_flight else "nothing stored"
        self.query_one("#step-output", PayloadBlock).show_payload(view.output, missing=never)

    def _summary(self, step: Step, saga_state: str, now: datetime,
                 log_format: LogFormat = LAUNCHER) -> Text:
        title = Text(f"step {step.step_index}  ", style="bold", end="")
        title.append_text(plain(step.name, "bold"))
        width = self.query_one("#step-summary").content_region.width
        lines = _capped(title, width, 2)
        if step.in_flight:
            style = self.get_component_rich_style("step-detail--in-flight", partial=True)
            lines.append(Text(f" {in_flight_note(saga_state, log_format.writer)} ", style=style,
                              end=""))
        role = role_note(step)
        if role is not None:
            style = self.get_component_rich_style("step-detail--undo", partial=True)
            lines += _capped(Text(role, style=style, end=""), width, 2)
        failure_style = self.get_component_rich_style("step-detail--failure", partial=True)
        state = plain(step.state)
        state.append(f"   duration {describe_duration(step.duration)}", style="")
        lines += [
            *(_capped(_field("target", plain(step.target)), width, 2)
              if log_format.has_step_target else []),
            _field("state", state),
            _field("started", time_with_age(step.started_at, now)),
            _field("ended", time_with_age(step.ended_at, now)),
            *_capped(_field("failure", plain(step.failure_reason, failure_style)), width),
            *_extra_lines(step.extra),
        ]
        return _lines(lines)
