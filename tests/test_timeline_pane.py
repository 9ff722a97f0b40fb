"""Pilot tests of the timeline pane under the steps: it follows the highlighted saga and
step, draws long waits broken and running sagas up to now, and never re-lays-out the screen."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from saga_inspector.report import format_duration
from saga_inspector.timeline import (
    BREAK,
    EIGHTHS,
    LATE,
    TIMEOUT,
    ChartRow,
    build_timeline,
    chart,
)
from saga_inspector.tui.screens.help import help_markdown
from saga_inspector.tui.widgets import timeline as timeline_widget
from saga_inspector.tui.widgets.step_list import StepList
from saga_inspector.tui.widgets.timeline import StepTimeline

from .factory import T0, SagaLogFactory, cleanup_saga, ts
from .helpers import (
    NOW,
    SIZE,
    completed_cleanup,
    idle,
    make_app,
    mixed_log,
    pilot_test,
    press,
    saga_detail,
    screen_text,
    step,
    timed_out,
)


def test_the_help_says_what_every_glyph_of_a_bar_means() -> None:
    """Past the timeout a finished step's bar stays █ (in the late colour) and only the
    in-flight one turns ▓; the help says so, and names every glyph a chart can draw."""
    late = saga_detail(ts(0), ts(40), step(0, ts(0), ts(35)),
                       step(1, ts(35), state="pending", in_flight=True), state="failed")
    glyphs: set[str] = set()
    for detail in (late, timed_out(4 * 3600), completed_cleanup()):
        laid_out = chart(build_timeline(detail), 60, format_duration)
        glyphs |= {char for row in laid_out.rows for text, _kind in row.bar for char in text}
        glyphs |= {char for text, kind in laid_out.axis if kind in (TIMEOUT, BREAK)
                   for char in text}
    finished, in_flight = chart(build_timeline(late), 60, format_duration).rows
    def late_glyphs(row: ChartRow) -> set[str]:
        return {char for text, kind in row.bar if kind == LATE for char in text}

    assert late_glyphs(finished) - set(EIGHTHS) == {"┃", "█"}
    assert late_glyphs(in_flight) == {"▓"}
    section = help_markdown().split("## Timeline")[1].split("\n## ")[0]
    for glyph in glyphs - set(EIGHTHS):  # (a bar's last cell, to an eighth: part of the bar)
        assert f"`{glyph}`" in section, glyph
    assert "finished step's stays `█`" in section and "in-flight step's becomes `▓`" in section


def drawn(timeline: StepTimeline) -> list[str]:
    return str(timeline.render()).split("\n")


@pilot_test
async def test_the_timeline_shows_the_highlighted_sagas_steps(make_log: SagaLogFactory) -> None:
    app = make_app(mixed_log(make_log))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        timeline = app.dashboard.query_one(StepTimeline)
        assert timeline.view is not None and timeline.view.saga_id == 6  # completed cleanup
        lines = drawn(timeline)
        assert lines[0].startswith("▸0 █") and lines[0].endswith("30 ms")
        assert lines[1].startswith(" 1 ") and "█" in lines[1] and lines[1].endswith("5.0 ms")
        assert lines[2].strip().startswith("0─") and lines[2].strip().endswith("37 ms")
        assert lines[3] == "ended 37 ms after start, under 1% of its 30 s timeout (off the axis)"
        assert lines[4] == "slowest: step 0, 30 ms"
        assert all(len(line) <= timeline.size.width for line in lines)
        assert "timeline" in screen_text(app)


@pilot_test
async def test_a_recovered_saga_is_drawn_with_a_broken_axis(make_log: SagaLogFactory) -> None:
    app = make_app(mixed_log(make_log))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await press(pilot, "5")  # saga 4: left running, closed four hours later
        timeline = app.dashboard.query_one(StepTimeline)
        assert timeline.view is not None and timeline.view.saga_id == 4
        lines = drawn(timeline)
        assert lines[1].startswith("▸1 ▒")  # the in-flight step, highlighted (the cursor's)
        assert "┃▓" in lines[1] and "≈░" in lines[1] and lines[1].endswith("4h 00m ◀")
        assert "timeout 30 s┊" in lines[2] and lines[2].rstrip().endswith("4h 00m")
        assert "until a launcher restart closed it" in "\n".join(lines)


@pilot_test
async def test_the_highlighted_step_is_marked_and_follows_the_cursor(
    make_log: SagaLogFactory,
) -> None:
    app = make_app(mixed_log(make_log))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await press(pilot, "5", "enter")  # into saga 4's steps, on its in-flight step 1
        timeline = app.dashboard.query_one(StepTimeline)
        steps = app.dashboard.query_one(StepList)
        assert app.focused is steps and steps.cursor_row == 1 and timeline.cursor == 1
        await press(pilot, "k")
        assert timeline.cursor == 0
        lines = drawn(timeline)
        assert lines[0].startswith("▸0") and lines[1].startswith(" 1")


@pilot_test
async def test_moving_to_the_next_saga_redraws_without_a_layout(
    make_log: SagaLogFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(mixed_log(make_log))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        timeline = app.dashboard.query_one(StepTimeline)
        asked: list[bool] = []
        original = StepTimeline.refresh

        def refresh(self: StepTimeline, *args: object, layout: bool = False,
                    **kwargs: object) -> StepTimeline:
            asked.append(layout)
            return original(self, *args, layout=layout, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(StepTimeline, "refresh", refresh)
        region = timeline.region
        for expected in (5, 4, 3):
            await press(pilot, "j")
            assert timeline.view is not None and timeline.view.saga_id == expected
        assert asked and not any(asked)  # redrawn each time, never a layout
        assert timeline.region == region  # the pane did not move or change size


@pilot_test
async def test_a_running_saga_runs_to_now(make_log: SagaLogFactory) -> None:
    path = make_log([cleanup_saga(1, "running", drained=None)])
    app = make_app(path)  # the clock is pinned to NOW
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        timeline = app.dashboard.query_one(StepTimeline).timeline()
        assert timeline is not None and timeline.until_now
        assert timeline.end == NOW - T0
        assert timeline.spans[1].open_ended and timeline.spans[1].end == NOW - T0
        lines = drawn(app.dashboard.query_one(StepTimeline))
        assert lines[1].endswith("6d 21h ◀") and lines[2].rstrip().endswith("now")


@pilot_test
async def test_many_steps_show_a_window_around_the_cursor(make_log: SagaLogFactory) -> None:
    saga = cleanup_saga(1, "failed", drained=None, reason="odd")
    for n in range(2, 12):  # more steps than the pane has lines
        step = cleanup_saga(1).steps[0]
        step.step_index = n
        saga.steps.append(step)
    app = make_app(make_log([saga]))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        timeline = app.dashboard.query_one(StepTimeline)
        lines = drawn(timeline)
        assert len(lines) == timeline.size.height
        assert any("more steps: the step list has them all" in line for line in lines)
        await press(pilot, "enter", "G")
        assert timeline.cursor == 11
        assert any(line.startswith("▸11") for line in drawn(timeline))


@pilot_test
async def test_a_cursor_move_lays_out_no_step_again(
    make_log: SagaLogFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    saga = cleanup_saga(1, "failed", drained=None, reason="odd")
    for n in range(2, 300):
        step = cleanup_saga(1).steps[0]
        step.step_index = n
        saga.steps.append(step)
    app = make_app(make_log([saga]))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        await press(pilot, "enter")
        timeline = app.dashboard.query_one(StepTimeline)
        drawn(timeline)
        formatted: list[object] = []
        laid_out: list[object] = []

        def count(calls: list[object], original: Callable[..., Any]) -> Callable[..., Any]:
            def counted(*args: Any, **kwargs: Any) -> Any:
                calls.append(args)
                return original(*args, **kwargs)
            return counted

        monkeypatch.setattr(timeline_widget, "format_duration",
                            count(formatted, timeline_widget.format_duration))
        monkeypatch.setattr(timeline_widget, "chart", count(laid_out, timeline_widget.chart))
        assert timeline.cursor == 1  # the step in flight
        for key, row in (("k", 0), ("j", 1), ("j", 2), ("k", 1)):  # within the first rows
            await press(pilot, key)
            lines = drawn(timeline)
            assert timeline.cursor == row and lines[row][1:].split()[0] == str(row)
            assert lines[row][0] == "▸" and "▸" not in "".join(lines[:row] + lines[row + 1:])
        assert (formatted, laid_out) == ([], [])  # the rows and widths were kept
        await press(pilot, "G")  # another window of steps: laid out again, once per repaint
        assert any(line.startswith("▸299") for line in drawn(timeline))
        assert laid_out and len(formatted) < 100


@pilot_test
async def test_odd_times_are_said_in_the_row_and_every_line_fits(
    make_log: SagaLogFactory,
) -> None:
    saga = cleanup_saga(1, "failed", drained=None, reason="odd")
    saga.steps[0].started_at = "\x1b[2Jnot a time"
    saga.steps[1].ended_at = saga.steps[1].started_at  # took no time at all
    saga.steps[1].state = "succeeded"
    app = make_app(make_log([saga]))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        timeline = app.dashboard.query_one(StepTimeline)
        lines = drawn(timeline)
        assert lines[0].startswith("▸0 start time not readable") and lines[0].endswith("?")
        assert lines[1].endswith("0.0 ms")
        assert all(len(line) <= timeline.size.width for line in lines)
        assert "\x1b" not in "".join(lines)


@pilot_test
async def test_the_bars_take_the_themes_colours(make_log: SagaLogFactory) -> None:
    app = make_app(mixed_log(make_log))
    async with app.run_test(size=SIZE) as pilot:
        await idle(pilot)
        timeline = app.dashboard.query_one(StepTimeline)
        timeline.render()
        dark = timeline._style("axis").color
        app.theme = "textual-light"
        await pilot.pause()
        timeline.render()
        light = timeline._style("axis").color
        assert dark is not None and light is not None and dark != light
