"""A saga's steps on one time axis, laid out for a given width in terminal cells.

Pure (no toolkit): the store's models in, numbers and glyph cells out. No text from the file
reaches these cells or notes (steps are named by index), so nothing here needs sanitising.

A row the server appended to undo a step (compensation, recovery) is drawn in its own
kind (UNDO) and marked with the step it undoes (`↶ undo of #0`, `⊘ no undo possible`).

Offsets count from the saga's start. A step in flight has no end of its own: it is drawn
open-ended up to the saga's end, or up to `now` while the saga has not ended.

The axis, so that sagas of milliseconds and sagas recovered hours later both read well:
- a saga that ended well inside its timeout (under a quarter of it) is zoomed to its own
  length: its steps fill the width, and a note says how much of the timeout it used;
- up to twice its timeout, the axis runs from 0 to the later of the end and the timeout,
  with the timeout marked (┊) and the part of a bar past it drawn as late;
- beyond that (recovered sagas end hours later, a running saga left by a dead launcher
  grows without bound) the axis is broken (≈): linear up to a little past the timeout,
  where the action was under way, then the rest squeezed into a short tail (░) labelled
  with its real length. A linear axis would squash the seconds that matter into nothing,
  a logarithmic one is hard to read at a glance; the break keeps both facts in view.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from .report import ENDS_BEFORE_START, format_timeout, undo_mark
from .store.kinds import Cause, timeout_of
from .store.models import SagaDetail, Step
from .store.states import StepRole, StepState
from .store.timestamps import Timestamp

DurationText = Callable[[timedelta], str]
Segment = tuple[str, str]  # (text, kind)

# What each cell of a chart is, for a screen to colour.
EMPTY, DONE, OPEN, LATE, TAIL = "empty", "done", "open", "late", "tail"
BREAK, TIMEOUT, AXIS, LABEL, UNKNOWN = "break", "timeout", "axis", "label", "unknown"
UNDO = "undo"  # a finished undo row's bar (the server's compensation and recovery)

FULL = "█"
EIGHTHS = " ▏▎▍▌▋▊▉"  # a finished step's last cell, to an eighth of a cell
OPEN_GLYPH, LATE_OPEN_GLYPH, TAIL_GLYPH = "▒", "▓", "░"
BREAK_GLYPH, TIMEOUT_GLYPH, TIMEOUT_CROSSED = "≈", "┊", "┃"
AXIS_GLYPH, UNKNOWN_GLYPH = "─", "?"

MIN_WIDTH = 8
TIMEOUT_AXIS_FROM = 0.25  # the axis reaches the timeout once a saga used this share of it
BREAK_FROM = 2.0  # beyond this many timeouts the axis is broken
LINEAR_PAST_TIMEOUT = 1.2  # a broken axis is linear this far (in timeouts), then the break
MIN_TAIL = 4
_TINY = timedelta(microseconds=1)
BACKWARDS = "ends before it starts"  # a step's problem; ENDS_BEFORE_START says why


# -- the model -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StepSpan:
    """One step on the axis. Offsets are from the saga's start; None where unknown."""

    position: int  # in the saga's steps, in order
    step_index: int
    start: timedelta | None
    end: timedelta | None  # its own end, or the saga's end (or now) when open-ended
    open_ended: bool  # in flight: it never ended, the bar runs to the saga's end
    problem: str | None = None  # what keeps it from being drawn whole, in words
    # A forward step, or a row appended to undo one; `undoes`: the step_index it undoes.
    role: StepRole = StepRole.FORWARD
    undoes: int | None = None

    @property
    def mark(self) -> str:
        """What the row is, when it is not a forward step: `↶ undo of #1`, `↶ undo`,
        `⊘ no undo possible` (the step list says the same)."""
        return undo_mark(self.role, self.undoes)

    @property
    def duration(self) -> timedelta | None:
        if self.start is None or self.end is None or self.end < self.start:
            return None
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class Timeline:
    spans: tuple[StepSpan, ...]
    end: timedelta | None  # the saga's end, or now while it runs; None when unknown
    until_now: bool  # the saga has not ended: `end` is now
    timeout: timedelta | None  # None for a kind this tool does not know
    problems: tuple[str, ...] = ()  # saga-level unknowns, in words
    known_kind: bool = True
    # Its end is when a later start of its writer closed it (recovery), not when it stopped.
    closed_at_restart: bool = False
    writer: str = "launcher"  # who wrote the log (and restarted): "launcher" / "server"

    @property
    def extent(self) -> timedelta | None:
        """The latest instant the axis has to show (None: nothing can be placed)."""
        known = [self.end] + [t for s in self.spans for t in (s.start, s.end)]
        offsets = [t for t in known if t is not None]
        return max(offsets) if offsets else None

    @property
    def past_timeout(self) -> timedelta | None:
        """How long the saga went on past its timeout (None: not past it, or not known)."""
        if self.timeout is None or self.end is None or self.end <= self.timeout:
            return None
        return self.end - self.timeout

    @property
    def slowest(self) -> StepSpan | None:
        """The step that took longest, counting an in-flight one up to the saga's end; None
        unless at least two steps have a duration to compare."""
        timed = [span for span in self.spans if span.duration is not None]
        if len(timed) < 2:
            return None
        return max(timed, key=lambda span: span.duration or timedelta(0))


