"""The dashboard fits the terminal it is given, from 80x24 to 200x60 (issue 12).

At every size, `5` `enter` must show the in-flight step of the newest recovered saga and
the step detail with its target, command JSON and failure field, in panes no narrower than
40 cells; the header keeps the file's name, every filter chip is in view, and the key bar
keeps `?` and `q`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widget import Widget

from saga_inspector.demo import write_demo
from saga_inspector.tui.screens.payload import PayloadScreen
from saga_inspector.tui.text import plain
from saga_inspector.tui.widgets.detail_pane import (
    MORE,
    REASON_LINES,
    SagaPanel,
    StepDetail,
    _capped,
)
from saga_inspector.tui.widgets.key_bar import KeyBar
from saga_inspector.tui.widgets.saga_table import SagaTable
from saga_inspector.tui.widgets.state_filter import FilterChip, StateFilterBar
from saga_inspector.tui.widgets.step_list import StepList
from saga_inspector.tui.widgets.timeline import StepTimeline

from .factory import LOOSE_DDL, SagaLogFactory, cleanup_saga
from .helpers import dashboard, idle, make_app, pilot_test, press, screen_text, wait_for

SIZES = [(80, 24), (100, 30), (120, 40), (160, 48), (200, 60)]
PANES = ("#sagas", "#saga", "#steps", "#detail", "#timeline")


@pytest.fixture
def demo_log(tmp_path: Path) -> Path:
    folder = tmp_path / "versions" / "0.41.2" / "data" / "db"
    folder.mkdir(parents=True)
    return write_demo(folder / "launcher-sagas.db")


def shown(widget: Widget) -> bool:
    """Drawn on the screen now: displayed, with its ancestors, given some area, all of it
    inside the terminal."""
    return (widget.display and all(node.display for node in widget.ancestors
                                   if isinstance(node, Widget)) and widget.region.area > 0
            and widget.screen.region.contains_region(widget.region))


@pytest.mark.parametrize(("width", "height"), SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pilot_test
async def test_the_in_flight_step_and_its_command_are_shown_at_every_size(
    demo_log: Path, width: int, height: int
) -> None:
    app = make_app(demo_log)
    async with app.run_test(size=(width, height)) as pilot:
        await idle(pilot)
        await press(pilot, "5", "enter")
        screen = dashboard(app)
        steps, detail = screen.query_one(StepList), screen.query_one(StepDetail)
        assert screen.focused is steps
        view = screen.view
        assert view is not None and view.in_flight_index() is not None
        assert steps.cursor_row == view.in_flight_index()
        assert shown(steps) and shown(detail)
        # The in-flight row is inside the list's visible rows (not scrolled away).
        assert steps.cursor_row < steps.scrollable_content_region.height - 1
        text = screen_text(app)
        for words in ("IN FLIGHT", "target   host", "failure", '"cmd": "drain_pool_if_last"',
                      "issue_cmd_host_drain_pool_if_last"):
            assert words in text, (words, width, height)
        for selector in PANES:
            pane = screen.query_one(selector)
            if shown(pane):
                assert pane.region.width >= min(40, width), (selector, pane.region)
                assert pane.region.right <= width and pane.region.bottom <= height


@pytest.mark.parametrize(("width", "height"), SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pilot_test
async def test_the_header_filters_and_keys_fit_every_width(
    demo_log: Path, width: int, height: int
) -> None:
    app = make_app(demo_log)
    async with app.run_test(size=(width, height)) as pilot:
        await idle(pilot)
        await press(pilot, "5")
        screen = dashboard(app)
        text = screen_text(app).split("\n")
        assert "launcher-sagas.db" in text[0]
        assert "320 sagas" in text[0] or "320 ·" in text[0]
        bar = screen.query_one(StateFilterBar)
        for chip in bar.query(FilterChip):
            # Every chip within the bar as drawn: none cut off at the right.
            assert chip.region.right <= bar.region.right, chip.state_filter.name
        assert bar.query_one(".-active", FilterChip).state_filter.name == "failed_compensation"
        keys_line = text[height - 1]
        assert keys_line.rstrip().endswith(("^p", "palette"))
        assert "? Help" in keys_line and "q Quit" in keys_line
        assert screen.query_one(KeyBar).region.bottom == height


@pilot_test
async def test_resizing_lays_the_screen_out_again(demo_log: Path) -> None:
    app = make_app(demo_log)
    async with app.run_test(size=(160, 48)) as pilot:
        await idle(pilot)
        await press(pilot, "5", "enter")
        screen = dashboard(app)
        assert screen.has_class("-wide", "-tall", "-pane-steps")
        side, detail = screen.query_one("#saga-side"), screen.query_one(StepDetail)
        assert side.region.y == detail.region.y  # side by side
        await pilot.resize_terminal(80, 24)
        await wait_for(pilot, lambda: screen.has_class("-narrow", "-short"), "new classes")
        await idle(pilot)
        assert not shown(screen.query_one(SagaTable))  # the steps and detail take it all
        assert shown(screen.query_one(StepList)) and shown(detail)
        assert screen.query_one(StepList).region.bottom <= detail.region.y  # stacked
        await press(pilot, "escape")
        assert shown(screen.query_one(SagaTable)) and shown(screen.query_one(SagaPanel))
        assert not shown(detail)


@pilot_test
async def test_h_and_l_move_between_the_panes(demo_log: Path) -> None:
    app = make_app(demo_log)
    async with app.run_test(size=(160, 48)) as pilot:
        await idle(pilot)
        await press(pilot, "5")
        screen = dashboard(app)
        visited = []
        for key in ("l", "l", "l", "l"):
            await press(pilot, key)
            visited.append(screen.focused.id if screen.focused else None)
        assert visited == ["saga-input", "steps", "step-cmd", "step-cmd"]
        await press(pilot, "h")
        assert screen.focused is screen.query_one(StepList)
        await press(pilot, "h", "h", "h")
        assert screen.focused is screen.query_one(SagaTable)


@pilot_test
async def test_t_shows_the_timeline_on_a_short_terminal_and_hides_it_on_a_tall_one(
    demo_log: Path,
) -> None:
    app = make_app(demo_log)
    async with app.run_test(size=(100, 30)) as pilot:
        await idle(pilot)
        timeline = dashboard(app).query_one(StepTimeline)
        assert not shown(timeline)
        await press(pilot, "t")
        assert shown(timeline)
        await pilot.resize_terminal(160, 48)
        await wait_for(pilot, lambda: dashboard(app).has_class("-tall"), "tall")
        await idle(pilot)
        assert not shown(timeline)  # toggled: the other way from the size's default
        await press(pilot, "t")
        assert shown(timeline)


LONG_REASON = "host pipe send failed: " + "write to host pipe failed: Broken pipe; " * 23


@pilot_test
async def test_a_long_failure_reason_is_capped_and_o_shows_it_all(
    make_log: SagaLogFactory,
) -> None:
    saga = cleanup_saga(1, "failed", reason=LONG_REASON)
    saga.steps[0].state, saga.steps[0].failure_reason = "failed", LONG_REASON
    assert len(LONG_REASON) > 900
    path = make_log([saga])
    app = make_app(path)
    async with app.run_test(size=(100, 30)) as pilot:
        await idle(pilot)
        screen = dashboard(app)
        panel = screen.query_one(SagaPanel)
        summary = str(panel.query_one("#saga-summary").render())
        assert MORE in summary
        assert panel.region.height <= 4 + 3 + 2 + 4  # fields, 3 lines of reason, border, input
        assert shown(screen.query_one(StepList))
        await press(pilot, "o")
        assert isinstance(app.screen, PayloadScreen)
        assert app.screen.payload.full is not None
        assert "Broken pipe" in app.screen.payload.full
        assert app.screen.payload.full.count("Broken pipe") == 23
        await press(pilot, "escape", "enter")
        assert screen.focused is screen.query_one(StepList)
        assert MORE in str(screen.query_one(StepDetail).query_one("#step-summary").render())


@pilot_test
async def test_h_from_the_steps_to_the_saga_shows_it_with_the_timeline_asked_for(
    demo_log: Path,
) -> None:
    app = make_app(demo_log)
    async with app.run_test(size=(100, 30)) as pilot:
        await idle(pilot)
        await press(pilot, "5", "enter", "t")
        screen = dashboard(app)
        assert shown(screen.query_one(StepTimeline))
        await press(pilot, "h")
        assert screen.focused is not None and screen.focused.id == "saga-input"
        assert shown(screen.focused)  # never the focus on a pane that is not drawn


def test_a_reason_of_megabytes_is_cut_from_its_head_even_before_a_width() -> None:
    reason = plain("write to host pipe failed: Broken pipe; " * 50_000)  # 2 MB
    for width in (0, 60):
        lines = _capped(reason, width)
        assert len(lines) == REASON_LINES
        assert lines[-1].plain.endswith(MORE)
        assert all(line.cell_len <= max(width, 40) for line in lines)
    short = plain("saga timeout")
    assert _capped(short, 60) == [short]


@pilot_test
async def test_a_long_step_target_and_name_take_two_lines_at_most(
    make_log: SagaLogFactory,
) -> None:
    saga = cleanup_saga(1, "failed", reason="x")
    saga.steps[0].target = "host-" + "t" * 200
    saga.steps[0].name = "issue_cmd_" + "n" * 150
    app = make_app(make_log([saga]))
    async with app.run_test(size=(80, 24)) as pilot:
        await idle(pilot)
        await press(pilot, "enter", "k")
        summary = str(dashboard(app).query_one(StepDetail).query_one("#step-summary").render())
        name_lines = [line for line in summary.split("\n") if "n" * 30 in line]
        target_lines = [line for line in summary.split("\n") if "t" * 30 in line]
        assert 1 <= len(name_lines) <= 2 and 1 <= len(target_lines) <= 2
        assert summary.count(MORE) == 2
        assert "state" in summary and "failure" in summary


@pilot_test
async def test_unknown_states_keep_telling_apart_on_a_narrow_terminal(
    make_log: SagaLogFactory,
) -> None:
    sagas = [cleanup_saga(n, state) for n, state in enumerate(
        ("cancelled", "cancelling", "completed", "failed"), start=1)]
    app = make_app(make_log(sagas, ddl=LOOSE_DDL))
    async with app.run_test(size=(80, 24)) as pilot:
        await idle(pilot)
        bar = dashboard(app).query_one(StateFilterBar)
        labels = [str(chip.render()) for chip in bar.query(FilterChip)]
        assert "attn" in " ".join(labels)  # narrow: the short labels are used
        unknown = [label for label in labels if label[:1] in "6789"]
        assert len(unknown) == 2 and len(set(unknown)) == 2, unknown