def _offset(stamp: Timestamp | None, origin: datetime | None) -> timedelta | None:
    if stamp is None or stamp.value is None or origin is None:
        return None
    return stamp.value - origin


def _unreadable(what: str, stamp: Timestamp | None) -> str:
    return f"{what} time {'missing' if stamp is None else 'not readable'}"


def _origin(detail: SagaDetail, problems: list[str]) -> datetime | None:
    saga = detail.saga
    if saga.started_at is not None and saga.started_at.value is not None:
        return saga.started_at.value
    starts = [s.started_at.value for s in detail.steps
              if s.started_at is not None and s.started_at.value is not None]
    origin = min(starts, default=None)
    measured = "; measured from its first step" if origin is not None else ""
    problems.append(f"saga {_unreadable('start', saga.started_at)}{measured}")
    return origin


def _saga_end(detail: SagaDetail, origin: datetime | None, now: datetime | None,
              problems: list[str]) -> tuple[timedelta | None, bool]:
    ended = detail.saga.ended_at
    if ended is not None:
        if ended.value is None:
            problems.append("saga end time not readable")
        return _offset(ended, origin), False
    if now is None or origin is None:
        return None, True
    if now < origin:
        problems.append("the clock reads earlier than the saga's start")
        return timedelta(0), True
    return now - origin, True


def _span(position: int, step: Step, origin: datetime | None,
          saga_end: timedelta | None) -> StepSpan:
    start = _offset(step.started_at, origin)
    open_ended = step.ended_at is None and (step.in_flight or step.state == StepState.PENDING)
    end = saga_end if open_ended else _offset(step.ended_at, origin)
    problem = None
    if start is None:
        problem = _unreadable("start", step.started_at)
    elif open_ended and end is None:
        problem = "in flight; the saga's end is not known"
    elif open_ended and end is not None and end < start:
        end = start  # the saga ended (or the clock reads) before this step began
    elif end is None:
        problem = "no end time" if step.ended_at is None else _unreadable("end", step.ended_at)
    elif end < start:
        problem = BACKWARDS  # the notes say it whole (chart_notes)
    return StepSpan(position, step.step_index, start, end, open_ended, problem, step.role,
                    step.undoes)


def build_timeline(detail: SagaDetail, now: datetime | None = None) -> Timeline:
    """The saga's steps on one axis. `now` ends the in-flight step of a saga that has not
    ended (without it, such a step has no drawn end)."""
    problems: list[str] = []
    origin = _origin(detail, problems)
    end, until_now = _saga_end(detail, origin, now, problems)
    spans = tuple(_span(n, step, origin, end) for n, step in enumerate(detail.steps))
    log_format = detail.saga.log_format
    timeout = timeout_of(log_format.kind(detail.saga.name))
    return Timeline(spans, end, until_now, timeout, tuple(problems), timeout is not None,
                    _closed_at_restart(detail), log_format.writer)


def _closed_at_restart(detail: SagaDetail) -> bool:
    reason = detail.saga.failure_reason
    if reason is None:
        return False
    split = detail.saga.log_format.split_reason(reason)
    return split.recovery is not None or split.cause is Cause.LAUNCHER_RESTART


# -- the scale -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scale:
    """Maps offsets to cells: linear up to `linear_end` over `linear_cells`; when broken,
    the cell `break_cell` stands for the time cut out, and the cells after it for the tail
    from `linear_end` to `end`."""

    width: int
    end: timedelta
    linear_end: timedelta
    linear_cells: int
    timeout_cell: int | None = None
    timeout_x: float | None = None
    break_cell: int | None = None

    @property
    def broken(self) -> bool:
        return self.break_cell is not None

    def x(self, offset: timedelta) -> float:
        """Where an offset falls, in cells from the left edge (0 to width)."""
        offset = max(offset, timedelta(0))
        if self.break_cell is None or offset <= self.linear_end:
            return min(offset / self.linear_end, 1.0) * self.linear_cells
        tail_cells = self.width - self.break_cell - 1
        share = (offset - self.linear_end) / (self.end - self.linear_end)
        return self.break_cell + 1 + min(share, 1.0) * tail_cells

    def cell(self, offset: timedelta) -> int:
        return min(int(self.x(offset)), self.width - 1)


def scale_for(timeline: Timeline, width: int) -> Scale | None:
    """The axis for `width` cells; None when nothing can be placed or it is too narrow."""
    extent = timeline.extent
    if extent is None or width < MIN_WIDTH:
        return None
    extent = max(extent, _TINY)
    timeout = timeline.timeout
    if timeout is None or extent < timeout * TIMEOUT_AXIS_FROM:
        return Scale(width, extent, extent, width)
    if extent <= timeout * BREAK_FROM:
        end = max(extent, timeout)
        unbroken = Scale(width, end, end, width)
        return Scale(width, end, end, width, unbroken.cell(timeout), unbroken.x(timeout))
    tail = max(MIN_TAIL, width // 5)
    linear = Scale(width, extent, timeout * LINEAR_PAST_TIMEOUT, width - tail - 1,
                   break_cell=width - tail - 1)
    return Scale(width, extent, linear.linear_end, linear.linear_cells, linear.cell(timeout),
                 linear.x(timeout), linear.break_cell)


# -- drawing ---------------------------------------------------------------------------------


def _guides(scale: Scale) -> list[Segment]:
    """An empty row: blank, with the timeout and the break marked down the chart."""
    cells = [(" ", EMPTY)] * scale.width
    if scale.timeout_cell is not None:
        cells[scale.timeout_cell] = (TIMEOUT_GLYPH, TIMEOUT)
    if scale.break_cell is not None:
        cells[scale.break_cell] = (BREAK_GLYPH, BREAK)
    return cells


def _bar_cell(span: StepSpan, scale: Scale, cell: int, x0: float, x1: float,
              last: int) -> Segment:
    if scale.break_cell is not None and cell >= scale.break_cell:
        return (BREAK_GLYPH if cell == scale.break_cell else TAIL_GLYPH), TAIL
    timeout_x = scale.timeout_x
    if cell == scale.timeout_cell and timeout_x is not None and x1 > timeout_x:
        return TIMEOUT_CROSSED, LATE
    late = scale.timeout_cell is not None and cell > scale.timeout_cell
    if span.open_ended:
        return (LATE_OPEN_GLYPH, LATE) if late else (OPEN_GLYPH, OPEN)
    kind = LATE if late else UNDO if span.role is not StepRole.FORWARD else DONE
    if cell < last:
        return FULL, kind
    eighths = round((x1 - max(x0, cell)) * 8)
    return (FULL if eighths >= 8 else EIGHTHS[max(eighths, 1)]), kind


def bar_span(span: StepSpan, scale: Scale) -> tuple[int, int] | None:
    """The cells a step's bar covers, first and last (inclusive); None when it has none."""
    if span.start is None or span.end is None or span.end < span.start:
        return None
    x0, x1 = scale.x(span.start), scale.x(span.end)
    first = min(int(x0), scale.width - 1)
    last = min(max(first, math.ceil(x1) - 1), scale.width - 1)
    return first, last


def bar_cells(span: StepSpan, scale: Scale) -> list[Segment]:
    """One step's row, exactly `scale.width` cells: its bar over the guides. A step whose
    end is unknown shows `?` where it started; one whose start is unknown, no bar."""
    cells = _guides(scale)
    covered = bar_span(span, scale)
    if covered is None:
        if span.start is not None:
            cells[scale.cell(span.start)] = (UNKNOWN_GLYPH, UNKNOWN)
        return cells
    assert span.start is not None and span.end is not None
    x0, x1 = scale.x(span.start), scale.x(span.end)
    first, last = covered
    for cell in range(first, last + 1):
        cells[cell] = _bar_cell(span, scale, cell, x0, x1, last)
    return cells


def _place(cells: list[Segment], text: str, start: int) -> bool:
    """Write a label over the axis where it covers nothing but rule and keeps a cell away
    from other labels (it may touch a mark); False when it does not fit there."""
    end = start + len(text)
    if start < 0 or end > len(cells):
        return False
    if any(cells[i][1] != AXIS for i in range(start, end)):
        return False
    if any(cells[i][1] == LABEL for i in (start - 1, end) if 0 <= i < len(cells)):
        return False
    for offset, char in enumerate(text):
        cells[start + offset] = (char, LABEL)
    return True


def axis_cells(timeline: Timeline, scale: Scale, fmt: DurationText) -> list[Segment]:
    """The axis under the bars: a rule with the timeout and the break marked, labelled with
    the timeout, the end and 0 (in that order of importance, each where it fits)."""
    cells = [(AXIS_GLYPH, AXIS)] * scale.width
    if scale.timeout_cell is not None:
        cells[scale.timeout_cell] = (TIMEOUT_GLYPH, TIMEOUT)
    if scale.break_cell is not None:
        cells[scale.break_cell] = (BREAK_GLYPH, BREAK)
    if scale.timeout_cell is not None and timeline.timeout is not None:
        label = f"timeout {format_timeout(timeline.timeout)}"
        _ = (_place(cells, label, scale.timeout_cell - len(label))
             or _place(cells, label, scale.timeout_cell + 1))
    # The end where it falls: the right edge, or short of it when the axis runs on to the
    # timeout (a saga that stopped, or runs, inside it).
    extent = timeline.extent
    end_at = math.ceil(scale.x(extent)) if extent is not None else scale.width
    ends = [f"{fmt(extent)} now", "now"] if timeline.until_now and extent is not None else \
        [fmt(extent or scale.end)]
    if extent is not None and extent < timedelta(0):  # everything before the start: no length
        ends = ["now"] if timeline.until_now else []
    for end in ends:
        if _place(cells, end, end_at - len(end)) or _place(cells, end, end_at):
            break
    _place(cells, "0", 0)
    return cells


def merge(cells: Sequence[Segment]) -> tuple[Segment, ...]:
    """Neighbouring cells of one kind as one segment."""
    merged: list[Segment] = []
    for text, kind in cells:
        if merged and merged[-1][1] == kind:
            merged[-1] = (merged[-1][0] + text, kind)
        else:
            merged.append((text, kind))
    return tuple(merged)


# -- a whole chart ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ChartRow:
    span: StepSpan
    bar: tuple[Segment, ...]  # exactly the chart's width in cells
    duration: str  # the drawn duration, formatted; "" when unknown
    slowest: bool


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    scale: Scale | None  # None: nothing could be placed (the notes say why)
    rows: tuple[ChartRow, ...]
    axis: tuple[Segment, ...]
    notes: tuple[str, ...]


def _lasted(timeline: Timeline, end: timedelta, fmt: DurationText) -> str:
    return f"not ended after {fmt(end)}" if timeline.until_now else f"ended {fmt(end)} after start"


def timeout_note(timeline: Timeline, scale: Scale | None, fmt: DurationText) -> str | None:
    """How the saga's length compares with its timeout, in words."""
    end, timeout = timeline.end, timeline.timeout
    if end is None:
        return None
    if end < timedelta(0):  # never a negative length measured against the timeout
        return f"the saga {ENDS_BEFORE_START}"
    if timeout is None:
        kind = "" if timeline.known_kind else "; no timeout known for this saga kind"
        return f"{_lasted(timeline, end, fmt)}{kind}"
    limit = format_timeout(timeout)
    lead = _lasted(timeline, end, fmt)
    if end > timeout:
        return f"{lead}, {fmt(end - timeout)} past its {limit} timeout"
    share = end / timeout * 100
    used = f"{share:.0f}%" if share >= 1 else "under 1%"
    off = " (off the axis)" if scale is not None and scale.timeout_cell is None else ""
    return f"{lead}, {used} of its {limit} timeout{off}"


def chart_notes(timeline: Timeline, scale: Scale | None, fmt: DurationText) -> tuple[str, ...]:
    """What the bars do not say: unknowns first, then timeout, slowest step, the break."""
    notes = list(timeline.problems)
    if scale is None and not timeline.problems:
        notes.append("no step time can be placed on an axis")
    backwards = [span.step_index for span in timeline.spans if span.problem == BACKWARDS]
    if backwards:
        shown = ", ".join(index_label(index) for index in backwards[:3])
        more = f" and {len(backwards) - 3} more" if len(backwards) > 3 else ""
        notes.append(f"step {shown}{more} {ENDS_BEFORE_START}" if len(backwards) == 1 else
                     f"steps {shown}{more} end before they start (clock skew or damage)")
    said = timeout_note(timeline, scale, fmt)
    if said is not None:
        notes.append(said)
    slowest = timeline.slowest
    if slowest is not None and slowest.duration is not None:
        waiting = ", in flight: no reply" if slowest.open_ended else ""
        notes.append(f"slowest: step {slowest.step_index}, {fmt(slowest.duration)}{waiting}")
    if scale is not None and scale.broken:
        squeezed = fmt(scale.end - scale.linear_end)
        until = f" until a {timeline.writer} restart closed it" if timeline.closed_at_restart \
            else " after it"
        notes.append(f"≈ cut at {fmt(scale.linear_end)}: ░ squeezes the {squeezed}{until}")
    return tuple(notes)


def chart(timeline: Timeline, width: int, fmt: DurationText,
          positions: Iterable[int] | None = None) -> Chart:
    """The steps' rows (all, or those at `positions`: a saga of thousands of steps draws
    only what is shown), the axis and the notes, for bars `width` cells wide. The scale
    and the notes always count every step."""
    scale = scale_for(timeline, width)
    slowest = timeline.slowest
    spans = timeline.spans if positions is None else [timeline.spans[n] for n in positions]
    rows = []
    for span in spans:
        bar = merge(bar_cells(span, scale)) if scale is not None else ()
        duration = fmt(span.duration) if span.duration is not None else ""
        rows.append(ChartRow(span, bar, duration, slowest is span))
    axis = merge(axis_cells(timeline, scale, fmt)) if scale is not None else ()
    return Chart(width, scale, tuple(rows), axis, chart_notes(timeline, scale, fmt))


def plain_lines(drawn: Chart, *, indent: str = "") -> list[str]:
    """The chart as plain text lines (for the CLI): `index bar duration`, axis, notes."""
    index_width = max([len(index_label(row.span.step_index)) for row in drawn.rows] or [1])
    pad = " " * (index_width + 1)
    lines = []
    for row in drawn.rows:
        bar = "".join(text for text, _kind in row.bar) if row.bar else ""
        if row.span.problem is not None and row.span.start is None:
            bar = row.span.problem.ljust(drawn.width)
        flag = " <- in flight" if row.span.open_ended else ""
        flag += f" {row.span.mark}" if row.span.mark else ""
        flag += " (slowest)" if row.slowest else ""
        if row.span.problem is not None and row.span.start is not None:
            flag += f" ({row.span.problem})"
        lines.append(f"{indent}{index_label(row.span.step_index):>{index_width}} {bar} "
                     f"{row.duration:>8}{flag}".rstrip())
    if drawn.axis:
        lines.append(f"{indent}{pad}{''.join(text for text, _kind in drawn.axis)}")
    lines += [f"{indent}{note}" for note in drawn.notes]
    return lines


def index_label(step_index: int) -> str:
    """A step's index for a row label: very long ones (no launcher writes them) cut."""
    text = str(step_index)
    return text if len(text) <= 6 else "…" + text[-5:]
